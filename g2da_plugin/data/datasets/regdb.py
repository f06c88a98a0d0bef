"""RegDB read from its released layout.

``RegDB/idx/{train,test}_{visible,thermal}_{trial}.txt`` for trials 1..10, each line
``relative/path label``; paths are relative to the RegDB folder. One model is trained per trial:
``DATASETS.REGDB_TRIAL`` picks the split. Test: visible test images are the queries and thermal
test images the gallery; the evaluator scores both directions.
"""

import operator
import os

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from ...utils.errors import InputError
from .modality import IR, RGB, check_listed_images, dataset_folder, is_integer, read_image_list

REGDB_TRIALS = range(1, 11)
REGDB_SPLITS = ("train", "test")
MODALITY_CAMID = {RGB: 1, IR: 2}  # RegDB has one visible and one thermal camera
MODALITY_NAME = {RGB: "visible", IR: "thermal"}


@DATASET_REGISTRY.register()
class RegDB_CM(ImageDataset):
    """RegDB visible-thermal re-identification, one of its ten train/test trials."""

    dataset_dir = "RegDB"
    dataset_name = "regdb"
    protocol = "regdb"

    def __init__(self, root="datasets", trial=1, **kwargs):
        if not is_trial(trial):
            raise InputError(f"DATASETS.REGDB_TRIAL must be an integer in 1..10, got {trial!r}")
        self.root = root
        self.trial = trial
        self.dataset_root = dataset_folder(root, self.dataset_dir)
        train = [
            (img, f"{self.dataset_name}_{label}", f"{self.dataset_name}_{MODALITY_CAMID[m]}", m)
            for m in (RGB, IR) for img, label in self._split("train", m)
        ]
        query = [(img, label, MODALITY_CAMID[RGB], RGB) for img, label in self._split("test", RGB)]
        gallery = [(img, label, MODALITY_CAMID[IR], IR) for img, label in self._split("test", IR)]
        super().__init__(train, query, gallery, **kwargs)

    def _split(self, split, modality):
        items = regdb_split(self.dataset_root, self.trial, split, MODALITY_NAME[modality])
        check_listed_images(items, regdb_list_file(self.dataset_root, self.trial, split, MODALITY_NAME[modality]),
                            "RegDB")
        return items


def regdb_split(root, trial, split="test", modality="visible"):
    """One RegDB list: ``[(img_path, label), ...]`` from ``idx/{split}_{modality}_{trial}.txt``.

    Each non-blank line is ``relative/path label``; paths are joined with ``root``, in file
    order.

    Raises:
        ValueError: ``trial`` not in 1..10, unknown ``split`` / ``modality``, or a malformed
            line (the message names file and line number).
        FileNotFoundError: the list file is missing (the message names it).
    """
    if not is_trial(trial):
        raise InputError(f"trial must be an integer in 1..10, got {trial!r}")
    if split not in REGDB_SPLITS:
        raise InputError(f"split must be one of {REGDB_SPLITS}, got {split!r}")
    if modality not in tuple(MODALITY_NAME.values()):
        raise InputError(f"modality must be one of {tuple(MODALITY_NAME.values())}, got {modality!r}")
    return read_image_list(regdb_list_file(root, trial, split, modality), root, "RegDB")


def regdb_list_file(root, trial, split, modality):
    return os.path.join(root, "idx", f"{split}_{modality}_{trial}.txt")


def is_trial(value):
    """True for an int or numpy integer in 1..10 (not a bool, float or string)."""
    return is_integer(value) and operator.index(value) in REGDB_TRIALS
