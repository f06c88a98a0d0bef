"""The one-time resized image cache (g2da_plugin/data/image_cache.py, INPUT.CACHE): the same batches
as the image files, rebuilt when incomplete, corrupt or of another size, refused where it cannot
give the same pixels."""

import itertools
import json
import logging
import os

import pytest
import torch

from g2da_plugin.data.build import build_cross_modality_train_loader, build_cross_modality_train_set
from g2da_plugin.data.image_cache import open_or_build_cache
from g2da_plugin.data.transforms import JointResize
from g2da_plugin.utils.errors import InputError
from tests.helpers import TINY_TRAINING, make_cfg


def train_cfg(root, cache_dir=None, **keys):
    overrides = {**TINY_TRAINING, "DATASETS.ROOT": root, "DATASETS.NAMES": ("SYSUMM01_CM",),
                 "INPUT.PADDING.ENABLED": True, "INPUT.FLIP.ENABLED": True, "INPUT.REA.ENABLED": True}
    if cache_dir is not None:
        overrides.update({"INPUT.CACHE.ENABLED": True, "INPUT.CACHE.DIR": str(cache_dir)})
    return make_cfg(overrides={**overrides, **keys})


def batches(cfg, count=4):
    return list(itertools.islice(build_cross_modality_train_loader(cfg), count))


@pytest.mark.parametrize("with_keypoints", [False, True])
def test_cached_and_uncached_loaders_give_the_same_batches(synthetic_root, tmp_path, with_keypoints):
    keys = {"INPUT.KEYPOINTS.ENABLED": with_keypoints}
    expected = batches(train_cfg(synthetic_root, **keys))
    # one worker: the cache reaches a worker process as a file name, not as pixels
    for cached in (batches(train_cfg(synthetic_root, tmp_path, **keys, **{"DATALOADER.NUM_WORKERS": 1})),
                   batches(train_cfg(synthetic_root, tmp_path, **keys))):   # the second run reads the cache
        for got, want in zip(cached, expected):
            assert got["img_paths"] == want["img_paths"]
            assert torch.equal(got["images"], want["images"])
            if with_keypoints:
                assert torch.equal(got["keypoints"], want["keypoints"])
    assert len([name for name in os.listdir(tmp_path) if name.endswith(".u8")]) == 1


def cache_files(folder):
    names = sorted(os.listdir(folder))
    assert len(names) == 2, names
    return [os.path.join(folder, name) for name in names]   # .json, .u8


def rewrite(path, **fields):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(dict(document, **fields), f)


def test_an_incomplete_or_corrupt_cache_is_rebuilt(synthetic_root, tmp_path, caplog):
    cfg = train_cfg(synthetic_root, tmp_path)
    reference = build_cross_modality_train_set(cfg)[(0, 5)]["images"]   # (index, augmentation seed)
    index, pixels = cache_files(tmp_path)
    size = os.path.getsize(pixels)
    damages = [lambda: open(pixels, "r+b").truncate(size // 2),            # pixels cut short
               lambda: open(index, "w").write("{not json"),               # index unreadable
               lambda: os.remove(index),                                  # a build stopped before its index
               lambda: rewrite(index, key="other")]                          # another dataset's index
    for damage in damages:
        damage()
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="g2da_plugin.data.image_cache"):
            rebuilt = build_cross_modality_train_set(cfg)
        assert "building the image cache" in caplog.text
        assert os.path.getsize(pixels) == size and torch.equal(rebuilt[(0, 5)]["images"], reference)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="g2da_plugin.data.image_cache"):
        build_cross_modality_train_set(cfg)
    assert "building" not in caplog.text   # a complete cache is read, not rebuilt


def test_a_changed_size_or_image_is_another_cache(synthetic_root, tmp_path):
    paths = sorted(os.path.join(dirpath, name) for dirpath, _, names in os.walk(synthetic_root)
                   for name in names if name.endswith(".jpg"))[:5]
    first = open_or_build_cache(paths, JointResize([64, 32]), str(tmp_path))
    other_size = open_or_build_cache(paths, JointResize([32, 16]), str(tmp_path))
    assert first.pixels_path != other_size.pixels_path and other_size.image(0).size == (16, 32)
    stat = os.stat(paths[0])
    os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))   # the image file changed
    try:
        assert open_or_build_cache(paths, JointResize([64, 32]), str(tmp_path)).pixels_path != first.pixels_path
    finally:
        os.utime(paths[0], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert len(os.listdir(tmp_path)) == 6


@pytest.mark.parametrize("keys, named", [
    ({"INPUT.GRAYSCALE.ENABLED": True}, "INPUT.GRAYSCALE.ENABLED"),
    ({"INPUT.AUTOAUG.ENABLED": True, "INPUT.AUTOAUG.PROB": 0.5}, "INPUT.AUTOAUG.ENABLED"),
    ({"INPUT.SIZE_TRAIN": [64]}, "INPUT.SIZE_TRAIN"),
])
def test_a_cache_that_cannot_give_the_same_pixels_is_refused(synthetic_root, tmp_path, keys, named):
    with pytest.raises(InputError, match=named.replace(".", r"\.")):
        build_cross_modality_train_set(train_cfg(synthetic_root, tmp_path, **keys))
