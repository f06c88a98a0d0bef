"""The train and test loaders (g2da_plugin/data/build.py) on the synthetic data: what they hold, the
datasets' keypoints files, the grayscale augmentation, and the train stream starting at any epoch."""

import itertools
import os

import numpy as np
import pytest
import torch
from PIL import Image

from g2da_plugin.data.build import (
    build_cross_modality_test_loader, build_cross_modality_train_loader, build_cross_modality_train_set,
    iters_per_epoch,
)
from g2da_plugin.data.dataset import MissingKeypointsError
from g2da_plugin.data.datasets import IR, RGB, RegDB_CM, SYSUMM01_CM
from g2da_plugin.data.keypoints_io import load_keypoints, save_keypoints
from g2da_plugin.data.synthetic import make_synthetic_regdb
from tests.helpers import TINY_TRAINING, make_cfg

#: Loaders of 64 x 32 inputs without geometric augmentation: a sample's keypoints are its file's, scaled.
PLAIN_INPUTS = {"INPUT.SIZE_TRAIN": [64, 32], "INPUT.SIZE_TEST": [64, 32], "INPUT.FLIP.ENABLED": False,
                "INPUT.PADDING.ENABLED": False, "DATALOADER.NUM_WORKERS": 0}


@pytest.fixture(scope="module")
def both_root(synthetic_root, tmp_path_factory):
    """The tiny synthetic SYSU-MM01 and a tiny RegDB side by side in one DATASETS.ROOT."""
    root = tmp_path_factory.mktemp("both")
    os.symlink(os.path.join(synthetic_root, "SYSU-MM01"), root / "SYSU-MM01")
    make_synthetic_regdb(str(root), num_ids=6, images_per_modality=2, seed=3)
    return str(root)


def scaled_file_keypoints(table, dataset_root, path):
    """The keypoints file's entry of ``path``, scaled from its image to the 64 x 32 input."""
    width, height = Image.open(path).size
    key = os.path.relpath(path, dataset_root).replace(os.sep, "/")
    return torch.as_tensor(table[key] * np.array([32 / width, 64 / height, 1], np.float32))


def test_train_set_joins_the_datasets_with_their_keypoints_files(both_root):
    cfg = make_cfg(overrides={**PLAIN_INPUTS, "DATASETS.ROOT": both_root, "DATASETS.NAMES": ("SYSUMM01_CM", "RegDB_CM"),
                              "DATASETS.REGDB_TRIAL": 3, "INPUT.KEYPOINTS.ENABLED": True})
    sysu, regdb = SYSUMM01_CM(root=both_root), RegDB_CM(root=both_root, trial=3)
    train_set = build_cross_modality_train_set(cfg)
    assert train_set.img_items == sysu.train + regdb.train
    # identities of the two datasets never merge: one class per (dataset, identity)
    assert len(train_set.pid_dict) == len({item[1] for item in sysu.train}) + len({item[1] for item in regdb.train})
    tables = {data.dataset_root: load_keypoints(os.path.join(data.dataset_root, "keypoints.json"))
              for data in (sysu, regdb)}
    for index in (0, len(sysu.train) - 1, len(sysu.train), len(train_set) - 1):
        sample = train_set[index]
        dataset_root = sysu.dataset_root if index < len(sysu.train) else regdb.dataset_root
        assert torch.allclose(sample["keypoints"],
                              scaled_file_keypoints(tables[dataset_root], dataset_root, sample["img_paths"]), atol=1e-4)
        assert sample["targets"] == train_set.pid_dict[train_set.img_items[index][1]]


@pytest.mark.parametrize("name, trial", [("SYSUMM01_CM", 1), ("RegDB_CM", 3)])
def test_test_loader_is_the_queries_then_the_gallery_with_raw_labels_and_keypoints(both_root, name, trial):
    cfg = make_cfg(overrides={**PLAIN_INPUTS, "DATASETS.ROOT": both_root, "DATASETS.REGDB_TRIAL": trial,
                              "INPUT.KEYPOINTS.ENABLED": True, "TEST.IMS_PER_BATCH": 4})
    loader, num_query, data = build_cross_modality_test_loader(cfg, name)
    expected = SYSUMM01_CM(root=both_root) if name == "SYSUMM01_CM" else RegDB_CM(root=both_root, trial=trial)
    items = expected.query + expected.gallery
    assert num_query == len(expected.query) and data.dataset_root == expected.dataset_root
    table = load_keypoints(os.path.join(expected.dataset_root, "keypoints.json"))
    seen = []
    for batch in loader:
        for i, path in enumerate(batch["img_paths"]):
            seen.append((path, int(batch["targets"][i]), int(batch["camids"][i]), int(batch["modalities"][i])))
            assert torch.allclose(batch["keypoints"][i], scaled_file_keypoints(table, expected.dataset_root, path),
                                  atol=1e-4)
    assert seen == items


