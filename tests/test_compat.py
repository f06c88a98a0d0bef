"""Each fastreid workaround in g2da_plugin.compat: the original fails, the patched version works."""

import subprocess
import sys

import pytest
import torch

import g2da_plugin  # noqa: F401  (applies the workarounds)
from g2da_plugin.compat import originals
from fastreid.config import get_cfg

CPU_ONLY = not torch.cuda.is_available()


def _run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module, missing", [
    ("fastreid.evaluation.testing", "Mapping"),   # from collections import Mapping
    ("fastreid.data.build", "torch._six"),        # from torch._six import string_classes
])
def test_fastreid_imports_fail_without_and_work_with_the_plugin(module, missing):
    bare = _run_python(f"import {module}")
    assert bare.returncode != 0 and missing in bare.stderr
    patched = _run_python(f"import g2da_plugin, {module}")
    assert patched.returncode == 0, patched.stderr


def _tiny_dataset():
    return [{"images": torch.full((3, 4, 2), float(i)), "targets": i} for i in range(6)]


@pytest.mark.skipif(not CPU_ONLY, reason="the original loader only fails without CUDA")
def test_original_prefetching_loader_needs_cuda():
    from fastreid.data.data_utils import DataLoaderX

    with pytest.raises((RuntimeError, AssertionError, AttributeError)):
        DataLoaderX(0, dataset=_tiny_dataset(), batch_size=2)


def test_train_loader_works_on_this_machine():
    from fastreid.data import build_reid_train_loader
    from fastreid.data.build import fast_batch_collator  # noqa: F401  (module imports cleanly)
    from torch.utils.data import SequentialSampler

    loader = build_reid_train_loader(_tiny_dataset(), sampler=SequentialSampler(range(6)), total_batch_size=2)
    batches = list(loader)
    assert len(batches) == 3
    assert batches[1]["images"].shape == (2, 3, 4, 2) and batches[1]["images"][0, 0, 0, 0] == 2.0
    assert batches[2]["targets"].tolist() == [4, 5]


def test_reid_evaluator_does_not_compile_or_exit(monkeypatch):
    import fastreid.evaluation.reid_evaluation as reid_evaluation

    def failing_compile():
        sys.exit(1)  # what fastreid's compile_helper does when `make` fails

    monkeypatch.setattr(reid_evaluation, "compile_helper", failing_compile)
    cfg = get_cfg()
    evaluator = reid_evaluation.ReidEvaluator(cfg, num_query=2)
    assert evaluator._predictions == []
    try:
        import fastreid.evaluation.rank_cylib.rank_cy  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit):
            originals["ReidEvaluator._compile_dependencies"](evaluator)


def _fastreid_baseline():
    from fastreid.modeling import build_model

    cfg = get_cfg()
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.BACKBONE.DEPTH = "18x"
    cfg.MODEL.BACKBONE.FEAT_DIM = 512
    cfg.MODEL.BACKBONE.PRETRAIN = False
    cfg.MODEL.HEADS.NUM_CLASSES = 3
    cfg.MODEL.LOSSES.NAME = ("CrossEntropyLoss",)
    return build_model(cfg)


def test_baseline_normalises_out_of_place_so_flip_test_sees_raw_pixels():
    model = _fastreid_baseline().eval()
    images = torch.rand(2, 3, 32, 16) * 255
    raw = images.clone()
    inputs = {"images": images}
    with torch.no_grad():
        first = model(inputs)
        again = model(inputs)
    assert torch.equal(inputs["images"], raw)
    assert torch.allclose(first, again)
    # fastreid's original normalises the caller's tensor in place: flip-test would normalise twice.
    originals["Baseline.preprocess_image"](model, inputs)
    assert not torch.equal(inputs["images"], raw)


def _first_conv_after_three_steps(**kwargs):
    from fastreid.solver import build_optimizer

    torch.manual_seed(0)
    cfg = get_cfg()
    cfg.SOLVER.OPT = "SGD"
    cfg.SOLVER.BASE_LR = 0.1
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    x = torch.randn(4, 3, 6, 6)
    model(x)
    before = model[0].weight.detach().clone()
    optimizer, _ = build_optimizer(cfg, model, **kwargs)
    for _ in range(3):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    return before, model[0].weight.detach()


def test_default_optimizer_updates_the_weights():
    before, after = _first_conv_after_three_steps()
    assert not torch.allclose(before, after)


def test_contiguous_optimizer_silently_never_updates_on_torch2():
    # The reason for the new default: fastreid's own default (contiguous=True) leaves every weight as it was.
    assert originals["build_optimizer.__defaults__"] == (True,)
    before, after = _first_conv_after_three_steps(contiguous=True)
    assert torch.equal(before, after)


@pytest.mark.skipif(not CPU_ONLY, reason="the original worker only fails without CUDA")
def test_original_launch_worker_needs_cuda():
    with pytest.raises(AssertionError, match="cuda"):
        originals["fastreid.engine.launch._distributed_worker"](0, print, 2, 2, 0, "tcp://127.0.0.1:1", ())


def _frozen_then_resumed(make_class):
    """Weights of a layer frozen for 3 steps, after 2 steps, a state-dict round trip (a resume) and 2
    more steps; returns (weights after the resume's first step, after its second)."""
    torch.manual_seed(0)
    frozen, free = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    groups = [{"params": list(frozen.parameters()), "freeze_status": "freeze"},
              {"params": list(free.parameters()), "freeze_status": "normal"}]

    def train(optimizer, steps):
        out = []
        for _ in range(steps):
            optimizer.zero_grad()
            (frozen(torch.ones(1, 2)).sum() + free(torch.ones(1, 2)).sum()).backward()
            optimizer.step()
            out.append(frozen.weight.detach().clone())
        return out

    first = make_class(torch.optim.SGD, freeze_iters=3)(groups, lr=0.1)
    start = frozen.weight.detach().clone()
    assert all(torch.equal(w, start) for w in train(first, 2))
    # a resumed process builds its optimizer class anew
    resumed = make_class(torch.optim.SGD, freeze_iters=3)([{"params": list(frozen.parameters()), "freeze_status": "freeze"},
                   {"params": list(free.parameters()), "freeze_status": "normal"}], lr=0.1)
    resumed.load_state_dict(first.state_dict())
    return start, train(resumed, 2)


def test_frozen_steps_survive_a_resume():
    import fastreid.solver.build as solver_build

    start, (third, fourth) = _frozen_then_resumed(solver_build._generate_optimizer_class_with_freeze_layer)
    assert torch.equal(third, start) and not torch.equal(fourth, start)  # frozen for 3 steps in all
    start, (third, fourth) = _frozen_then_resumed(originals["fastreid.solver.build._generate_optimizer_class_with_freeze_layer"])
    assert torch.equal(fourth, start)  # fastreid's counter restarted: frozen for 3 more steps
