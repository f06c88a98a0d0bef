"""The plug-in's loss registry.

A loss is an ``nn.Module`` registered in :data:`G2DA_LOSS_REGISTRY` under its class name, built as
``LossCls(cfg)`` and called as ``loss(outputs, batched_inputs) -> dict[str, Tensor]`` where
``outputs`` is the dict the meta-architecture built (``extract()``'s outputs, the head's training
outputs, ``targets`` and ``modalities``, all on the model's device) and each returned tensor is a
scalar already multiplied by the loss's own scale. The meta-architecture builds the losses named in
``cfg.MODEL.LOSSES.NAME``; adding a loss = registering a class + naming it in the config.
"""

import logging

from torch import nn

from fastreid.utils.registry import Registry
from ...utils.errors import InputError

logger = logging.getLogger(__name__)

G2DA_LOSS_REGISTRY = Registry("G2DA_LOSS")
G2DA_LOSS_REGISTRY.__doc__ = """
Registry for g2da losses. ``obj(cfg)`` returns an ``nn.Module`` whose
``forward(outputs: dict, batched_inputs: dict)`` returns a dict of named, weighted scalar losses.
"""


def registered_loss_names():
    """Sorted names in :data:`G2DA_LOSS_REGISTRY`."""
    return sorted(G2DA_LOSS_REGISTRY._obj_map)


def build_losses(cfg) -> nn.ModuleDict:
    """Build every loss named in ``cfg.MODEL.LOSSES.NAME``, in that order, as an ``nn.ModuleDict``.

    An unknown name raises KeyError listing the registered ones; a repeated name raises ValueError.
    """
    names = cfg.MODEL.LOSSES.NAME
    if isinstance(names, str):
        names = (names,)
    names = list(names)
    valid = registered_loss_names()
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise InputError(f"MODEL.LOSSES.NAME has unknown loss(es) {unknown}; "
                       f"losses registered in G2DA_LOSS_REGISTRY: {valid}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"MODEL.LOSSES.NAME lists {duplicates} more than once: {names}")
    if not names:
        logger.warning("MODEL.LOSSES.NAME is empty: the model has no training loss")
    return nn.ModuleDict([(n, G2DA_LOSS_REGISTRY.get(n)(cfg)) for n in names])
