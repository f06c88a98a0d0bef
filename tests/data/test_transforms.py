"""Joint image+keypoint transforms (g2da_plugin/data/transforms.py): the same images as FastReID's
transforms (as uint8), keypoints that stay on the pixels they mark through resize, pad, crop and flip, and the
augmentations that cannot carry keypoints refused."""

import numpy as np
import pytest
import torch
from PIL import Image

import g2da_plugin  # noqa: F401  (fastreid compatibility fixes)
from fastreid.data.transforms import build_transforms
from g2da_plugin.data.keypoint_geometry import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, MEAN_POSE, flip_keypoints
from g2da_plugin.data.transforms import (
    JointCompose, JointPad, JointRandomCrop, JointRandomHorizontalFlip, JointResize, JointToTensor,
    build_joint_transforms,
)
from g2da_plugin.modeling.skeleton_graph import render_heatmaps
from tests.helpers import make_cfg

LEFT_SHOULDER, RIGHT_SHOULDER = COCO_KEYPOINT_NAMES.index("left_shoulder"), COCO_KEYPOINT_NAMES.index("right_shoulder")

#: 64 x 32 inputs, pad 5 + random crop back, random flip: every geometric augmentation with a joint version.
AUGMENTATION = {"INPUT.SIZE_TRAIN": [64, 32], "INPUT.SIZE_TEST": [64, 32], "INPUT.PADDING.ENABLED": True,
                "INPUT.PADDING.SIZE": 5, "INPUT.FLIP.ENABLED": True}


def blob_image(width, height, points):
    """A black RGB image with a 3x3 block of value v centred on each (x, y, v): the block's
    centroid is (x, y) exactly when x and y are pixel centres (k + 0.5)."""
    array = np.zeros((height, width, 3), np.uint8)
    for x, y, value in points:
        px, py = int(x), int(y)
        array[py - 1:py + 2, px - 1:px + 2] = value
    return Image.fromarray(array)


def centroid(image, lo, hi):
    """Intensity centroid (x, y) in continuous pixel coordinates of values in [lo, hi] (channel 0)."""
    m = image[0].double()
    m = torch.where((m >= lo) & (m <= hi), m, torch.zeros_like(m))
    ys = torch.arange(m.shape[0], dtype=torch.float64) + 0.5
    xs = torch.arange(m.shape[1], dtype=torch.float64) + 0.5
    total = m.sum()
    return torch.stack([(m.sum(0) * xs).sum() / total, (m.sum(1) * ys).sum() / total]).float()


def frontal_keypoints(width, height):
    """MEAN_POSE (the person faces the camera: left on the image's right) at pixel centres."""
    kps = np.ones((17, 3), np.float32)
    kps[:, 0] = np.floor(MEAN_POSE[:, 0] * width) + 0.5
    kps[:, 1] = np.floor(MEAN_POSE[:, 1] * height) + 0.5
    return kps


def test_same_images_as_fastreid_transforms_for_the_same_seed():
    cfg = make_cfg(overrides={**AUGMENTATION, "INPUT.CJ.ENABLED": True, "INPUT.CJ.PROB": 0.5,
                              "INPUT.REA.ENABLED": True})
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (90, 40, 3), dtype=np.uint8))
    ours, theirs = build_joint_transforms(cfg, is_train=True), build_transforms(cfg, is_train=True)
    for seed in range(6):
        torch.manual_seed(seed)
        expected = theirs(image)
        torch.manual_seed(seed)
        got, keypoints = ours(image, frontal_keypoints(40, 90))
        # uint8 out: FastReID's float pixels rounded (only random erasing's fill is not an integer)
        assert got.dtype == torch.uint8 and torch.equal(got, expected.round().to(torch.uint8))
        assert keypoints.shape == (17, 3) and keypoints.dtype == torch.float32
    test_image, _ = build_joint_transforms(cfg, is_train=False)(image, None)
    assert torch.equal(test_image, build_transforms(cfg, is_train=False)(image).to(torch.uint8))


@pytest.mark.parametrize("seed", range(8))
def test_keypoint_stays_on_its_blob_and_under_its_heatmap_peak(seed):
    width, height = 40, 90                    # resized to 32 x 64: x by 0.8, y by 0.711
    rng = np.random.default_rng(seed)
    kps = np.zeros((17, 3), np.float32)
    kps[:, 0] = rng.integers(12, width - 12, 17) + 0.5
    kps[:, 1] = rng.integers(12, height - 12, 17) + 0.5
    kps[:, 2] = 1.0
    k = int(rng.integers(0, 17))
    image = blob_image(width, height, [(kps[k, 0], kps[k, 1], 255)])
    transform = build_joint_transforms(make_cfg(overrides=AUGMENTATION), is_train=True)
    torch.manual_seed(seed)
    out_image, out_kps = transform(image, kps)
    assert out_image.shape == (3, 64, 32)
    # where did keypoint k go? Index k if not flipped, its mirror partner if flipped. Within a
    # tenth of a pixel of the blob's centroid (typically 0.04: bicubic resampling is not exact).
    blob = centroid(out_image, 1, 255)
    candidates = {k, COCO_FLIP_INDEX[k]}
    distances = {j: float((out_kps[j, :2] - blob).abs().max()) for j in candidates}
    best = min(distances, key=distances.get)
    assert distances[best] <= 0.1, (distances, blob, out_kps[list(candidates)])
    # its heatmap (feature stride 4) peaks on the cell under the blob, within one cell
    heatmaps = render_heatmaps(out_kps[None], (64, 32), (16, 8), sigma=1.0, norm="mean", use_scores=True)[0]
    peak = torch.nonzero(heatmaps[best] == heatmaps[best].max())[0].float()  # (row, col)
    blob_cell = torch.stack([blob[1] / 4, blob[0] / 4]).floor()
    assert (peak - blob_cell).abs().max() <= 1


