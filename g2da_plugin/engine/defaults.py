"""Config setup shared by the tools: plugin keys, device choice and seeding."""

import logging
import os

import torch

from fastreid.config import get_cfg
from fastreid.engine import default_setup
from fastreid.utils import comm
from fastreid.utils.checkpoint import Checkpointer
from fastreid.utils.env import seed_all_rng
from fastreid.utils.logger import setup_logger

from ..config import add_g2da_config
from .trainer import G2DATrainer


def setup_cfg(args):
    """Config from ``--config-file`` and trailing ``KEY VALUE`` overrides, frozen.

    A CUDA device on a machine without CUDA falls back to the CPU (logged); ``SEED: -1`` becomes a
    drawn seed, recorded in the saved config so the run can be repeated.
    """
    cfg = get_cfg()
    add_g2da_config(cfg)
    if args.config_file:
        cfg.merge_from_file(args.config_file)
    cfg.merge_from_list(args.opts)
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
    file is refused instead.
    """
    if not os.path.isfile(cfg.MODEL.WEIGHTS):
        raise FileNotFoundError(f"MODEL.WEIGHTS must name a trained checkpoint; not found: {cfg.MODEL.WEIGHTS!r}")
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.BACKBONE.PRETRAIN = False
    model = G2DATrainer.build_model(cfg)
    Checkpointer(model).load(cfg.MODEL.WEIGHTS)
    return model
