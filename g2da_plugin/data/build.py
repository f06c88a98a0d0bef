"""Train and test loaders: the plugin's datasets and sampler driven through FastReID's builders.

With ``INPUT.KEYPOINTS.ENABLED`` every sample also carries its 17 COCO keypoints (``"keypoints"``,
(17, 3) in the pixels of the augmented input image), read from ``INPUT.KEYPOINTS.FILE`` in each
dataset's folder and moved by the joint image+keypoint transforms of :mod:`.transforms`; without
it the loaders use FastReID's ``build_transforms`` (plus the plugin's ``INPUT.GRAYSCALE``). Images come
as uint8 (:mod:`.uint8_images`); with ``INPUT.CACHE.ENABLED`` the training images come from a one-time
resized cache (:mod:`.image_cache`); ``DATALOADER.NUM_WORKERS`` -1 counts workers from the cores
(:mod:`.workers`).
"""

import os
from collections import Counter

import torch
from fastreid.data import build_reid_test_loader, build_reid_train_loader
from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.utils import comm

from ..utils.errors import InputError, MissingInputError
from .batch_layout import collate_with_layout
from .dataset import CrossModalityDataset
from .image_cache import open_or_build_cache
from .keypoints_io import load_keypoints
from .samplers import CrossModalityIdentitySampler
from .transforms import build_image_transforms, build_joint_transforms, train_resize
from .workers import loader_workers


def load_dataset(cfg, name):
    """Instantiate a registered dataset under ``DATASETS.ROOT`` (RegDB: its ``DATASETS.REGDB_TRIAL``)."""
    kwargs = {"root": cfg.DATASETS.ROOT}
    if name == "RegDB_CM":
        kwargs["trial"] = cfg.DATASETS.REGDB_TRIAL
    return DATASET_REGISTRY.get(name)(**kwargs)


def relative_key(path, dataset_root):
    """The key of an image in its dataset's keypoints file: its path relative to the dataset folder,
    POSIX separators."""
    return os.path.relpath(os.path.abspath(path), os.path.abspath(dataset_root)).replace(os.sep, "/")


#: Values of ``SOLVER.EPOCH_LENGTH``.
EPOCH_LENGTHS = ("images", "community")


def iters_per_epoch(cfg, train_set):
    """Iterations in an epoch (``SOLVER.EPOCH_LENGTH``): "images", FastReID's, all training images /
    batch size; "community", DDAG's (and AGW's), the larger modality's images / the images of one
    modality in a batch (SYSU-MM01: 22,258 RGB images / 32 = 695, against 34,167 / 64 = 533)."""
    rule, batch = cfg.SOLVER.EPOCH_LENGTH, cfg.SOLVER.IMS_PER_BATCH
    if rule not in EPOCH_LENGTHS:
        raise InputError(f"SOLVER.EPOCH_LENGTH must be one of {EPOCH_LENGTHS}, got {rule!r}")
    if rule == "images":
        return len(train_set) // batch
    per_modality = Counter(item[3] for item in train_set.img_items)
    return max(per_modality.values()) // (batch // 2)


def keypoints_enabled(cfg):
    """True when the loaders attach keypoints (``INPUT.KEYPOINTS.ENABLED``; absent key = False)."""
    node = cfg.INPUT.get("KEYPOINTS")
    return bool(node is not None and node.ENABLED)


def keypoints_file(cfg, data):
    """The keypoints file of a dataset: ``INPUT.KEYPOINTS.FILE``, relative to the dataset's folder
    (``<DATASETS.ROOT>/SYSU-MM01``, ``<DATASETS.ROOT>/RegDB``) unless absolute."""
    return os.path.join(data.dataset_root, cfg.INPUT.KEYPOINTS.FILE)


def dataset_keypoints(cfg, data, items):
    """``({img_path: (17, 3)} for the items that have keypoints, the file)``.

    The file's keys are image paths relative to the dataset folder; ``items`` hold full paths.
    """
    path = keypoints_file(cfg, data)
    if not os.path.isfile(path):
        raise MissingInputError(
            f"keypoints file not found: {os.path.abspath(path)} (INPUT.KEYPOINTS.FILE "
            f"{cfg.INPUT.KEYPOINTS.FILE!r}, relative to {data.dataset_root}); compute it with "
            f"tools/extract_keypoints.py, or set INPUT.KEYPOINTS.ENABLED False")
    table = load_keypoints(path)
    keypoints = {}
    for item in items:
        key = relative_key(item[0], data.dataset_root)
        if key in table:
            keypoints[item[0]] = table[key]
    return keypoints, path


def _refuse_steps_before_the_resize(cfg):
    """FastReID's image-only training transforms run these before their resize, which a cached image
    has already had: it would not give the same pixels."""
    before = []
    if cfg.INPUT.GRAYSCALE.ENABLED:
        before.append("INPUT.GRAYSCALE.ENABLED")
    if cfg.INPUT.AUTOAUG.ENABLED and cfg.INPUT.AUTOAUG.PROB > 0:
        before.append("INPUT.AUTOAUG.ENABLED")
    if before and not keypoints_enabled(cfg):
        raise InputError(f"INPUT.CACHE.ENABLED caches resized images, but {' and '.join(before)} acts before the "
                         f"resize in the image-only training transforms (INPUT.KEYPOINTS.ENABLED False): "
                         f"turn one of them off")


