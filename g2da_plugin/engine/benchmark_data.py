"""Per-image CPU cost of the training data path: decode + resize + augment + to tensor, as one
DataLoader worker pays it (one process, one torch thread), for

  float (before)   the transforms as they were: FastReID's float ToTensor and torchvision's float
                   RandomErasing in place of the uint8 ones (the same pipeline otherwise);
  uint8            the loaders' transforms (g2da_plugin/data/uint8_images.py);
  uint8 + cache    the same, reading INPUT.CACHE's resized images instead of decoding the files
                   (the one-time build is timed apart);

plus the collation of a batch of 64 (FastReID's fast_batch_collator), per image. The data are the
synthetic SYSU-MM01 (tools/make_synthetic_data.py's generator) with every image upscaled by
--upscale (bicubic, JPEG quality 95) and its keypoints with it: the synthetic crops are 64x128 to
80x160, SYSU-MM01's are a few times larger. The config (default sysu_G2DA.yml: 288x144, pad 10 +
crop, flip, keypoints) and --opts say which augmentations run. Median of --repeats passes over
--images samples, the paths taking turns.

    python tools/benchmark_data.py
    python tools/benchmark_data.py --opts INPUT.REA.ENABLED True INPUT.KEYPOINTS.ENABLED False
"""

import copy
import os
import shutil
import statistics
import tempfile
import time

import numpy as np
import torch
import torchvision.transforms as T
from fastreid.data.build import fast_batch_collator
from fastreid.data.transforms.transforms import ToTensor
from PIL import Image

from ..config import load_config
from ..data.build import build_cross_modality_train_set
from ..data.keypoints_io import load_keypoints, save_keypoints
from ..data.synthetic import make_synthetic_sysu
from ..data.transforms import ImageOnly, JointCompose, JointToTensor
from ..data.uint8_images import ToUInt8Tensor, UInt8RandomErasing
from ..utils.errors import InputError

__all__ = ["make_benchmark_data", "float_transforms", "run_benchmark"]

BATCH = 64
#: images/s one GPU step should get
TARGET_RATE = 2500


def make_benchmark_data(folder, upscale, num_train_ids, seed=0):
    """The synthetic SYSU-MM01 under ``folder/source``, copied to ``folder/upscaled`` with every image
    and keypoint scaled by ``upscale``; returns the DATASETS.ROOT of the copy."""
    source = make_synthetic_sysu(os.path.join(folder, "source"), num_train_ids=num_train_ids, num_val_ids=1,
                                 num_test_ids=2, seed=seed)
    target = os.path.join(folder, "upscaled", os.path.basename(source))
    for dirpath, _, names in os.walk(source):
        out_dir = os.path.join(target, os.path.relpath(dirpath, source))
        os.makedirs(out_dir, exist_ok=True)
        for name in names:
            path, out = os.path.join(dirpath, name), os.path.join(out_dir, name)
            if name.endswith(".jpg"):
                with Image.open(path) as image:
                    size = (round(image.width * upscale), round(image.height * upscale))
                    image.convert("RGB").resize(size, Image.BICUBIC).save(out, quality=95)
            elif name == "keypoints.json":
                scale = np.array([upscale, upscale, 1], np.float32)
                save_keypoints(out, {k: v * scale for k, v in load_keypoints(path).items()}, "synthetic-upscaled")
            else:
                shutil.copy2(path, out)
    return os.path.dirname(target)


def float_transforms(transform):
    """``transform`` with the uint8 steps swapped back for the float ones they replaced."""
    if isinstance(transform, (T.Compose, JointCompose)):
        return type(transform)([float_transforms(t) for t in transform.transforms])
    if isinstance(transform, ImageOnly):
        return ImageOnly(float_transforms(transform.transform))
    if isinstance(transform, JointToTensor):
        joint = JointToTensor()
        joint.to_tensor = ToTensor()
        return joint
    if isinstance(transform, ToUInt8Tensor):
        return ToTensor()
    if isinstance(transform, UInt8RandomErasing):
        return T.RandomErasing(p=transform.p, scale=transform.scale, ratio=transform.ratio, value=transform.value,
                               inplace=transform.inplace)
    return transform


def _pass_seconds(dataset, keys):
    start = time.perf_counter()
    samples = [dataset[key] for key in keys]
    getitem = time.perf_counter() - start
    start = time.perf_counter()
    for first in range(0, len(samples) - BATCH + 1, BATCH):
        fast_batch_collator(samples[first:first + BATCH])
    return getitem, time.perf_counter() - start


def run_benchmark(args):
    """Print the ms/image table; ``args``: config_file, opts, images, repeats, upscale, ids, work_dir."""
    if args.images < BATCH:
        raise InputError(f"--images must be at least one batch ({BATCH}), got {args.images}")
    torch.set_num_threads(1)  # a DataLoader worker runs with one torch thread
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="benchmark_data_")
    try:
        start = time.perf_counter()
        root = make_benchmark_data(work_dir, args.upscale, args.ids)
        print(f"data: synthetic SYSU-MM01 x{args.upscale} in {root} ({time.perf_counter() - start:.0f} s)")
        cfg = load_config(args.config_file, ["DATASETS.ROOT", root, "DATASETS.NAMES", '("SYSUMM01_CM",)',
                                             "DATALOADER.NUM_WORKERS", "0", "INPUT.KEYPOINTS.FILE", "keypoints.json",
                                             *args.opts])
        uint8 = build_cross_modality_train_set(cfg)
        old = copy.copy(uint8)
        old.transform = float_transforms(uint8.transform)
        cached_cfg = cfg.clone()
        cached_cfg.INPUT.CACHE.ENABLED = True
        cached_cfg.INPUT.CACHE.DIR = os.path.join(work_dir, "cache")
        start = time.perf_counter()
        cached = build_cross_modality_train_set(cached_cfg)
        build_seconds = time.perf_counter() - start
        paths = {"float (before)": old, "uint8": uint8, "uint8 + cache": cached}
        keys = [(i % len(uint8), i) for i in range(args.images)]   # (index, augmentation seed), as the sampler's
        times = {name: [] for name in paths}
        for repeat in range(args.repeats + 1):
            for name, dataset in paths.items():
                seconds = _pass_seconds(dataset, keys)
                if repeat:  # the first pass warms the page cache and the allocator
                    times[name].append(seconds)
        size = "x".join(str(s) for s in cfg.INPUT.SIZE_TRAIN)
        print(f"{len(uint8)} training images at {size}, {args.images} samples a pass, median of {args.repeats}; "
              f"cache built once in {build_seconds:.1f} s ({build_seconds / len(uint8) * 1e3:.2f} ms/image)")
        print(f"{'path':<16} {'ms/image':>9} {'collate ms/image':>17} {'images/s a worker':>18} "
              f"{'workers for ' + format(TARGET_RATE, ',') + '/s':>21}")
        for name, runs in times.items():
            getitem = statistics.median(r[0] for r in runs) / len(keys) * 1e3
            collate = statistics.median(r[1] for r in runs) / (len(keys) // BATCH * BATCH) * 1e3
            rate = 1e3 / (getitem + collate)
            print(f"{name:<16} {getitem:>9.3f} {collate:>17.3f} {rate:>18.0f} {TARGET_RATE / rate:>21.1f}")
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
