#!/usr/bin/env python
"""Training throughput of PosePartBaseline with cached vs online keypoints (MODEL.POSE.MODE).

Both modes train the same model on the same in-memory batch (P identities x (K RGB + K IR), random
images, input size and batch size as given): one step = forward (backbone, 14-node graph) +
backward + SGD step, with a small loss on the nodes so that the part pooling is in the backward
pass too. The modes take turns step by step and the median step time is reported, which keeps
a shared machine's drifting load from favouring one mode. "cached" reads the batch's keypoints (loaded once per image and re-projected by the
loader's transforms, whose cost is the same in both modes and is not timed here); "online"
additionally runs a frozen pose estimator on the batch's images in every forward pass. The
baseline B (CrossModalityBaseline, no nodes) is timed as a reference.

The online estimator is mmpose's HRNet-w32 with RANDOM weights (the paper's estimator; the weights
do not change its cost) when the pose extra is installed; otherwise the script says so and uses
the MeanPose stand-in, which costs nothing and so measures only the heatmap code.

    python tools/benchmark_pose_modes.py                       # ResNet-50, 288x144, batch 16, CPU
    python tools/benchmark_pose_modes.py --depth 18x --size 128 64 --batch 32 --iters 5
    python tools/benchmark_pose_modes.py --device cuda --batch 64 --iters 30     # the paper's batch
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import g2da_plugin  # noqa: E402,F401
from fastreid.config import get_cfg  # noqa: E402
from fastreid.modeling.meta_arch import build_model  # noqa: E402

from g2da_plugin.config import add_g2da_config  # noqa: E402
from g2da_plugin.modeling.pose_config import add_pose_config  # noqa: E402
from g2da_plugin.modeling.pose_estimator import MeanPose  # noqa: E402


class NodeLoss(nn.Module):
    """A stand-in for the graph losses: keeps the part features in the backward pass."""

    def forward(self, outputs, batched_inputs):
        return {"loss_nodes": outputs["nodes"].pow(2).mean() * 1e-4}


def make_cfg(args, arch, mode="cached", estimator="HRNet"):
    cfg = get_cfg()
    add_g2da_config(cfg)
    add_pose_config(cfg)
    cfg.merge_from_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "projects", "G2DA", "configs",
                                     "Base-G2DA.yml"))
    feat_dim = 512 if args.depth in ("18x", "34x") else 2048
    cfg.merge_from_list([
        "MODEL.META_ARCHITECTURE", arch, "MODEL.DEVICE", args.device, "MODEL.BACKBONE.DEPTH", args.depth,
        "MODEL.BACKBONE.FEAT_DIM", str(feat_dim), "MODEL.BACKBONE.PRETRAIN", "False",
        "MODEL.HEADS.NUM_CLASSES", str(args.batch // (2 * args.instances)),
        "INPUT.SIZE_TRAIN", str(list(args.size)), "MODEL.POSE.MODE", mode, "MODEL.POSE.ESTIMATOR.NAME", estimator,
        "MODEL.POSE.ESTIMATOR.INPUT_SIZE", str(list(args.estimator_size)),
        "MODEL.POSE.ESTIMATOR.FLIP_TEST", str(args.estimator_flip),
    ])
    return cfg


def make_batch(args):
    g = torch.Generator().manual_seed(0)
    height, width = args.size
    ids = args.batch // (2 * args.instances)
    images = torch.randint(0, 256, (args.batch, 3, height, width), generator=g).float()
    targets = torch.arange(ids).repeat_interleave(2 * args.instances)
    modalities = torch.tensor(([0] * args.instances + [1] * args.instances) * ids)
    keypoints = MeanPose()(images)
    keypoints[..., :2] += torch.randn(keypoints.shape[:-1] + (2,), generator=g) * 3
    return {"images": images, "targets": targets, "modalities": modalities, "keypoints": keypoints}


def make_step(model, batch, args):
    """One training step of ``model`` on ``batch`` (a closure)."""
    model.train()
    if hasattr(model, "pose_mode"):
        model.loss_modules["nodes"] = NodeLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    batch = {k: v.to(args.device) for k, v in batch.items()}

    def step():
        losses = model(batch)
        optimizer.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        optimizer.step()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    return step


def time_round_robin(steps, args):
    """Median seconds per step of each mode. The modes take turns step by step, so a machine whose
    load drifts (shared CPUs) slows them alike."""
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times = {mode: [] for mode in steps}
    for _ in range(args.iters):
        for mode, step in steps.items():
            start = time.perf_counter()
            step()
            times[mode].append(time.perf_counter() - start)
    return {mode: statistics.median(t) for mode, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", default="50x", help="two-stream ResNet depth (default 50x)")
    parser.add_argument("--size", type=int, nargs=2, default=(288, 144), metavar=("H", "W"), help="input size")
    parser.add_argument("--batch", type=int, default=16, help="images per batch (P x 2K)")
    parser.add_argument("--instances", type=int, default=4, help="K images per modality per identity")
    parser.add_argument("--iters", type=int, default=3, help="timed training steps per mode (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--estimator-size", type=int, nargs=2, default=(256, 128), metavar=("H", "W"))
    parser.add_argument("--estimator-flip", action="store_true", help="flip test in the online estimator")
    parser.add_argument("--modes", nargs="+", default=("baseline", "cached", "online"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.batch % (2 * args.instances):
        parser.error("--batch must be a multiple of 2 x --instances")

    estimator = "HRNet"
    try:
        import mmpose  # noqa: F401
        estimator_note = (f"mmpose {mmpose.__version__} HRNet-w32 COCO, RANDOM weights, input "
                          f"{args.estimator_size[0]}x{args.estimator_size[1]}, flip test {args.estimator_flip}")
    except ImportError:
        estimator = "MeanPose"
        estimator_note = ("MeanPose stand-in (mmpose is not installed: bash tools/install_pose_extra.sh); "
                          "online then measures only the heatmap code, not a pose network")

    batch = make_batch(args)
    print(f"device {args.device} ({torch.get_num_threads()} threads), two-stream ResNet depth {args.depth}, input "
          f"{args.size[0]}x{args.size[1]}, batch {args.batch}, {args.iters} timed steps after {args.warmup} warm-up")
    print(f"online estimator: {estimator_note}")
    steps = {}
    for mode in args.modes:
        torch.manual_seed(0)
        if mode == "baseline":
            model = build_model(make_cfg(args, "CrossModalityBaseline"))
        else:
            model = build_model(make_cfg(args, "PosePartBaseline", mode=mode, estimator=estimator))
        steps[mode] = make_step(model, batch, args)
    seconds = time_round_robin(steps, args)
    results = {}
    for mode, s in seconds.items():
        results[mode] = args.batch / s
        print(f"{mode:9s} {results[mode]:8.2f} images/s  (median {s:.3f} s/step)", flush=True)
    if "cached" in results and "online" in results:
        print(f"online / cached throughput: {results['online'] / results['cached']:.3f}")
    return results


if __name__ == "__main__":
    main()
