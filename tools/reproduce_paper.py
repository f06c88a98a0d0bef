#!/usr/bin/env python
"""Reproduce the paper on the real data with one command, resumable (g2da_plugin/engine/reproduce.py).

    python tools/reproduce_paper.py --datasets-root DIR --imagenet-weights resnet50-0676ba61.pth \\
        --hrnet-checkpoint td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth \\
        --output-root logs/paper [--datasets sysu regdb] [--regdb-trials 1 2 ... 10] \\
        [--dry-run] [--estimate] [--opts KEY VALUE ...]

Steps, each skipped when done (a rerun of the same command continues where the last one stopped):
a. check the datasets (tools/check_dataset.py's check, without keypoints); stop on a problem;
b. extract the keypoints with HRNet into the file the pose configs read (resumable; needs the pose
   extra: bash tools/install_pose_extra.sh);
c. train and evaluate B, B+O, B+O+CL, B+O+CL+G, B+O+CL+G+MF (G2DA) and FastReID's bagtricks, AGW and
   SBS (ResNet-50) on SYSU-MM01, and on RegDB once per --regdb-trials split, into
   <output-root>/<dataset>/...; a run with its results.json is done, an interrupted one resumes;
d. write <output-root>/paper_comparison.md: the measured numbers beside the paper's reported ones.

The plan (each step and run, and what is done) is printed first; --dry-run stops there. --estimate
times --estimate-iters training steps of each config still to train on this machine's GPU and
prints each run's estimated time (steps x iterations) and the total. --configs-set synthetic runs
the same steps with the CPU-sized demo configs on the synthetic data (tools/make_synthetic_data.py),
whose true keypoints are in keypoints.json. --opts (last) passes KEY VALUE overrides to every run.
"""

import argparse
import logging
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, dataset registration)
from g2da_plugin.engine.reproduce import CONFIG_SETS, DATASETS, reproduce  # noqa: E402
from g2da_plugin.pose.extraction import exit_on_sigterm  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="reproduce_paper.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets-root", required=True, metavar="DIR",
                        help="the folder holding SYSU-MM01/ and RegDB/")
    parser.add_argument("--imagenet-weights", metavar="PTH",
                        help="torchvision's ResNet-50 ImageNet state dict (resnet50-0676ba61.pth); paper configs")
    parser.add_argument("--hrnet-checkpoint", metavar="PTH",
                        help="mmpose's HRNet-w32 COCO 256x192 weights; needed while a keypoints file is incomplete")
    parser.add_argument("--output-root", default="logs/paper", metavar="DIR",
                        help="where everything goes (default logs/paper)")
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--regdb-trials", nargs="+", type=int, default=list(range(1, 11)), metavar="N",
                        help="RegDB trial splits, one model each (default 1..10)")
    parser.add_argument("--configs-set", choices=sorted(CONFIG_SETS), default="paper",
                        help="paper (default) or synthetic (the demo configs, on synthetic data)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    parser.add_argument("--estimate", action="store_true",
                        help="time training steps of each config to train and print the estimated times")
    parser.add_argument("--estimate-iters", type=int, default=20, metavar="N",
                        help="timed steps per config with --estimate (default 20, after 5 untimed)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], metavar="KEY VALUE",
                        help="config overrides for every run (must come last)")
    args = parser.parse_args(argv)
    if len(args.opts) % 2:
        parser.error(f"--opts needs KEY VALUE pairs, got {len(args.opts)} items")
    if any(not 1 <= t <= 10 for t in args.regdb_trials) or len(set(args.regdb_trials)) != len(args.regdb_trials):
        parser.error(f"--regdb-trials must be distinct trials in 1..10, got {args.regdb_trials}")
    if args.estimate_iters < 1:
        parser.error(f"--estimate-iters must be >= 1, got {args.estimate_iters}")
    return args


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    text = reproduce(args.datasets_root, args.output_root, datasets=args.datasets, regdb_trials=args.regdb_trials,
                     config_set=args.configs_set, imagenet_weights=args.imagenet_weights,
                     hrnet_checkpoint=args.hrnet_checkpoint, opts=args.opts, dry_run=args.dry_run,
                     estimate_iters=args.estimate_iters if args.estimate else None,
                     command="python tools/reproduce_paper.py " + shlex.join(str(a) for a in argv))
    if text is not None:
        print(text)


if __name__ == "__main__":
    exit_on_sigterm()  # SIGTERM saves the keypoints extracted so far, as Ctrl-C does
    main()
