"""FastReID's optimizer with one parameter group per distinct hyper-parameter set, stepped by torch's
multi-tensor (foreach) or, on CUDA, fused kernels.

FastReID's ``build_optimizer`` gives every parameter tensor its own group (173 for a ResNet-50
model), and torch steps each group with its own kernels: about 700 launches a step. The groups
FastReID builds differ only in a few (lr, weight decay, freeze status) values; merged, the step is a
handful of kernels per group, with the same update.
"""

import torch
from fastreid.solver.build import get_default_optimizer_params, maybe_add_freeze_layer, maybe_add_gradient_clipping

from ..utils.errors import InputError

#: torch optimizers with a fused CUDA step (the rest get foreach).
FUSED_ON_CUDA = ("SGD", "Adam", "AdamW")


def merge_param_groups(groups):
    """FastReID's per-tensor groups merged by their settings (everything but ``params``), in the order
    each setting first appears."""
    merged = {}
    for group in groups:
        settings = {key: value for key, value in group.items() if key != "params"}
        key = tuple(sorted(settings.items()))
        merged.setdefault(key, {**settings, "params": []})["params"].extend(group["params"])
    return list(merged.values())


def build_optimizer(cfg, model):
    """``(optimizer, None)`` as FastReID's ``build_optimizer(cfg, model, contiguous=False)`` returns
    it (same settings per parameter, same freeze and clipping wrappers), with merged groups."""
    solver = cfg.SOLVER
    groups = merge_param_groups(get_default_optimizer_params(
        model, base_lr=solver.BASE_LR, weight_decay=solver.WEIGHT_DECAY, weight_decay_norm=solver.WEIGHT_DECAY_NORM,
        bias_lr_factor=solver.BIAS_LR_FACTOR, heads_lr_factor=solver.HEADS_LR_FACTOR,
        weight_decay_bias=solver.WEIGHT_DECAY_BIAS,
        freeze_layers=cfg.MODEL.FREEZE_LAYERS if solver.FREEZE_ITERS > 0 else []))
    if not hasattr(torch.optim, solver.OPT):
        raise InputError(f"SOLVER.OPT={solver.OPT!r} is not a torch.optim optimizer")
    on_cuda = all(p.is_cuda for group in groups for p in group["params"])
    kwargs = {"fused": True} if on_cuda and solver.OPT in FUSED_ON_CUDA else {"foreach": True}
    if solver.OPT == "SGD":
        kwargs.update(momentum=solver.MOMENTUM, nesterov=solver.NESTEROV)
    optimizer_class = maybe_add_freeze_layer(cfg, maybe_add_gradient_clipping(cfg, getattr(torch.optim, solver.OPT)))
    return optimizer_class(groups, **kwargs), None
