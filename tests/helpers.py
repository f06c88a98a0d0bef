"""What several tests share: the one config builder, tiny model settings, tiny training runs."""

import os

from fastreid.config import get_cfg

import g2da_plugin  # noqa: F401  (fastreid compatibility fixes, registries)
from g2da_plugin.config import add_g2da_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = os.path.join(ROOT, "projects", "G2DA", "configs")

#: A two-stream ResNet-18 baseline B, from random weights, on the CPU.
TINY_MODEL = {
    "MODEL.META_ARCHITECTURE": "CrossModalityBaseline",
    "MODEL.DEVICE": "cpu",
    "MODEL.BACKBONE.NAME": "build_two_stream_resnet_backbone",
    "MODEL.BACKBONE.DEPTH": "18x",
    "MODEL.BACKBONE.FEAT_DIM": 512,
    "MODEL.BACKBONE.PRETRAIN": False,
    "MODEL.HEADS.NUM_CLASSES": 4,
    "MODEL.HEADS.WITH_BNNECK": True,
    "MODEL.HEADS.NECK_FEAT": "before",
    "MODEL.LOSSES.NAME": ("CrossEntropyLoss", "CrossModalityTripletLoss"),
}

#: A few-second training run: 64x32 inputs, 2 ids x (2 + 2) per batch, no workers, 2 gallery draws.
TINY_TRAINING = {
    "MODEL.DEVICE": "cpu", "INPUT.SIZE_TRAIN": [64, 32], "INPUT.SIZE_TEST": [64, 32],
    "SOLVER.IMS_PER_BATCH": 8, "DATALOADER.NUM_INSTANCE": 2, "DATALOADER.NUM_WORKERS": 0,
    "SOLVER.WARMUP_ITERS": 2, "TEST.SYSU.TRIALS": 2, "TEST.IMS_PER_BATCH": 32, "SEED": 0,
}


def make_cfg(config_file=None, overrides=None, **keys):
    """FastReID's defaults + the plugin's keys, then ``config_file`` (a path, or a name in
    ``projects/G2DA/configs``), then ``overrides`` and ``keys`` ({dotted key: value}; a dict passed
    as ``overrides`` may hold dots, ``keys`` use ``__`` for them: ``MODEL__DEVICE="cpu"``)."""
    cfg = add_g2da_config(get_cfg())
    if config_file is not None:
        path = config_file if os.path.isfile(config_file) else os.path.join(CONFIGS, config_file)
        cfg.merge_from_file(path)
    values = dict(overrides or {})
    values.update({key.replace("__", "."): value for key, value in keys.items()})
    for key, value in values.items():
        node = cfg
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        if leaf not in node:
            raise KeyError(f"{key} is not a config key")
        node[leaf] = tuple(value) if isinstance(node[leaf], tuple) else value
    return cfg


def tiny_model_cfg(overrides=None, **keys):
    """:data:`TINY_MODEL` with ``overrides``, as :func:`make_cfg` takes them."""
    return make_cfg(overrides={**TINY_MODEL, **(overrides or {})}, **keys)


def command_line(values):
    """``{key: value}`` as train_net's trailing ``KEY VALUE`` arguments."""
    out = []
    for key, value in values.items():
        text = str(list(value)).replace(" ", "") if isinstance(value, (list, tuple)) else str(value)
        out += [key, text]
    return out


def table_rows(markdown):
    """The cells of a pipe table's body rows (header and separator dropped)."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]