def training_image_cache(cfg, items):
    """The :class:`~.image_cache.ResizedImageCache` of the training ``items`` (``INPUT.CACHE``; each
    machine's first process builds it, the others wait), or None when the cache is off."""
    if not cfg.INPUT.CACHE.ENABLED:
        return None
    _refuse_steps_before_the_resize(cfg)
    paths, resize = [item[0] for item in items], train_resize(cfg)
    folder = os.path.join(cfg.DATASETS.ROOT, cfg.INPUT.CACHE.DIR)
    workers = loader_workers(cfg.DATALOADER.NUM_WORKERS)
    cache = open_or_build_cache(paths, resize, folder, workers) if comm.get_local_rank() == 0 else None
    comm.synchronize()
    return cache if cache is not None else open_or_build_cache(paths, resize, folder, workers)


def _dataset(cfg, parts, is_train, image_cache=None):
    """A CrossModalityDataset over ``parts`` = [(dataset, items)], with keypoints when enabled."""
    items = [item for _, part in parts for item in part]
    if not keypoints_enabled(cfg):
        return CrossModalityDataset(items, build_image_transforms(cfg, is_train=is_train), relabel=is_train,
                                    image_cache=image_cache)
    keypoints, files = {}, []
    for data, part in parts:
        table, path = dataset_keypoints(cfg, data, part)
        keypoints.update(table)
        files.append(path)
    return CrossModalityDataset(items, build_joint_transforms(cfg, is_train=is_train), relabel=is_train,
                                keypoints=keypoints, missing=cfg.INPUT.KEYPOINTS.MISSING,
                                keypoints_file=", ".join(files),
                                mean_pose_score=cfg.INPUT.KEYPOINTS.MEAN_POSE_SCORE, image_cache=image_cache)


def build_cross_modality_train_set(cfg):
    """The training CrossModalityDataset of ``DATASETS.NAMES`` (relabelled ids)."""
    parts = []
    for name in cfg.DATASETS.NAMES:
        data = load_dataset(cfg, name)
        if comm.is_main_process():
            data.show_train()
        parts.append((data, data.train))
    items = [item for _, part in parts for item in part]
    return _dataset(cfg, parts, is_train=True, image_cache=training_image_cache(cfg, items))


class EpochLoader:
    """The training loader, whose stream of batches can start at any epoch.

    FastReID's trainer calls ``iter(loader)`` when it is built, before ``resume_or_load`` knows the
    epoch to resume at, and a multi-worker loader starts prefetching at ``iter()``; here iteration
    starts at the first batch taken, from the epoch :meth:`set_epoch` named.
    """

    def __init__(self, loader, sampler):
        self.loader = loader
        self.sampler = sampler
        self.dataset = loader.dataset
        self.iters_per_epoch = sampler.iters_per_epoch

    def set_epoch(self, epoch):
        """Start the stream at ``epoch``; call before the first batch is taken."""
        self.sampler.set_epoch(epoch)

    def __iter__(self):
        yield from self.loader


def build_cross_modality_train_loader(cfg):
    """An :class:`EpochLoader` of P identities x (K RGB + K IR) batches of ``DATASETS.NAMES``."""
    train_set = build_cross_modality_train_set(cfg)
    sampler = CrossModalityIdentitySampler(
        train_set.img_items,
        cfg.SOLVER.IMS_PER_BATCH // comm.get_world_size(),
        cfg.DATALOADER.NUM_INSTANCE,
        seed=cfg.SEED,
        iters_per_epoch=iters_per_epoch(cfg, train_set),
    )
    loader = build_reid_train_loader(train_set, sampler=sampler, total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
                                     num_workers=loader_workers(cfg.DATALOADER.NUM_WORKERS))
    # its own generator for the workers' base seed: starting the loader draws nothing from the global
    # one, which a resumed run restores from the checkpoint
    loader.generator = torch.Generator().manual_seed(cfg.SEED)
    loader.collate_fn = collate_with_layout  # FastReID's builders take no collate_fn
    return EpochLoader(loader, sampler)


def build_cross_modality_test_set(cfg, data, items):
    """The test-time CrossModalityDataset of ``items`` (identities as they are), with their keypoints from
    ``data``'s keypoints file (:func:`keypoints_file`; ``data``: anything with a ``dataset_root``) when enabled."""
    return _dataset(cfg, [(data, items)], is_train=False)


def cross_modality_test_loader(cfg, test_set):
    """FastReID's test loader over ``test_set``, in order, ``TEST.IMS_PER_BATCH`` images a batch, each
    batch with its modality routing."""
    loader, _ = build_reid_test_loader(test_set=test_set, test_batch_size=cfg.TEST.IMS_PER_BATCH, num_query=0,
                                       num_workers=loader_workers(cfg.DATALOADER.NUM_WORKERS))
    loader.collate_fn = collate_with_layout
    return loader


def build_cross_modality_test_loader(cfg, dataset_name):
    """Loader over the dataset's queries then gallery; returns ``(loader, num_query, dataset)``."""
    data = load_dataset(cfg, dataset_name)
    if comm.is_main_process():
        data.show_test()
    test_set = build_cross_modality_test_set(cfg, data, data.query + data.gallery)
    return cross_modality_test_loader(cfg, test_set), len(data.query), data
