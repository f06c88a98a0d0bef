"""Training throughput of given configs on the synthetic data at the real size, in one table.

For each config (default: baseline B, the full G2DA model and FastReID's bagtricks, ResNet-50 at
288x144, batch 64, random weights, the synthetic SYSU-MM01 read through the real loader):

- img/s and ms per step over ``--iters`` timed steps of the real training step
  (:class:`~g2da_plugin.engine.train_loop.CrossModalityStepTrainer`, the config's precision) after
  ``--warmup`` untimed ones, and the mean time the step waited for its batch;
- the breakdown of one step, each part timed on its own (inputs detached, a device sync around each,
  median of ``--parts-iters``): backbone forward and backward, head with identity + triplet losses,
  pose parts, OT, contrastive, MFA with L_g, optimizer; their sum next to the step;
- host syncs and kernel ops of one training step, counted with
  :class:`~g2da_plugin.utils.dispatch_count.DispatchCounter` on a batch already in memory.

    python tools/benchmark_train.py                         # this machine's CPU
    python tools/benchmark_train.py --device cuda --iters 50 --warmup 10
"""

import itertools
import os
import time

import torch
from fastreid.utils.events import EventStorage

from ..config import load_config
from ..data import build_cross_modality_train_loader
from ..data.batch_layout import routing_of
from ..modeling.meta_arch import CrossModalityBaseline, G2DA, PosePartBaseline
from ..utils.dispatch_count import DispatchCounter
from .timing import synchronize
from .train_loop import CrossModalityStepTrainer, autocast_dtype
from .trainer import WRITER_PERIOD, G2DATrainer

_REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CONFIGS = tuple(os.path.join(_REPOSITORY, path) for path in (
    "projects/G2DA/configs/sysu.yml", "projects/G2DA/configs/sysu_G2DA.yml", "configs/SYSU-MM01/bagtricks_R50.yml"))
PARTS = ("backbone forward", "backbone backward", "head + id/triplet losses", "pose parts", "OT", "contrastive",
         "MFA + L_g", "optimizer")


def benchmark_cfg(config_file, device, size, batch, workers, data_root, opts=()):
    """The config as trained, on the synthetic data, from random weights, at ``size`` and ``batch``."""
    return load_config(config_file, [
        "MODEL.DEVICE", device, "MODEL.BACKBONE.PRETRAIN", "False", "DATASETS.ROOT", data_root,
        "INPUT.SIZE_TRAIN", str(list(size)), "SOLVER.IMS_PER_BATCH", str(batch),
        "DATALOADER.NUM_WORKERS", str(workers), "INPUT.KEYPOINTS.FILE", "keypoints.json", *opts])


def build_step(cfg, data):
    """``(model, step trainer)`` for ``cfg`` drawing batches from the iterable ``data``."""
    model = G2DATrainer.build_model(cfg)
    optimizer, _ = G2DATrainer.build_optimizer(cfg, model)
    step = CrossModalityStepTrainer(model, data, optimizer, None, dtype=autocast_dtype(cfg, cfg.MODEL.DEVICE),
                                    flush_period=WRITER_PERIOD, iters_per_epoch=10 ** 9)
    return model, step


def count_step(cfg, batch):
    """The :class:`DispatchCounter` of one training step on ``batch`` (after one uncounted step, which
    creates the optimizer's state)."""
    _, step = build_step(cfg, itertools.repeat(batch))
    with EventStorage(0) as storage:
        step.iter = 0
        step.run_step()
        storage.iter = step.iter = 1
        with DispatchCounter() as counter:
            step.run_step()
    return counter


def on_device(batch, device):
    return {key: value.to(device) if torch.is_tensor(value) else value for key, value in batch.items()}


def time_steps(step, device, iters, warmup):
    """(seconds per step, mean data wait) of ``iters`` steps after ``warmup``."""
    with EventStorage(0) as storage:
        for i in range(warmup + iters):
            if i == warmup:
                synchronize(device)
                start = time.perf_counter()
            storage.iter = step.iter = i
            step.run_step()
        synchronize(device)
        seconds = (time.perf_counter() - start) / iters
        step.flush_metrics(storage)
        waits = storage.history("data_time").values()[warmup:]
    return seconds, sum(value for value, _ in waits) / len(waits)


def _timed(fn, device, iters):
    times = []
    for _ in range(iters + 1):  # the first is a warm-up
        synchronize(device)
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def _leaf(tensor):
    return tensor.detach().requires_grad_(True)


def _backward(loss_dict, *inputs):
    torch.autograd.grad(sum(loss_dict.values()), inputs, allow_unused=True)


