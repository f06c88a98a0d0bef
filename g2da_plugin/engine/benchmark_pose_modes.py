"""Training throughput of PosePartBaseline with cached vs online keypoints (``MODEL.POSE.MODE``).

Every mode trains its model on the same in-memory batch (P identities x (K RGB + K IR), random
images): one step = forward (backbone, 14-node graph) + backward + SGD step, with a small loss on
the nodes so that the part pooling is in the backward pass too. The modes take turns step by step
and the median step time is reported, which keeps a shared machine's drifting load from favouring
one mode. "cached" reads the batch's keypoints (the loader's cost is the same in both modes and is
not timed); "online" also runs a frozen pose estimator on the batch in every forward pass;
"baseline" is CrossModalityBaseline (no nodes), a reference.

The online estimator is mmpose's HRNet-w32 with random weights (they do not change its cost) when
the pose extra is installed, else the MeanPose stand-in, which costs nothing and so measures only
the heatmap code. ``tools/benchmark_pose_modes.py`` is the command line.
"""

from dataclasses import dataclass

import torch
from torch import nn

from fastreid.config import get_cfg
from fastreid.modeling.meta_arch import build_model

from ..config import add_g2da_config
from ..data.datasets.modality import IR, RGB
from ..pose.online import MeanPose
from .timing import median_seconds

__all__ = ["BenchmarkSetup", "online_estimator", "benchmark_pose_modes"]


@dataclass(frozen=True)
class BenchmarkSetup:
    """What is timed: ``base_config`` (a G2DA config file the settings override), two-stream ResNet
    ``depth`` ("50x"...), input ``size`` (H, W), ``batch`` images of which ``instances`` per modality
    and identity, ``iters`` timed steps per mode after ``warmup``, torch ``device``, and the online
    estimator's ``estimator_size`` (H, W) and ``estimator_flip`` (flip test)."""

    base_config: str
    depth: str
    size: tuple
    batch: int
    instances: int
    iters: int
    warmup: int
    device: str
    estimator_size: tuple
    estimator_flip: bool


class NodeLoss(nn.Module):
    """A stand-in for the graph losses: keeps the part features in the backward pass."""

    def forward(self, outputs, batched_inputs):
        return {"loss_nodes": outputs["nodes"].pow(2).mean() * 1e-4}


def online_estimator(setup):
    """(``MODEL.POSE.ESTIMATOR.NAME`` to time, a line saying what it is)."""
    try:
        import mmpose
    except ImportError:
        return "MeanPose", ("MeanPose stand-in (mmpose is not installed: bash tools/install_pose_extra.sh); "
                            "online then measures only the heatmap code, not a pose network")
    return "HRNet", (f"mmpose {mmpose.__version__} HRNet-w32 COCO, RANDOM weights, input "
                     f"{setup.estimator_size[0]}x{setup.estimator_size[1]}, flip test {setup.estimator_flip}")


def make_cfg(setup, arch, mode="cached", estimator="HRNet"):
    cfg = add_g2da_config(get_cfg())
    cfg.merge_from_file(setup.base_config)
    feat_dim = 512 if setup.depth in ("18x", "34x") else 2048
    cfg.merge_from_list([
        "MODEL.META_ARCHITECTURE", arch, "MODEL.DEVICE", setup.device, "MODEL.BACKBONE.DEPTH", setup.depth,
        "MODEL.BACKBONE.FEAT_DIM", str(feat_dim), "MODEL.BACKBONE.PRETRAIN", "False",
        "MODEL.HEADS.NUM_CLASSES", str(setup.batch // (2 * setup.instances)),
        "INPUT.SIZE_TRAIN", str(list(setup.size)), "MODEL.POSE.MODE", mode, "MODEL.POSE.ESTIMATOR.NAME", estimator,
        "MODEL.POSE.ESTIMATOR.INPUT_SIZE", str(list(setup.estimator_size)),
        "MODEL.POSE.ESTIMATOR.FLIP_TEST", str(setup.estimator_flip),
    ])
    return cfg


def make_batch(setup):
    """Random images of P identities x (K RGB + K IR), with the mean pose jittered as keypoints."""
    g = torch.Generator().manual_seed(0)
    height, width = setup.size
    ids = setup.batch // (2 * setup.instances)
    images = torch.randint(0, 256, (setup.batch, 3, height, width), generator=g).float()
    targets = torch.arange(ids).repeat_interleave(2 * setup.instances)
    modalities = torch.tensor(([RGB] * setup.instances + [IR] * setup.instances) * ids)
    keypoints = MeanPose()(images)
    keypoints[..., :2] += torch.randn(keypoints.shape[:-1] + (2,), generator=g) * 3
    return {"images": images, "targets": targets, "modalities": modalities, "keypoints": keypoints}


def make_step(model, batch, device):
    """One training step of ``model`` on ``batch`` (a closure)."""
    model.train()
    if hasattr(model, "pose_mode"):
        model.loss_modules["nodes"] = NodeLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    batch = {k: v.to(device) for k, v in batch.items()}

    def step():
        losses = model(batch)
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        optimizer.step()

    return step


def benchmark_pose_modes(setup, modes):
    """Time ``modes`` ("baseline", "cached", "online") under ``setup``, printing as it goes;
    returns {mode: images per second}."""
    estimator, estimator_note = online_estimator(setup)
    batch = make_batch(setup)
    print(f"device {setup.device} ({torch.get_num_threads()} threads), two-stream ResNet depth {setup.depth}, input "
          f"{setup.size[0]}x{setup.size[1]}, batch {setup.batch}, {setup.iters} timed steps after {setup.warmup} "
          f"warm-up")
    print(f"online estimator: {estimator_note}")
    steps = {}
    for mode in modes:
        torch.manual_seed(0)
        if mode == "baseline":
            cfg = make_cfg(setup, "CrossModalityBaseline")
        else:
            cfg = make_cfg(setup, "PosePartBaseline", mode=mode, estimator=estimator)
        steps[mode] = make_step(build_model(cfg), batch, setup.device)
    results = {}
    for mode, seconds in median_seconds(steps, torch.device(setup.device), setup.iters, setup.warmup).items():
        results[mode] = setup.batch / seconds
        print(f"{mode:9s} {results[mode]:8.2f} images/s  (median {seconds:.3f} s/step)", flush=True)
    if "cached" in results and "online" in results:
        print(f"online / cached throughput: {results['online'] / results['cached']:.3f}")
    return results
