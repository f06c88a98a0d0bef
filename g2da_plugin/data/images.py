"""The images of a dataset, each once, keyed as in its keypoints file: what keypoint extraction,
the Fig. 3 picture and the dataset check walk over."""

import os

from ..config import load_config
from ..utils.errors import InputError
from .build import load_dataset, relative_key

__all__ = ["DatasetImages", "dataset_images", "datasets_of"]


class DatasetImages:
    """The images of one dataset: ``name``, ``folder`` (absolute) and ``images``, {key: (absolute
    path, modality)} sorted by key."""

    def __init__(self, name, folder, images):
        self.name = name
        self.folder = folder
        self.images = images


def dataset_images(cfg, name):
    """The :class:`DatasetImages` of the registered dataset ``name`` as ``cfg`` loads it."""
    dataset = load_dataset(cfg, name)
    if not hasattr(dataset, "dataset_root"):
        raise InputError(f"{name} is not one of the plug-in's cross-modality datasets (e.g. SYSUMM01_CM, "
                         f"RegDB_CM): keypoints files belong to their dataset folders")
    folder = os.path.abspath(dataset.dataset_root)
    images = {}
    for path, _, _, modality in list(dataset.train) + list(dataset.query) + list(dataset.gallery):
        key = relative_key(path, folder)
        if key.startswith("../"):
            raise InputError(f"image {path} is outside the dataset folder {folder}")
        images.setdefault(key, (os.path.abspath(path), modality))
    return DatasetImages(name, folder, dict(sorted(images.items())))


def datasets_of(config_file=None, opts=(), name=None, root=None):
    """The :class:`DatasetImages` of a config's ``DATASETS.NAMES`` and ``TESTS`` (each once; ``opts`` are
    ``KEY VALUE`` overrides), or of the one dataset ``name`` under ``root`` (default: ``DATASETS.ROOT``'s)."""
    if name is not None:
        cfg = load_config()
        if root is not None:
            cfg.DATASETS.ROOT = root
        return [dataset_images(cfg, name)]
    cfg = load_config(config_file, opts)
    names = dict.fromkeys(list(cfg.DATASETS.NAMES) + list(cfg.DATASETS.TESTS))
    return [dataset_images(cfg, dataset) for dataset in names]