def test_each_geometric_transform_moves_the_blob_and_the_keypoint_alike():
    width, height = 37, 83
    kps = frontal_keypoints(width, height)
    image = blob_image(width, height, [(kps[0, 0], kps[0, 1], 255)])
    pipelines = [
        JointCompose([JointResize([64, 32]), JointToTensor()]),
        JointCompose([JointResize([120, 50]), JointToTensor()]),   # up-sampling
        JointCompose([JointPad((3, 7, 1, 2)), JointToTensor()]),
        JointCompose([JointPad(4, padding_mode="edge"), JointRandomCrop([83, 37]), JointToTensor()]),
        JointCompose([JointRandomCrop([70, 30]), JointToTensor()]),
    ]
    torch.manual_seed(0)
    for pipeline in pipelines:
        out_image, out_kps = pipeline(image, kps)
        assert (out_kps[0, :2] - centroid(out_image, 1, 255)).abs().max() <= 0.1, pipeline


def test_flip_swaps_left_and_right():
    width, height = 40, 90
    kps = frontal_keypoints(width, height)
    # the person's left shoulder (on the image's right: it faces the camera) bright, the right one dim
    image = blob_image(width, height, [(kps[LEFT_SHOULDER, 0], kps[LEFT_SHOULDER, 1], 250),
                                       (kps[RIGHT_SHOULDER, 0], kps[RIGHT_SHOULDER, 1], 100)])
    assert kps[LEFT_SHOULDER, 0] > width / 2
    flipped, flipped_kps = JointCompose([JointRandomHorizontalFlip(p=1.0), JointToTensor()])(image, kps)
    bright, dim = centroid(flipped, 200, 255), centroid(flipped, 50, 150)
    # the mirror image shows a person whose left shoulder is the original's right one (dim blob),
    # still on the image's right: it is labelled left, and "left" still means the person's left
    assert torch.allclose(flipped_kps[LEFT_SHOULDER, :2], dim, atol=0.5)
    assert torch.allclose(flipped_kps[RIGHT_SHOULDER, :2], bright, atol=0.5)
    assert flipped_kps[LEFT_SHOULDER, 0] > width / 2 > flipped_kps[RIGHT_SHOULDER, 0]
    # the original left shoulder's blob moved to the other side: x -> W - x
    assert torch.allclose(bright[0], torch.tensor(width - kps[LEFT_SHOULDER, 0]), atol=0.5)
    assert flipped_kps[0, 0] == pytest.approx(width - kps[0, 0])        # the nose has no partner
    # scores travel with their keypoint
    scored = kps.copy()
    scored[:, 2] = np.linspace(0, 1, 17)
    _, flipped_scored = JointCompose([JointRandomHorizontalFlip(p=1.0)])(image, scored)
    assert np.allclose(flipped_scored[:, 2], scored[list(COCO_FLIP_INDEX), 2])
    # flip_keypoints on a tensor (the keypoints of a flipped batch) agrees with the transform
    assert torch.allclose(flip_keypoints(torch.as_tensor(kps), width), flipped_kps)


def test_no_keypoints_means_image_only_and_inputs_are_not_modified():
    image = blob_image(40, 90, [(10.5, 10.5, 255)])
    kps = frontal_keypoints(40, 90)
    before = kps.copy()
    transform = build_joint_transforms(make_cfg(overrides=AUGMENTATION), is_train=True)
    out_image, out_kps = transform(image, None)
    assert out_kps is None and out_image.shape == (3, 64, 32)
    transform(image, kps)
    assert np.array_equal(kps, before)


@pytest.mark.parametrize("keys, named", [
    ({"INPUT.AFFINE.ENABLED": True}, "INPUT.AFFINE.ENABLED"),
    ({"INPUT.CROP.ENABLED": True}, "INPUT.CROP.ENABLED"),
    ({"INPUT.AUTOAUG.ENABLED": True, "INPUT.AUTOAUG.PROB": 0.5}, "INPUT.AUTOAUG.ENABLED"),
    ({"INPUT.AUGMIX.ENABLED": True, "INPUT.AUGMIX.PROB": 0.5}, "INPUT.AUGMIX.ENABLED"),
])
def test_unsupported_geometric_augmentation_is_refused(keys, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        build_joint_transforms(make_cfg(overrides={**AUGMENTATION, **keys}), is_train=True)
