"""The training step: the same logged scalars as FastReID's SimpleTrainer without its per-step syncs,
a non-finite loss still stops the run, and a CPU bfloat16 step close to float32."""

import itertools

import pytest
import torch
from fastreid.engine.train_loop import SimpleTrainer
from fastreid.utils.events import EventStorage

from g2da_plugin.engine.optimizer import build_optimizer
from g2da_plugin.engine.train_loop import CrossModalityStepTrainer, autocast_dtype
from g2da_plugin.utils.errors import InputError
from g2da_plugin.modeling.meta_arch import CrossModalityBaseline

from ..helpers import make_cfg, tiny_model_cfg
from .test_step_counts import sampler_batch

SCALARS = ("total_loss", "loss_cls", "loss_cm_triplet", "cls_accuracy")


def tiny(seed=0, **keys):
    torch.manual_seed(seed)
    cfg = tiny_model_cfg({"SOLVER.IMS_PER_BATCH": 8, "DATALOADER.NUM_INSTANCE": 2, "SOLVER.BASE_LR": 0.01,
                          "SOLVER.OPT": "SGD", **keys})
    model = CrossModalityBaseline(cfg).train()
    return cfg, model


def batches(cfg, n):
    return [sampler_batch(cfg, 64, 32) | {"targets": torch.tensor([0] * 4 + [1] * 4) + 2 * (i % 2)} for i in range(n)]


def histories(trainer, iters):
    with EventStorage(0) as storage:
        for i in range(iters):
            storage.iter = trainer.iter = i
            trainer.run_step()
        return {name: storage.history(name).values() for name in SCALARS}


def test_scalars_are_fastreids_at_every_iteration_and_written_only_at_flushes():
    data = batches(tiny()[0], 7)
    cfg, model = tiny()
    ours = CrossModalityStepTrainer(model, iter(data), build_optimizer(cfg, model)[0], None, dtype=None,
                                    flush_period=3, iters_per_epoch=5)
    cfg, model = tiny()
    theirs = SimpleTrainer(model, iter(data), build_optimizer(cfg, model)[0], None)
    with EventStorage(0) as storage:
        seen = []
        for i in range(7):
            storage.iter = ours.iter = i
            ours.run_step()
            seen.append(len(storage.history("total_loss").values()) if "total_loss" in storage.histories() else 0)
        mine = {name: storage.history(name).values() for name in SCALARS}
    assert seen == [0, 0, 3, 3, 5, 6, 6]  # flushed after iterations 2, 4 (epoch end), 5
    reference = histories(theirs, 6)
    for name in SCALARS:
        assert [i for _, i in mine[name]] == list(range(6)), name
        assert [v for v, _ in mine[name]] == pytest.approx([v for v, _ in reference[name]], rel=1e-6, abs=1e-7), name


def test_a_non_finite_loss_stops_at_the_flush_naming_its_iteration():
    cfg, model = tiny()
    data = batches(cfg, 4)
    data[1] = dict(data[1], images=torch.full_like(data[1]["images"], 0).float() * float("nan"))
    step = CrossModalityStepTrainer(model, iter(data), build_optimizer(cfg, model)[0], None, dtype=None,
                                    flush_period=3, iters_per_epoch=100)
    with EventStorage(0) as storage, pytest.raises(FloatingPointError, match="iteration=1"):
        for i in range(3):
            storage.iter = step.iter = i
            step.run_step()


def test_precision_follows_the_device():
    cfg = make_cfg(overrides={"SOLVER.AMP.ENABLED": True})
    assert autocast_dtype(cfg, "cpu") is None  # float32 on a CPU
    cfg.SOLVER.AMP.DTYPE = "bfloat16"
    assert autocast_dtype(cfg, "cpu") == torch.bfloat16
    cfg.SOLVER.AMP.ENABLED = False
    assert autocast_dtype(cfg, "cuda") is None
    cfg.SOLVER.AMP.ENABLED, cfg.SOLVER.AMP.DTYPE = True, "half"
    with pytest.raises(InputError, match="SOLVER.AMP.DTYPE"):
        autocast_dtype(cfg, "cpu")


def one_step(dtype, losses, seen=None):
    cfg, model = tiny(seed=3, **{"MODEL.LOSSES.NAME": losses})
    if seen is not None:
        model.heads.register_forward_hook(lambda module, args, out: seen.update(out))
    step = CrossModalityStepTrainer(model, itertools.repeat(batches(cfg, 1)[0]), torch.optim.SGD(model.parameters(), lr=0.0),
                                    None, dtype=dtype, flush_period=1, iters_per_epoch=1)
    with EventStorage(0) as storage:
        step.iter = 0
        step.run_step()
        values = {name: storage.history(name).latest() for name in ("loss_cls", "loss_cm_triplet")
                  if name in storage.histories()}
    return values, {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


def test_cpu_bfloat16_step_is_close_to_float32():
    # Tolerances. bfloat16 keeps 8 mantissa bits (4e-3 relative per rounding): the step's losses stay
    # within 1%, the triplet hinge (a difference of distances of about 10) within 1% of the
    # distance scale: the CPU's bfloat16 kernels (AVX512-BF16 or not) round differently. The gradients of a randomly initialised ResNet-18 on 8 noise images are mostly the
    # BN layers' cancellation noise, so each tensor's gradient is held to a cosine of 0.9 with
    # float32's, the head's (after the last BN) to 10% in norm. Measured: cosine 0.91 at worst,
    # head 5.6%. The hard-mined triplet is left out of the gradient check: bfloat16 rounding may
    # change which sample is the hardest, and with it the gradient's direction.
    both = ("CrossEntropyLoss", "CrossModalityTripletLoss")
    heads32 = {}
    losses32, _ = one_step(None, both, heads32)
    losses16, _ = one_step(torch.bfloat16, both)
    assert losses16["loss_cls"] == pytest.approx(losses32["loss_cls"], rel=1e-2)
    distance_scale = torch.cdist(heads32["features"], heads32["features"]).mean().item()
    assert abs(losses16["loss_cm_triplet"] - losses32["loss_cm_triplet"]) < 1e-2 * distance_scale
    _, grads32 = one_step(None, ("CrossEntropyLoss",))
    _, grads16 = one_step(torch.bfloat16, ("CrossEntropyLoss",))
    assert grads16.keys() == grads32.keys()
    for name, grad in grads32.items():
        assert grads16[name].dtype == torch.float32
        cosine = torch.nn.functional.cosine_similarity(grads16[name].flatten(), grad.flatten(), dim=0)
        assert cosine > 0.9, (name, cosine.item())
        if name.startswith("heads."):
            assert (grads16[name] - grad).norm() < 0.1 * grad.norm(), name
