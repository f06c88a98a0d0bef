"""RegDB read from its released layout.

``RegDB/idx/{train,test}_{visible,thermal}_{trial}.txt`` for trials 1..10, each line
``relative/path label``; paths are relative to the RegDB folder. One model is trained per trial:
``DATASETS.REGDB_TRIAL`` picks the split. Test: visible test images are the queries and thermal
test images the gallery; the evaluator scores both directions.
"""

import os

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from ...evaluation.sysu_protocol import regdb_split
from .modality import IR, RGB, dataset_folder

MODALITY_CAMID = {RGB: 1, IR: 2}  # RegDB has one visible and one thermal camera
MODALITY_NAME = {RGB: "visible", IR: "thermal"}


@DATASET_REGISTRY.register()
class RegDB_CM(ImageDataset):
    """RegDB visible-thermal re-identification, one of its ten train/test trials."""

    dataset_dir = "RegDB"
    dataset_name = "regdb"

    def __init__(self, root="datasets", trial=1, **kwargs):
        if trial not in range(1, 11):
            raise ValueError(f"DATASETS.REGDB_TRIAL must be in 1..10, got {trial}")
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
        list_file = os.path.join(self.dataset_root, "idx", f"{split}_{MODALITY_NAME[modality]}_{self.trial}.txt")
        if not items:
            raise ValueError(f"{list_file} lists no image")
        missing = [img for img, _ in items if not os.path.isfile(img)]
        if missing:
            raise FileNotFoundError(f"RegDB image listed in {list_file} not found: {missing[0]}"
                                    + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        return items
