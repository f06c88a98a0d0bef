"""SYSU-MM01 read from its released layout.

``SYSU-MM01/cam{1..6}/{pid:04d}/{img:04d}.jpg``; RGB cameras 1, 2, 4, 5, near-IR cameras 3, 6;
split lists ``SYSU-MM01/exp/{train,val,test}_id.txt`` (comma-separated ids).
Training set: train + val ids, both modalities (the community protocol, 395 ids).
Test set: queries are all IR images of the test ids; the "gallery" is every RGB image of the test
ids, from which :class:`~g2da_plugin.evaluation.CrossModalityEvaluator` draws the protocol's random
galleries (:func:`~g2da_plugin.evaluation.sysu_gallery`).
"""

import os
import re

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from ...utils.errors import InputError, MissingInputError
from .modality import IR, RGB, dataset_folder

__all__ = ["SYSUMM01_CM", "SYSU_RGB_CAMERAS", "SYSU_IR_CAMERAS", "SYSU_CAMERAS", "read_sysu_ids", "sysu_images",
           "sysu_identity_folders", "sorted_listing"]

#: RGB gallery cameras per search mode, in the order the community loop visits them.
SYSU_RGB_CAMERAS = {"all": (1, 2, 4, 5), "indoor": (1, 2)}
#: Infrared query cameras (the same for both search modes).
SYSU_IR_CAMERAS = (3, 6)
SYSU_CAMERAS = (1, 2, 3, 4, 5, 6)


def sysu_modality(camera):
    """:data:`IR` for cameras 3 and 6, else :data:`RGB`."""
    return IR if camera in SYSU_IR_CAMERAS else RGB


@DATASET_REGISTRY.register()
class SYSUMM01_CM(ImageDataset):
    """SYSU-MM01 for RGB-IR cross-modality re-identification (not fastreid's RGB-only ``SYSU_mm``)."""

    dataset_dir = "SYSU-MM01"
    dataset_name = "sysumm01"
    #: the evaluation protocol of its test set (:class:`~g2da_plugin.evaluation.CrossModalityEvaluator`)
    protocol = "sysu"

    def __init__(self, root="datasets", **kwargs):
        self.root = root
        self.dataset_root = dataset_folder(root, self.dataset_dir)
        train_ids = sorted(read_sysu_ids(self.dataset_root, "train") + read_sysu_ids(self.dataset_root, "val"))
        train = [
            (path, f"{self.dataset_name}_{pid}", f"{self.dataset_name}_{cam}", sysu_modality(cam))
            for path, pid, cam in sysu_images(self.dataset_root, train_ids, SYSU_CAMERAS)
        ]
        test_ids = read_sysu_ids(self.dataset_root)
        query = [(path, pid, cam, IR) for path, pid, cam in sysu_images(self.dataset_root, test_ids, SYSU_IR_CAMERAS)]
        gallery = [(path, pid, cam, RGB) for path, pid, cam in
                   sysu_images(self.dataset_root, test_ids, SYSU_RGB_CAMERAS["all"])]
        for name, items in (("training", train), ("query", query), ("gallery", gallery)):
            if not items:
                raise MissingInputError(f"SYSU-MM01: no {name} images under {self.dataset_root}/cam*/<pid> "
                                        f"for the ids listed in {self.dataset_root}/exp")
        super().__init__(train, query, gallery, **kwargs)


def sysu_images(root, ids, cameras):
    """Every image of ``ids`` under ``cameras``: ``[(img_path, pid, camid)]``, in the community
    order (identities as given, cameras as given, file names sorted)."""
    return [
        (os.path.join(folder, name), pid, cam)
        for pid, cam, folder in sysu_identity_folders(root, cameras, ids)
        for name in sorted_listing(folder)
    ]


def read_sysu_ids(root, split="test"):
    """Sorted identities from ``root/exp/{split}_id.txt`` (split: train, val or test).

    The release has one comma-separated line; commas and any whitespace (several lines) are
    accepted. ``sorted`` of ints equals the community's sort of ``"%04d"`` strings.
    """
    if not os.path.isdir(root):
        raise MissingInputError(f"SYSU-MM01 root folder not found: {root}")
    id_file = os.path.join(root, "exp", f"{split}_id.txt")
    if not os.path.isfile(id_file):
        raise MissingInputError(f"SYSU-MM01 {split} identity list not found: {id_file}")
    with open(id_file, encoding="utf-8") as handle:
        tokens = [t for t in re.split(r"[,\s]+", handle.read()) if t]
    try:
        ids = [int(t) for t in tokens]
    except ValueError:
        raise InputError(f"{id_file}: expected comma-separated integers, got {tokens}") from None
    if not ids:
        raise InputError(f"{id_file} lists no identity")
    if len(set(ids)) != len(ids):
        raise InputError(f"{id_file} lists an identity more than once")
    return sorted(ids)


def sysu_identity_folders(root, cameras, ids):
    """Yield ``(pid, cam, folder)`` for existing ``cam{c}/{pid:04d}`` folders, community order."""
    for pid in ids:
        for cam in cameras:
            folder = os.path.join(root, f"cam{cam}", f"{pid:04d}")
            if os.path.isdir(folder):  # not every identity is seen by every camera
                yield pid, cam, folder


def sorted_listing(folder):
    """Every entry of ``folder``, sorted."""
    # Every entry, as the community code's os.listdir: a filter could change the draw.
    return sorted(os.listdir(folder))
