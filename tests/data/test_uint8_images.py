"""uint8 batches (g2da_plugin/data/uint8_images.py): FastReID's float pixels rounded, random erasing's
fill included, and a model input that normalises to the float path's."""

import numpy as np
import pytest
import torch
import torchvision.transforms as T
from PIL import Image

from fastreid.data.transforms import build_transforms
from g2da_plugin.compat import normalize_images
from g2da_plugin.data.build import build_cross_modality_train_loader
from g2da_plugin.data.transforms import build_image_transforms
from g2da_plugin.data.uint8_images import ToUInt8Tensor, UInt8RandomErasing
from tests.helpers import TINY_TRAINING, make_cfg

AUGMENTED = {"INPUT.SIZE_TRAIN": [64, 32], "INPUT.SIZE_TEST": [64, 32], "INPUT.PADDING.ENABLED": True,
             "INPUT.FLIP.ENABLED": True, "INPUT.CJ.ENABLED": True, "INPUT.REA.ENABLED": True, "INPUT.REA.PROB": 1.0}


def random_image(height=90, width=40, seed=0):
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def test_image_only_transforms_are_fastreids_rounded_to_uint8():
    cfg = make_cfg(overrides=AUGMENTED)
    ours, theirs = build_image_transforms(cfg, is_train=True), build_transforms(cfg, is_train=True)
    for seed in range(4):
        torch.manual_seed(seed)
        expected = theirs(random_image(seed=seed))
        torch.manual_seed(seed)
        got = ours(random_image(seed=seed))
        assert got.dtype == torch.uint8 and torch.equal(got, expected.round().to(torch.uint8))
    assert torch.equal(build_image_transforms(cfg, is_train=False)(random_image()),
                       build_transforms(cfg, is_train=False)(random_image()).to(torch.uint8))


def test_random_erasing_fills_with_the_rounded_mean_in_the_same_box():
    image = torch.full((3, 64, 32), 7, dtype=torch.uint8)
    torch.manual_seed(3)
    erased = UInt8RandomErasing(p=1.0, value=[123.675, 116.28, 103.53])(image)
    torch.manual_seed(3)
    reference = T.RandomErasing(p=1.0, value=[123.675, 116.28, 103.53])(image.float())
    box = reference[0] != 7
    assert box.any() and torch.equal(erased[0] != 7, box)
    assert [int(erased[c][box].unique()) for c in range(3)] == [124, 116, 104]


def test_random_noise_fill_is_clipped_to_uint8():
    torch.manual_seed(0)
    erased = UInt8RandomErasing(p=1.0, value="random")(torch.full((3, 64, 32), 200, dtype=torch.uint8))
    assert erased.dtype == torch.uint8 and int(erased.min()) == 0   # N(0, 1) noise: negatives clip to 0


def test_a_small_image_normalises_to_the_hand_computed_input():
    pixels = np.array([[[0, 128, 255], [10, 20, 30]], [[255, 255, 255], [1, 2, 3]]], np.uint8)  # 2 x 2
    tensor = ToUInt8Tensor()(Image.fromarray(pixels))
    assert tensor.dtype == torch.uint8 and tensor.shape == (3, 2, 2)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    by_hand = (torch.from_numpy(pixels).permute(2, 0, 1).double()[None] - mean.double()) / std.double()
    assert torch.allclose(normalize_images(tensor[None], mean, std).double(), by_hand, atol=1e-6)
    float_path = normalize_images(tensor[None].float(), mean, std)
    assert torch.equal(normalize_images(tensor[None], mean, std), float_path)


@pytest.mark.parametrize("with_keypoints", [False, True])
def test_train_loader_batches_are_uint8(synthetic_root, with_keypoints):
    cfg = make_cfg(overrides={**TINY_TRAINING, "DATASETS.ROOT": synthetic_root, "DATASETS.NAMES": ("SYSUMM01_CM",),
                              "INPUT.KEYPOINTS.ENABLED": with_keypoints, "INPUT.REA.ENABLED": True})
    batch = next(iter(build_cross_modality_train_loader(cfg)))
    assert batch["images"].dtype == torch.uint8 and batch["images"].shape == (8, 3, 64, 32)
    if with_keypoints:
        assert batch["keypoints"].dtype == torch.float32
