"""FastReID's DefaultTrainer with the plugin's loaders, evaluator, crash-safe checkpoints and resumable data order."""

import json
import logging
import os
import time
from collections import OrderedDict

import torch

from fastreid.data.datasets import DATASET_REGISTRY
from fastreid.engine import DefaultTrainer
from fastreid.evaluation import inference_on_dataset
from fastreid.utils import comm

from ..data import build_cross_modality_test_loader, build_cross_modality_train_loader
from ..data.datasets.modality import is_integer
from ..evaluation import CrossModalityEvaluator
from ..evaluation.postprocess import PostProcess
from ..modeling.backbones.pretrain import require_pretrain_file
from ..utils.errors import TRACEBACK_VARIABLE, InputError, input_error_message
from ..utils.file_io import atomic_write_text
from .checkpoint import SafeCheckpointer
from .optimizer import build_optimizer
from .train_loop import CrossModalityStepTrainer, autocast_dtype

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
#: FastReID's DefaultTrainer writes its events every 200 iterations (and after each epoch).
WRITER_PERIOD = 200


def schedule_cfg(cfg, iters_per_epoch):
    """``cfg`` with its schedule in FastReID's terms for an epoch of ``iters_per_epoch``: the warm-up in
    iterations (``SOLVER.WARMUP_EPOCHS`` x the epoch when set), and, with ``SOLVER.STEPS_AFTER_WARMUP
    False``, ``SOLVER.STEPS`` shifted back by the epochs that end before FastReID's ``LRScheduler`` hook
    first steps ``MultiStepLR`` (it does at an epoch's end once the warm-up and ``SOLVER.DELAY_EPOCHS``
    are over), so that each step is the first epoch (from 0) at the decayed rate."""
    solver = cfg.SOLVER
    warmup_iters = solver.WARMUP_EPOCHS * iters_per_epoch if solver.WARMUP_EPOCHS > 0 else solver.WARMUP_ITERS
    steps = list(solver.STEPS)
    if solver.SCHED == "MultiStepLR" and not solver.STEPS_AFTER_WARMUP:
        # the hook sees the epoch's end as iteration (e + 1) x epoch + 1 (the loop has counted its last step)
        skipped = max((warmup_iters - 1) // iters_per_epoch, solver.DELAY_EPOCHS, 0)
        early = [step for step in steps if step <= skipped]
        if early:
            raise InputError(f"SOLVER.STEPS {steps}: epoch(s) {early} decay inside the warm-up ({warmup_iters} "
                             f"iterations, {iters_per_epoch} an epoch); use steps after epoch {skipped}")
        steps = [step - skipped for step in steps]
    cfg = cfg.clone()
    cfg.defrost()
    cfg.SOLVER.WARMUP_ITERS, cfg.SOLVER.STEPS = warmup_iters, steps
    return cfg


def check_precise_bn(cfg):
    """FastReID's PreciseBN hook (``TEST.PRECISE_BN``, kept by :class:`G2DATrainer`) runs the training loader
    on ``TEST.PRECISE_BN.DATASET``: stop with one line when that is not a cross-modality dataset
    (FastReID's default, Market1501, is not), before its loader is built."""
    if not cfg.TEST.PRECISE_BN.ENABLED:
        return
    name = cfg.TEST.PRECISE_BN.DATASET
    try:
        cross_modality = hasattr(DATASET_REGISTRY.get(name), "protocol")
    except KeyError:
        cross_modality = False
    if not cross_modality:
        raise InputError(f"TEST.PRECISE_BN.DATASET {name!r} is not a cross-modality dataset: PreciseBN runs the "
                         f"cross-modality training loader on it; name one (e.g. SYSUMM01_CM) or set "
                         f"TEST.PRECISE_BN.ENABLED False")


class _InputErrorsWithoutTraceback(logging.Filter):
    """FastReID logs the traceback of whatever ends a training loop; an input error ends it with its
    one line instead (``G2DA_TRACEBACK=1`` keeps the traceback)."""

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        return error is None or input_error_message(error) is None or bool(os.environ.get(TRACEBACK_VARIABLE))


logging.getLogger("fastreid.engine.train_loop").addFilter(_InputErrorsWithoutTraceback())


class G2DATrainer(DefaultTrainer):
    """Overrides only what cross-modality training changes: loaders, evaluator, resume position,
    a crash-safe checkpointer, local-only ImageNet weights, and the final results written to
    ``OUTPUT_DIR/results.json`` (FastReID's JSONWriter drops the last evaluation's scalars).

    ``config_file``: the config the run was made from, recorded in ``results.json``.
    """

    def __init__(self, cfg, config_file=None):
        self.amp_dtype = autocast_dtype(cfg, cfg.MODEL.DEVICE)
        # DefaultTrainer would build FastReID's CUDA-only AMPTrainer; the step trainer built in
        # build_hooks takes the precision itself
        fastreid_cfg = cfg.clone()
        fastreid_cfg.defrost()
        fastreid_cfg.SOLVER.AMP.ENABLED = False
        super().__init__(fastreid_cfg)
        frozen = self.cfg.is_frozen()
        self.cfg.defrost()
        self.cfg.SOLVER.AMP.ENABLED = cfg.SOLVER.AMP.ENABLED
        if frozen:
            self.cfg.freeze()
        self.config_file = config_file
        for name in cfg.DATASETS.TESTS:  # a bad test set or TEST key stops the run now, not after the first epochs
            self.build_evaluator(cfg, name)

    @classmethod
    def build_model(cls, cfg):
        require_pretrain_file(cfg)  # before any backbone is built: FastReID's would download
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = bool(cfg.TF32)
        model = super().build_model(cfg)
        if cfg.MODEL.CHANNELS_LAST and torch.device(cfg.MODEL.DEVICE).type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        return model

    @classmethod
    def build_optimizer(cls, cfg, model):
        """FastReID's optimizer with merged parameter groups and a foreach or fused step."""
        return build_optimizer(cfg, model)

    @classmethod
    def build_checkpointer(cls, cfg, model, **checkpointables):
        """FastReID's checkpointer, crash-safe, strict and safe (:class:`SafeCheckpointer`)."""
        if not is_integer(cfg.SOLVER.CHECKPOINT_KEEP) or cfg.SOLVER.CHECKPOINT_KEEP < 0:
            raise InputError(f"SOLVER.CHECKPOINT_KEEP must be an integer >= 0 (0 keeps every checkpoint), "
                             f"got {cfg.SOLVER.CHECKPOINT_KEEP!r}")
        return SafeCheckpointer(model, cfg.OUTPUT_DIR, save_to_disk=comm.is_main_process(),
                                strict=cfg.MODEL.WEIGHTS_STRICT, trusted=cfg.MODEL.WEIGHTS_TRUSTED,
                                keep=cfg.SOLVER.CHECKPOINT_KEEP, **checkpointables)

    @classmethod
    def build_lr_scheduler(cls, cfg, optimizer, iters_per_epoch):
        """FastReID's schedulers for :func:`schedule_cfg`'s schedule."""
        return super().build_lr_scheduler(schedule_cfg(cfg, iters_per_epoch), optimizer, iters_per_epoch)

    def build_hooks(self):
        check_precise_bn(self.cfg)
        # DefaultTrainer counts an epoch as training images / batch and its warm-up in SOLVER.WARMUP_ITERS;
        # the epoch is the sampler's (SOLVER.EPOCH_LENGTH), and the schedule follows it.
        self.iters_per_epoch = self.data_loader.iters_per_epoch
        self.max_iter = self.max_epoch * self.iters_per_epoch
        self.warmup_iters = schedule_cfg(self.cfg, self.iters_per_epoch).SOLVER.WARMUP_ITERS
        self.scheduler = self.build_lr_scheduler(self.cfg, self.optimizer, self.iters_per_epoch)
        # DefaultTrainer builds its step trainer and checkpointer inline, just before its hooks: both
        # become ours here, and the checkpointer also keeps the float16 loss scaler's state.
        old = self._trainer
        self._trainer = CrossModalityStepTrainer(
            old.model, old.data_loader, old.optimizer, old.param_wrapper,
            dtype=self.amp_dtype, flush_period=WRITER_PERIOD,
            iters_per_epoch=self.iters_per_epoch)
        scaler = self._trainer.grad_scaler
        self.checkpointer = self.build_checkpointer(self.cfg, self.model, optimizer=self.optimizer, **self.scheduler,
                                                    **({"grad_scaler": scaler} if scaler is not None else {}))
        return super().build_hooks()

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
            "sysu_gallery": self.cfg.TEST.SYSU.GALLERY,  # the convention of the SYSU-MM01 numbers
            "postprocess": PostProcess.from_cfg(self.cfg).labels,  # AQE / re-ranking behind the numbers; [] for none
            "iteration": self.iter,
            "start_epoch": self.start_epoch,
            "max_epoch": self.max_epoch,
            "train_time_s": train_time_s,
            "results": {name: {k: float(v) for k, v in scores.items()} for name, scores in by_dataset.items()},
        }
        path = os.path.join(self.cfg.OUTPUT_DIR, RESULTS_FILE)
        atomic_write_text(path, json.dumps(payload, indent=2))
        logger.info("Final results written to %s", path)

    @classmethod
    def build_train_loader(cls, cfg):
        return build_cross_modality_train_loader(cfg)

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_dir=None):
        loader, _, dataset = build_cross_modality_test_loader(cfg, dataset_name)
        return loader, CrossModalityEvaluator(cfg, dataset.protocol, dataset_root=dataset.dataset_root)

    def resume_or_load(self, resume=True):
        super().resume_or_load(resume=resume)
        # The resumed run sees the batches the uninterrupted one would have seen from this epoch on.
        self.data_loader.set_epoch(self.start_epoch)

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
