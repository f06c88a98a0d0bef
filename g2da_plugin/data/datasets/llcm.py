"""LLCM (Zhang and Wang, CVPR 2023) read from its released layout, as the authors' DEEN code reads it.

``LLCM/idx/train_vis.txt``, ``idx/train_nir.txt``: lines ``relative/path label``, paths relative to the
LLCM folder (713 training identities); ``LLCM/idx/test_id.txt``: the test identities, one comma-separated
line; test images in ``LLCM/test_vis/cam{1..9}/{pid:04d}/`` and ``LLCM/test_nir/cam{1,2,4..9}/{pid:04d}/``
(the release has no near-IR cam3). Training set: both lists. Test set: queries are every visible test
image, the "gallery" every near-IR one; :class:`~g2da_plugin.evaluation.CrossModalityEvaluator` scores both
directions, drawing the protocol's galleries from either side (:mod:`~g2da_plugin.evaluation.llcm_protocol`).
"""

import os
import re

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from ...utils.errors import InputError, MissingInputError
from .modality import IR, NAMES, RGB, check_listed_images, dataset_folder, read_image_list
from .sysu_mm01 import sysu_images

__all__ = ["LLCM_CM", "LLCM_TEST_FOLDERS", "LLCM_TEST_CAMERAS", "LLCM_TRAIN_LISTS", "read_llcm_test_ids",
           "read_llcm_train_list", "llcm_test_folder"]

#: Test image folders per modality, and the cameras each holds, in the order the DEEN code visits them.
LLCM_TEST_FOLDERS = {RGB: "test_vis", IR: "test_nir"}
LLCM_TEST_CAMERAS = {RGB: (1, 2, 3, 4, 5, 6, 7, 8, 9), IR: (1, 2, 4, 5, 6, 7, 8, 9)}
LLCM_TRAIN_LISTS = {RGB: "train_vis.txt", IR: "train_nir.txt"}


@DATASET_REGISTRY.register()
class LLCM_CM(ImageDataset):
    """LLCM visible / near-infrared re-identification (9 cameras, each filming in both modes)."""

    dataset_dir = "LLCM"
    dataset_name = "llcm"
    protocol = "llcm"

    def __init__(self, root="datasets", **kwargs):
        self.root = root
        self.dataset_root = dataset_folder(root, self.dataset_dir)
        # The lists name no camera (the file names do, in a form the DEEN code never reads): one camera id
        # per modality, which only FastReID's statistics see.
        train = [
            (path, f"{self.dataset_name}_{label}", f"{self.dataset_name}_{NAMES[m]}", m)
            for m in (RGB, IR) for path, label in read_llcm_train_list(self.dataset_root, m)
        ]
        test_ids = read_llcm_test_ids(self.dataset_root)
        query = self._test_images(RGB, test_ids)
        gallery = self._test_images(IR, test_ids)
        super().__init__(train, query, gallery, **kwargs)

    def _test_images(self, modality, ids):
        """Every test image of ``modality``: ``[(img_path, pid, camid, modality)]``, in the DEEN code's order
        (identities ascending, cameras ascending, file names sorted)."""
        folder = llcm_test_folder(self.dataset_root, modality)
        items = [(path, pid, cam, modality) for path, pid, cam in sysu_images(folder, ids, LLCM_TEST_CAMERAS[modality])]
        if not items:
            raise MissingInputError(f"LLCM: no test image under {folder}/cam*/<pid> for the identities of "
                                    f"{os.path.join(self.dataset_root, 'idx', 'test_id.txt')}")
        return items


def llcm_test_folder(root, modality):
    """``root/test_vis`` or ``root/test_nir``, or MissingInputError naming it."""
    folder = os.path.join(root, LLCM_TEST_FOLDERS[modality])
    if not os.path.isdir(folder):
        raise MissingInputError(f"LLCM test folder not found: {folder}")
    return folder


def read_llcm_test_ids(root):
    """Sorted identities of ``root/idx/test_id.txt`` (the release: one comma-separated line; commas and any
    whitespace are accepted). Sorting ints gives the DEEN code's order, a sort of ``"%04d"`` strings."""
    id_file = os.path.join(root, "idx", "test_id.txt")
    if not os.path.isfile(id_file):
        raise MissingInputError(f"LLCM test identity list not found: {id_file}")
    with open(id_file, encoding="utf-8") as handle:
        tokens = [t for t in re.split(r"[,\s]+", handle.read()) if t]
    if not tokens or not all(re.fullmatch(r"\d+", t) for t in tokens):
        raise InputError(f"{id_file}: expected comma-separated identities, got {' '.join(tokens)[:80]!r}")
    ids = [int(t) for t in tokens]
    if len(set(ids)) != len(ids):
        raise InputError(f"{id_file} lists an identity more than once")
    return sorted(ids)


def read_llcm_train_list(root, modality):
    """``[(img_path, label)]`` of ``root/idx/train_vis.txt`` or ``train_nir.txt``, in file order; every
    non-blank line is ``relative/path label`` and every listed image must exist."""
    list_file = os.path.join(root, "idx", LLCM_TRAIN_LISTS[modality])
    items = read_image_list(list_file, root, "LLCM")
    check_listed_images(items, list_file, "LLCM")
    return items