def step_parts(model, step, batch, device, iters):
    """{part: seconds} of one step, each part timed on its own (see the module docstring)."""
    dtype = step.dtype
    autocast = lambda: torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)  # noqa: E731
    ours = isinstance(model, CrossModalityBaseline)
    with EventStorage(0):
        with autocast():
            images = model.preprocess_image(batch)
            modalities = model.get_modalities(batch) if ours else None
            targets = batch["targets"].to(device)

            routing = routing_of(batch, modalities) if ours else None

            def backbone():
                return model.backbone(images, modalities, routing) if ours else model.backbone(images)

            feature_map = backbone()
            parts = {"backbone forward": _timed(backbone, device, iters)}
            grad = torch.randn_like(feature_map)
            parts["backbone backward"] = _timed(lambda: torch.autograd.grad(backbone(), model.backbone.parameters(),
                                                                            grad), device, iters) - parts["backbone forward"]
            fmap = _leaf(feature_map)

            def head_losses():
                outputs = model.heads(fmap, targets)
                if ours:
                    outputs.update(feature_map=fmap, targets=targets, modalities=modalities,
                                   global_feature=fmap.mean(dim=(2, 3)))
                    losses = {}
                    for name, loss in model.loss_modules.items():
                        if name in ("CrossEntropyLoss", "CrossModalityTripletLoss"):
                            losses.update(loss(outputs, batch))
                else:
                    losses = model.losses(outputs, targets)
                _backward(losses, fmap)

            parts["head + id/triplet losses"] = _timed(head_losses, device, iters)
            if isinstance(model, PosePartBaseline):
                glob = _leaf(feature_map.mean(dim=(2, 3)))
                nodes = _leaf(model.part_nodes(fmap, glob, batch)["nodes"])
                parts["pose parts"] = _timed(lambda: _backward(
                    {"n": model.part_nodes(fmap, glob, batch)["nodes"].sum()}, fmap, glob), device, iters)
                outputs = {"nodes": nodes, "targets": targets, "modalities": modalities}
                for part, name in (("OT", "GraphOTLoss"), ("contrastive", "PartContrastiveLoss")):
                    if name in model.loss_modules:
                        parts[part] = _timed(lambda m=model.loss_modules[name]: _backward(m(outputs, batch), nodes),
                                             device, iters)
                if isinstance(model, G2DA):
                    def mfa():
                        out = model.mfa(nodes, glob)
                        loss = model.loss_modules["GraphCrossEntropyLoss"](
                            {"graph_cls_outputs": model.mfa.classifier(out["graph_feature"]), "targets": targets})
                        _backward(loss, nodes, glob)

                    parts["MFA + L_g"] = _timed(mfa, device, iters)
        step.run_step()  # gradients and optimizer state in place
    parts["optimizer"] = _timed(step.optimizer.step, device, iters)
    return parts


def run_benchmark(args):
    """Print the table of the module docstring; ``args`` are tools/benchmark_train.py's."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {device} ({name}), torch {torch.__version__}; {args.size[0]}x{args.size[1]}, batch {args.batch}, "
          f"{args.iters} timed steps after {args.warmup}")
    rows = []
    for config_file in args.configs:
        torch.manual_seed(0)
        cfg = benchmark_cfg(config_file, args.device, args.size, args.batch, args.workers, args.data_root, args.opts)
        loader = build_cross_modality_train_loader(cfg)
        cfg.MODEL.HEADS.NUM_CLASSES = loader.dataset.num_classes
        batch = on_device(next(iter(loader)), device)
        counter = count_step(cfg, batch)
        model, step = build_step(cfg, iter(loader))
        seconds, wait = time_steps(step, device, args.iters, args.warmup)
        parts = step_parts(model, step, batch, device, args.parts_iters)
        precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[step.dtype]
        rows.append((os.path.relpath(config_file, _REPOSITORY), precision, args.batch / seconds, seconds, wait,
                     parts, counter.syncs, counter.kernels))
    print("\n| config | precision | img/s | ms/step | data wait (ms) | " + " | ".join(f"{p} (ms)" for p in PARTS)
          + " | sum of parts (ms) | host syncs | kernel ops |")
    print("|---|---|---|---|---|" + "---|" * len(PARTS) + "---|---|---|")
    for config, precision, rate, seconds, wait, parts, syncs, kernels in rows:
        cells = " | ".join(f"{1e3 * parts[p]:.1f}" if p in parts else "-" for p in PARTS)
        print(f"| {config} | {precision} | {rate:.1f} | {1e3 * seconds:.1f} | {1e3 * wait:.1f} | {cells} | "
              f"{1e3 * sum(parts.values()):.1f} | {syncs} | {kernels} |")
    base = {config: seconds for config, _, _, seconds, *_ in rows}
    b, full = (os.path.relpath(c, _REPOSITORY) for c in DEFAULT_CONFIGS[:2])
    if b in base and full in base:
        g2da = next(r for r in rows if r[0] == full)
        alignment = g2da[5].get("OT", 0.0) + g2da[5].get("contrastive", 0.0)
        print(f"\nG2DA step / B step: {base[full] / base[b]:.2f}; OT + contrastive: "
              f"{100 * alignment / base[full]:.1f}% of the G2DA step")
