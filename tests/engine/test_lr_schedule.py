"""The paper configs' learning rate, epoch by epoch, walked through FastReID's scheduler and hook:
a linear warm-up over the first 10 epochs (DDAG's), then the base rate, x0.1 from epoch 30, x0.01
from epoch 50 (epochs counted from 0, as DDAG's code does), 80 epochs, whatever an epoch's length."""

from types import SimpleNamespace

import pytest
import torch
from fastreid.engine.hooks import LRScheduler
from fastreid.utils.events import EventStorage

from g2da_plugin.data.build import iters_per_epoch
from g2da_plugin.engine.trainer import G2DATrainer, schedule_cfg
from g2da_plugin.utils.errors import InputError

from ..helpers import make_cfg


def epoch_start_lrs(cfg, per_epoch):
    """The learning rate at the first iteration of every epoch and at every warm-up iteration, as
    G2DATrainer sets up FastReID's schedulers and hook."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.SOLVER.BASE_LR)
    hook = LRScheduler(optimizer, G2DATrainer.build_lr_scheduler(cfg, optimizer, per_epoch))
    warmup_iters = schedule_cfg(cfg, per_epoch).SOLVER.WARMUP_ITERS
    hook.trainer = trainer = SimpleNamespace(iter=0, epoch=0, warmup_iters=warmup_iters,
                                             delay_epochs=cfg.SOLVER.DELAY_EPOCHS, grad_scaler=None)
    starts, warmup = [], []
    with EventStorage(0) as trainer.storage:
        for trainer.epoch in range(cfg.SOLVER.MAX_EPOCH):
            starts.append(optimizer.param_groups[0]["lr"])
            for _ in range(per_epoch):
                if trainer.iter < warmup_iters:
                    warmup.append(optimizer.param_groups[0]["lr"])
                hook.after_step()
                trainer.iter += 1
            hook.after_epoch()
    return starts, warmup


@pytest.mark.parametrize("config, per_epoch", [("sysu_G2DA.yml", 695), ("sysu_G2DA.yml", 533), ("regdb_G2DA.yml", 64)])
def test_every_epoch_has_the_papers_rate(config, per_epoch):
    cfg = make_cfg(config)
    base = cfg.SOLVER.BASE_LR
    assert (cfg.SOLVER.MAX_EPOCH, list(cfg.SOLVER.STEPS), cfg.SOLVER.WARMUP_EPOCHS) == (80, [30, 50], 10)
    starts, warmup = epoch_start_lrs(cfg, per_epoch)
    expected = [base * (1.0 if e < 30 else 0.1 if e < 50 else 0.01) for e in range(80)]
    assert starts[10:] == pytest.approx(expected[10:], rel=1e-9)
    # linear from WARMUP_FACTOR x base at iteration 0 to base after 10 epochs
    factor, length = cfg.SOLVER.WARMUP_FACTOR, 10 * per_epoch
    assert warmup == pytest.approx([base * (factor + (1 - factor) * i / length) for i in range(length)], rel=1e-9)


def test_fastreids_own_counting_is_kept_where_asked():
    # FastReID's configs (STEPS_AFTER_WARMUP True, WARMUP_ITERS): 2000 // 533 = 3 epochs end inside
    # the warm-up, so the first decay comes 3 epochs after epoch 30
    cfg = make_cfg("sysu_G2DA.yml", {"SOLVER.STEPS_AFTER_WARMUP": True, "SOLVER.WARMUP_EPOCHS": 0,
                                     "SOLVER.WARMUP_ITERS": 2000})
    starts, _ = epoch_start_lrs(cfg, 533)
    assert starts[32] == pytest.approx(cfg.SOLVER.BASE_LR) and starts[33] == pytest.approx(0.1 * cfg.SOLVER.BASE_LR)


def test_a_decay_inside_the_warm_up_is_one_clear_line():
    cfg = make_cfg("sysu_G2DA.yml", {"SOLVER.STEPS": [8, 50]})
    with pytest.raises(InputError, match=r"SOLVER.STEPS \[8, 50\]: epoch\(s\) \[8\] decay inside the warm-up"):
        G2DATrainer.build_lr_scheduler(cfg, torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), 533)


def test_the_community_epoch_is_the_larger_modality_over_half_a_batch():
    items = [("p", 0, 0, 0)] * 22258 + [("p", 0, 0, 1)] * 11909
    train_set = SimpleNamespace(img_items=items, __len__=None)
    community = make_cfg("sysu_G2DA.yml")
    assert iters_per_epoch(community, train_set) == 695
    images = make_cfg("sysu_G2DA.yml", {"SOLVER.EPOCH_LENGTH": "images"})
    assert iters_per_epoch(images, type("Set", (), {"__len__": lambda self: len(items), "img_items": items})()) == 533
    with pytest.raises(InputError, match="SOLVER.EPOCH_LENGTH"):
        iters_per_epoch(make_cfg("sysu_G2DA.yml", {"SOLVER.EPOCH_LENGTH": "epochs"}), train_set)
