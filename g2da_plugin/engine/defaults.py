"""Config setup shared by the tools: plugin keys, device choice and seeding."""

import logging
import os

import torch

from fastreid.engine import default_setup
from fastreid.utils import comm
from fastreid.utils.env import seed_all_rng
from fastreid.utils.logger import setup_logger

from ..config import load_config
from ..utils.errors import MissingInputError
from .trainer import G2DATrainer


def setup_cfg(args):
    """Config from ``--config-file`` and trailing ``KEY VALUE`` overrides, frozen.

    A CUDA device on a machine without CUDA falls back to the CPU (logged); ``SEED: -1`` becomes a
    drawn seed, recorded in the saved config so the run can be repeated.
    """
    cfg = load_config(args.config_file, args.opts)
    if cfg.MODEL.DEVICE.startswith("cuda") and not torch.cuda.is_available():
        logging.getLogger(__name__).warning("MODEL.DEVICE=%s but CUDA is not available: using the CPU",
                                            cfg.MODEL.DEVICE)
        cfg.MODEL.DEVICE = "cpu"
    if cfg.SEED < 0:
        # One seed for all processes: the sampler's batches must agree across them.
        cfg.SEED = int(comm.shared_random_seed())
    cfg.freeze()
    return cfg


def seed_everything(cfg):
    """Seed Python, numpy and torch from ``cfg.SEED`` (offset by the process rank, so data-loading
    workers differ across processes while the run stays reproducible)."""
    seed_all_rng(cfg.SEED + comm.get_rank())


def setup(args):
    """FastReID's ``default_setup`` (logging, config dump), the plugin's own log (same file), seeding."""
    cfg = setup_cfg(args)
    default_setup(cfg, args)
    setup_logger(cfg.OUTPUT_DIR, distributed_rank=comm.get_rank(), name="g2da_plugin", abbrev_name="g2da")
    seed_everything(cfg)
    return cfg


def load_trained_model(cfg):
    """The model of ``cfg`` with the trained weights of ``MODEL.WEIGHTS`` (no ImageNet initialisation).

    FastReID would log "no checkpoint found" and go on with a randomly initialised model; a missing
    file is refused instead, and the file must hold every weight of the model
    (:class:`~g2da_plugin.engine.checkpoint.SafeCheckpointer`).
    """
    if not os.path.isfile(cfg.MODEL.WEIGHTS):
        raise MissingInputError(f"MODEL.WEIGHTS must name a trained checkpoint; not found: {cfg.MODEL.WEIGHTS!r}")
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.BACKBONE.PRETRAIN = False
    checkpointer = G2DATrainer.build_checkpointer(cfg, None)
    state = checkpointer.read(cfg.MODEL.WEIGHTS)["model"]
    if not cfg.MODEL.HEADS.NUM_CLASSES and "heads.weight" in state:
        # training sets it from the dataset (FastReID's auto_scale_hyperparams): take the checkpoint's
        cfg.MODEL.HEADS.NUM_CLASSES = int(state["heads.weight"].shape[0])
    checkpointer.model = G2DATrainer.build_model(cfg)
    checkpointer.load(cfg.MODEL.WEIGHTS, checkpointables=[])
    return checkpointer.model
