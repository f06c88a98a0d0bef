"""FastReID's DefaultTrainer with the plugin's loaders, evaluator and resumable data order."""

import logging
from collections import OrderedDict

from fastreid.engine import DefaultTrainer
from fastreid.evaluation import inference_on_dataset
from fastreid.utils import comm

from ..data import build_cross_modality_test_loader, build_cross_modality_train_loader
from ..data.datasets import RegDB_CM
from ..evaluation import CrossModalityEvaluator
from .checkpoint import AtomicCheckpointer

logger = logging.getLogger(__name__)


class G2DATrainer(DefaultTrainer):
    """Overrides only what cross-modality training changes: loaders, evaluator, resume position,
    and a crash-safe checkpointer."""

    def __init__(self, cfg):
        super().__init__(cfg)
        # DefaultTrainer builds its Checkpointer inline; the hooks share this very object.
        self.checkpointer.__class__ = AtomicCheckpointer

    @classmethod
    def build_train_loader(cls, cfg):
        return build_cross_modality_train_loader(cfg)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_dir=None):
        loader, _, dataset = build_cross_modality_test_loader(cfg, dataset_name)
        protocol = "regdb" if isinstance(dataset, RegDB_CM) else "sysu"
        return loader, CrossModalityEvaluator(cfg, protocol, dataset_root=dataset.dataset_root)

    def resume_or_load(self, resume=True):
        super().resume_or_load(resume=resume)
        # Restart the sampler's identity order at the resumed epoch, so the resumed run sees the
        # batches the uninterrupted one would have seen.
        if self.start_epoch:
            self.data_loader.batch_sampler.sampler.set_epoch(self.start_epoch)
            self._trainer._data_loader_iter = iter(self.data_loader)

    @classmethod
    def test(cls, cfg, model):
        """Evaluate on every ``DATASETS.TESTS`` entry; the evaluator logs its own table."""
        results = OrderedDict()
        for dataset_name in cfg.DATASETS.TESTS:
            loader, evaluator = cls.build_evaluator(cfg, dataset_name)
            results[dataset_name] = inference_on_dataset(model, loader, evaluator, flip_test=cfg.TEST.FLIP.ENABLED)
        if comm.is_main_process() and len(results) == 1:
            return next(iter(results.values()))
        return results
