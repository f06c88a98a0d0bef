"""SYSU-MM01 read from its released layout.

``SYSU-MM01/cam{1..6}/{pid:04d}/{img:04d}.jpg``; RGB cameras 1, 2, 4, 5, near-IR cameras 3, 6;
split lists ``SYSU-MM01/exp/{train,val,test}_id.txt`` (comma-separated ids).
Training set: train + val ids, both modalities (the community protocol, 395 ids).
Test set: queries are all IR images of the test ids; the "gallery" is every RGB image of the test
ids, from which :class:`~g2da_plugin.evaluation.CrossModalityEvaluator` draws the protocol's random
galleries (:func:`~g2da_plugin.evaluation.sysu_gallery`).
"""

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.data.datasets.bases import ImageDataset

from ...evaluation.sysu_protocol import SYSU_IR_CAMERAS, SYSU_RGB_CAMERAS, read_sysu_ids, sysu_images, sysu_query
from .modality import IR, RGB, dataset_folder

ALL_CAMERAS = (1, 2, 3, 4, 5, 6)


@DATASET_REGISTRY.register()
class SYSUMM01_CM(ImageDataset):
    """SYSU-MM01 for RGB-IR cross-modality re-identification (not fastreid's RGB-only ``SYSU_mm``)."""

    dataset_dir = "SYSU-MM01"
    dataset_name = "sysumm01"

    def __init__(self, root="datasets", **kwargs):
        self.root = root
        self.dataset_root = dataset_folder(root, self.dataset_dir)
        train_ids = sorted(read_sysu_ids(self.dataset_root, "train") + read_sysu_ids(self.dataset_root, "val"))
        train = [
            (path, f"{self.dataset_name}_{pid}", f"{self.dataset_name}_{cam}", IR if cam in SYSU_IR_CAMERAS else RGB)
            for path, pid, cam in sysu_images(self.dataset_root, train_ids, ALL_CAMERAS)
        ]
        query = [(path, pid, cam, IR) for path, pid, cam in sysu_query(self.dataset_root)]
        gallery = [(path, pid, cam, RGB) for path, pid, cam in
                   sysu_images(self.dataset_root, read_sysu_ids(self.dataset_root), SYSU_RGB_CAMERAS["all"])]
        for name, items in (("training", train), ("query", query), ("gallery", gallery)):
            if not items:
                raise FileNotFoundError(f"SYSU-MM01: no {name} images under {self.dataset_root}/cam*/<pid> "
                                        f"for the ids listed in {self.dataset_root}/exp")
        super().__init__(train, query, gallery, **kwargs)
