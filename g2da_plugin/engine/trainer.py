"""FastReID's DefaultTrainer with the plugin's loaders, evaluator and resumable data order."""

import json
import logging
import os
import time
from collections import OrderedDict

from fastreid.engine import DefaultTrainer
from fastreid.evaluation import inference_on_dataset
from fastreid.utils import comm

from ..data import build_cross_modality_test_loader, build_cross_modality_train_loader
from ..data.datasets import RegDB_CM
from ..evaluation import CrossModalityEvaluator
from .checkpoint import AtomicCheckpointer, atomic_write

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"


def require_local_pretrain_weights(cfg):
    """Refuse ``MODEL.BACKBONE.PRETRAIN`` without a local ``PRETRAIN_PATH`` file.

    FastReID's own backbones download ImageNet weights when the path is empty and fail with a bare
    "No such file" when it is wrong; this names the key and the path instead, before any backbone
    is built, for every backbone.
    """
    bb = cfg.MODEL.BACKBONE
    if bb.PRETRAIN and not os.path.isfile(bb.PRETRAIN_PATH):
        raise FileNotFoundError(
            f"MODEL.BACKBONE.PRETRAIN is True but MODEL.BACKBONE.PRETRAIN_PATH={bb.PRETRAIN_PATH!r} is not a "
            f"file (looked for {os.path.abspath(bb.PRETRAIN_PATH)}): expected the ImageNet weights of "
            f"{bb.NAME} (MODEL.BACKBONE.DEPTH {bb.DEPTH}) there; nothing is downloaded. Set "
            f"MODEL.BACKBONE.PRETRAIN_PATH to the file, or MODEL.BACKBONE.PRETRAIN False for random init")


class G2DATrainer(DefaultTrainer):
    """Overrides only what cross-modality training changes: loaders, evaluator, resume position,
    a crash-safe checkpointer, local-only ImageNet weights, and the final results written to
    ``OUTPUT_DIR/results.json`` (FastReID's JSONWriter drops the last evaluation's scalars).

    ``config_file``: the config the run was made from, recorded in ``results.json``.
    """

    def __init__(self, cfg, config_file=None):
        super().__init__(cfg)
        self.config_file = config_file
        # DefaultTrainer builds its Checkpointer inline; the hooks share this very object.
        self.checkpointer.__class__ = AtomicCheckpointer

    @classmethod
    def build_model(cls, cfg):
        require_local_pretrain_weights(cfg)
        return super().build_model(cfg)

    def train(self):
        start = time.perf_counter()
        results = super().train()
        if comm.is_main_process():
            self.write_results(results, time.perf_counter() - start)
        return results

    def write_results(self, results, train_time_s):
        """Write ``OUTPUT_DIR/results.json`` atomically: the final evaluation by test dataset, and how
        the run was made. ``train_time_s`` is the wall time of :meth:`train` in this process
        (iterations, periodic evaluations, checkpoints); a resumed run (``start_epoch`` > 0) counts
        only its own part."""
        tests = list(self.cfg.DATASETS.TESTS)
        by_dataset = results if len(tests) > 1 else {tests[0]: results}
        payload = {
            "config_file": self.config_file,
            "output_dir": self.cfg.OUTPUT_DIR,
            "datasets": tests,
            "dataset_root": self.cfg.DATASETS.ROOT,
            "regdb_trial": self.cfg.DATASETS.REGDB_TRIAL,
            "iteration": self.iter,
            "start_epoch": self.start_epoch,
            "max_epoch": self.max_epoch,
            "train_time_s": train_time_s,
            "results": {name: {k: float(v) for k, v in scores.items()} for name, scores in by_dataset.items()},
        }
        path = os.path.join(self.cfg.OUTPUT_DIR, RESULTS_FILE)
        atomic_write(path, lambda f: f.write(json.dumps(payload, indent=2).encode()))
        logger.info("Final results written to %s", path)

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