def test_keypoints_file_without_an_image_or_missing_is_named(synthetic_root, tmp_path):
    cfg = make_cfg(overrides={**PLAIN_INPUTS, "DATASETS.ROOT": synthetic_root, "DATASETS.NAMES": ("SYSUMM01_CM",),
                              "INPUT.KEYPOINTS.ENABLED": True})
    sysu = os.path.join(synthetic_root, "SYSU-MM01")
    table = load_keypoints(os.path.join(sysu, "keypoints.json"))
    dropped = os.path.relpath(SYSUMM01_CM(root=synthetic_root).train[0][0], sysu)
    del table[dropped]
    save_keypoints(tmp_path / "partial.json", table, "test")
    cfg.INPUT.KEYPOINTS.FILE = str(tmp_path / "partial.json")
    with pytest.raises(MissingKeypointsError, match=r"no keypoints for image \S*" + dropped + r" in \S*partial\.json"):
        build_cross_modality_train_set(cfg)
    cfg.INPUT.KEYPOINTS.MISSING = "mean_pose"
    assert build_cross_modality_train_set(cfg).num_mean_pose == 1
    cfg.INPUT.KEYPOINTS.FILE = "keypoints_nowhere.json"
    with pytest.raises(FileNotFoundError, match=r"keypoints file not found: \S*SYSU-MM01.keypoints_nowhere\.json"):
        build_cross_modality_train_set(cfg)


@pytest.mark.parametrize("with_keypoints", [False, True])
def test_grayscale_augmentation_removes_the_hue_of_rgb_training_images(synthetic_root, with_keypoints):
    cfg = make_cfg(overrides={**PLAIN_INPUTS, "DATASETS.ROOT": synthetic_root, "DATASETS.NAMES": ("SYSUMM01_CM",),
                              "INPUT.KEYPOINTS.ENABLED": with_keypoints})
    rgb_index = next(i for i, item in enumerate(SYSUMM01_CM(root=synthetic_root).train) if item[3] == RGB)

    def channels_equal(prob):
        cfg.INPUT.GRAYSCALE.ENABLED = prob > 0
        cfg.INPUT.GRAYSCALE.PROB = prob
        image = build_cross_modality_train_set(cfg)[rgb_index]["images"]
        return bool((image[0] == image[1]).all() and (image[1] == image[2]).all())

    assert channels_equal(1.0)
    assert not channels_equal(0.0)


def test_train_loader_starts_at_the_epoch_set_after_iter(synthetic_root):
    # One worker: a DataLoader with workers starts drawing from its sampler as soon as it is iterated.
    cfg = make_cfg(overrides={**TINY_TRAINING, "DATASETS.ROOT": synthetic_root, "DATASETS.NAMES": ("SYSUMM01_CM",),
                              "DATALOADER.NUM_WORKERS": 1})
    reference = build_cross_modality_train_loader(cfg)
    per_epoch = iters_per_epoch(cfg, reference.dataset)
    assert per_epoch == len(reference.dataset) // 8 > 0
    batches = list(itertools.islice(reference, 3 * per_epoch))
    for batch in batches:  # 2 identities x (2 RGB + 2 IR)
        assert batch["modalities"].tolist() == [RGB, RGB, IR, IR] * 2
        assert len(set(batch["targets"][:4].tolist())) == 1 and len(set(batch["targets"][4:].tolist())) == 1
    stream = [batch["img_paths"] for batch in batches]
    assert stream[:per_epoch] != stream[2 * per_epoch:]

    resumed = build_cross_modality_train_loader(cfg)
    resumed_batches = iter(resumed)  # as FastReID's trainer does, before resume_or_load knows the epoch
    resumed.set_epoch(2)
    assert [next(resumed_batches)["img_paths"] for _ in range(per_epoch)] == stream[2 * per_epoch:]
