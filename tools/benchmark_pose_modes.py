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
import sys

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, REPO)

import torch  # noqa: E402

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, registers the models)
from g2da_plugin.engine.benchmark_pose_modes import BenchmarkSetup, benchmark_pose_modes  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402

BASE_CONFIG = os.path.join(REPO, "projects", "G2DA", "configs", "Base-G2DA.yml")


@exit_on_input_error
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
    setup = BenchmarkSetup(base_config=BASE_CONFIG, depth=args.depth, size=tuple(args.size), batch=args.batch,
                           instances=args.instances, iters=args.iters, warmup=args.warmup, device=args.device,
                           estimator_size=tuple(args.estimator_size), estimator_flip=args.estimator_flip)
    return benchmark_pose_modes(setup, args.modes)


if __name__ == "__main__":
    main()
