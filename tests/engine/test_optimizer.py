"""Merged parameter groups step every weight exactly as FastReID's one-group-per-tensor optimizer."""

import pytest
import torch
from fastreid.solver.build import build_optimizer as fastreid_build_optimizer

from g2da_plugin.engine.optimizer import build_optimizer, merge_param_groups
from g2da_plugin.modeling.meta_arch import CrossModalityBaseline

from ..helpers import tiny_model_cfg


def model_and_cfg(opt):
    cfg = tiny_model_cfg({"SOLVER.OPT": opt, "SOLVER.BASE_LR": 0.1, "SOLVER.HEADS_LR_FACTOR": 10.0,
                          "SOLVER.BIAS_LR_FACTOR": 2.0, "SOLVER.WEIGHT_DECAY": 5e-4,
                          "SOLVER.WEIGHT_DECAY_NORM": 1e-3, "SOLVER.MOMENTUM": 0.9})
    torch.manual_seed(0)
    return CrossModalityBaseline(cfg), cfg


def test_groups_are_the_distinct_settings():
    groups = [{"params": [1], "lr": 0.1, "weight_decay": 0.0}, {"params": [2], "lr": 1.0, "weight_decay": 0.0},
              {"params": [3], "lr": 0.1, "weight_decay": 0.0}]
    assert merge_param_groups(groups) == [{"params": [1, 3], "lr": 0.1, "weight_decay": 0.0},
                                          {"params": [2], "lr": 1.0, "weight_decay": 0.0}]


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_three_steps_update_every_weight_as_fastreid_does(opt):
    ours_model, cfg = model_and_cfg(opt)
    theirs_model, _ = model_and_cfg(opt)
    ours, _ = build_optimizer(cfg, ours_model)
    theirs, _ = fastreid_build_optimizer(cfg, theirs_model, contiguous=False)
    settings = {(g["lr"], g["weight_decay"]) for g in theirs.param_groups}
    assert len(ours.param_groups) == len(settings) < len(theirs.param_groups)
    assert all(g["foreach"] for g in ours.param_groups)
    for step in range(3):
        for model, optimizer in ((ours_model, ours), (theirs_model, theirs)):
            optimizer.zero_grad()
            for i, p in enumerate(model.parameters()):
                p.grad = torch.sin(torch.arange(p.numel(), dtype=torch.float32) + step + i).view_as(p)
            optimizer.step()
    for (name, mine), theirs_p in zip(ours_model.named_parameters(), theirs_model.parameters()):
        assert torch.allclose(mine, theirs_p, rtol=1e-6, atol=1e-7), name
