#!/usr/bin/env python
"""Estimate 17 COCO keypoints for every image of a dataset and write them to a keypoints file.

    python tools/extract_keypoints.py --config-file projects/G2DA/configs/sysu.yml \\
        --backend hrnet --checkpoint td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth
    python tools/extract_keypoints.py --dataset SYSUMM01_CM --root datasets/synthetic --backend mediapipe

Datasets: those of a g2da config (``DATASETS.NAMES`` and ``DATASETS.TESTS`` under
``DATASETS.ROOT``; trailing ``KEY VALUE`` pairs override the config), or one registered dataset
(``--dataset``, ``--root``). Every image of the dataset (train, query and gallery, RGB and IR alike,
each once) is processed; keys are paths relative to the dataset folder (``SYSU-MM01/``, ``RegDB/``).

Backends (``g2da_plugin.pose``; install them with ``bash tools/install_pose_extra.sh``):

* ``hrnet``: mmpose's HRNet-w32 COCO top-down model, the paper's estimator; ``--checkpoint`` is the
  weights file (nothing is downloaded), e.g. mmpose's
  ``td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth``. Batched, 256 x 128 input,
  flip test on unless ``--no-flip-test``. The checkpoint is unpickled in full if it holds more than
  tensors and numpy data: only use checkpoints you trust.
* ``mediapipe``: BlazePose-full (weights inside the mediapipe wheel), one image at a time.

Output: ``--output``, by default ``<dataset folder>/keypoints_<backend>.json`` (not
``keypoints.json``: in a synthetic dataset that file holds the true keypoints). The format is that of
:mod:`g2da_plugin.data.keypoints_io` whatever the backend; its ``source`` names the model, its
settings and (hrnet) the checkpoint's name and sha256.

Resumable and crash-safe: the file is rewritten atomically every ``--save-every`` images or
``--save-interval`` seconds, so it is always a complete, valid keypoints file; a rerun of the same
command skips the images it holds (a file made by another model or with other settings is refused:
use ``--overwrite`` or another ``--output``). Ctrl-C and SIGTERM save before stopping; a hard kill
loses at most the images since the last save.

At the end: images done, mean score per modality, and the images whose mean score is below
``--flag-threshold`` (likely failures: no person found, heavy occlusion).

The work is done by :mod:`g2da_plugin.pose.extraction`.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, dataset registration)
from g2da_plugin.data.images import datasets_of  # noqa: E402
from g2da_plugin.pose import BACKENDS, build_estimator  # noqa: E402
from g2da_plugin.pose.extraction import exit_on_sigterm, extract, summarize  # noqa: E402
from g2da_plugin.utils.errors import InputError, exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="extract_keypoints.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_argument_group("dataset (one of)")
    source.add_argument("--config-file", metavar="FILE", help="a g2da config: its DATASETS.NAMES, TESTS and ROOT")
    source.add_argument("--dataset", metavar="NAME", help="a registered dataset, e.g. SYSUMM01_CM or RegDB_CM")
    parser.add_argument("--root", metavar="DIR", help="with --dataset: the folder holding the dataset folder "
                                                      "(default $FASTREID_DATASETS or datasets)")
    parser.add_argument("--backend", choices=BACKENDS, required=True)
    parser.add_argument("--checkpoint", metavar="PATH", help="hrnet: the HRNet-w32 COCO weights file")
    parser.add_argument("--pose-config", metavar="FILE",
                        help="hrnet: an mmpose config file (default: mmpose's bundled td-hm_hrnet-w32 COCO 256x192)")
    parser.add_argument("--output", metavar="FILE",
                        help="keypoints file (default <dataset folder>/keypoints_<backend>.json; one dataset only)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per forward pass (hrnet; default 16)")
    parser.add_argument("--device", default="auto", help="auto (cuda if available, else cpu), cpu, cuda, cuda:1 ...")
    parser.add_argument("--workers", type=int, default=None,
                        help="image-loading processes (default: 2 on a GPU, else 0 = in the main process)")
    parser.add_argument("--input-size", type=int, nargs=2, default=(256, 128), metavar=("H", "W"),
                        help="hrnet input size, multiples of 32 (default 256 128)")
    parser.add_argument("--no-flip-test", action="store_true", help="hrnet: no flip test (about twice as fast)")
    parser.add_argument("--save-every", type=int, default=1000, help="save after this many images (default 1000)")
    parser.add_argument("--save-interval", type=float, default=60.0,
                        help="...or after this many seconds (default 60)")
    parser.add_argument("--flag-threshold", type=float, default=0.3,
                        help="flag images whose mean keypoint score is below this (default 0.3)")
    parser.add_argument("--limit", type=int, help="process at most this many images not yet in the file")
    parser.add_argument("--overwrite", action="store_true", help="start again instead of resuming the output file")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="with --config-file: KEY VALUE overrides")
    args = parser.parse_args(argv)

    if (args.config_file is None) == (args.dataset is None):
        parser.error("give exactly one of --config-file and --dataset")
    if args.config_file is not None and not os.path.isfile(args.config_file):
        parser.error(f"--config-file {args.config_file}: no such file")
    if args.opts and args.config_file is None:
        parser.error(f"unrecognized arguments: {' '.join(args.opts)}")
    if args.root is not None and args.dataset is None:
        parser.error("--root goes with --dataset (a config's root is DATASETS.ROOT)")
    if args.backend == "hrnet":
        if not args.checkpoint:
            parser.error("--checkpoint is required with --backend hrnet: the path of the HRNet-w32 COCO weights "
                         "(e.g. td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth from mmpose's model "
                         "zoo; nothing is downloaded)")
        if not os.path.isfile(args.checkpoint):
            parser.error(f"--checkpoint {args.checkpoint}: no such file")
        if os.path.getsize(args.checkpoint) == 0:
            parser.error(f"--checkpoint {args.checkpoint}: the file is empty")
    elif args.checkpoint or args.pose_config:
        parser.error(f"--checkpoint and --pose-config are for --backend hrnet, not {args.backend}")
    for name in ("batch_size", "save_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.workers is not None and args.workers < 0:
        parser.error("--workers must be >= 0")
    if args.limit is not None and args.limit < 0:
        parser.error("--limit must be >= 0")
    h, w = args.input_size
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        parser.error(f"--input-size {h} {w}: both must be positive multiples of 32")
    return args


def estimator_of(args):
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.backend == "hrnet":
        kwargs = dict(checkpoint=args.checkpoint, device=device, input_size=tuple(args.input_size),
                      flip_test=False if args.no_flip_test else None)
        if args.pose_config:
            kwargs["config"] = args.pose_config
        return build_estimator("hrnet", **kwargs)
    return build_estimator("mediapipe")


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    datasets = datasets_of(args.config_file, args.opts, args.dataset, args.root)
    if args.output is not None and len(datasets) > 1:
        raise InputError(f"--output names one file, but the config has {len(datasets)} datasets "
                         f"({', '.join(d.name for d in datasets)}); leave it out to write one file in each "
                         f"dataset folder")
    estimator = estimator_of(args)
    try:
        for dataset in datasets:
            output = args.output or os.path.join(dataset.folder, f"keypoints_{args.backend}.json")
            start = time.monotonic()
            try:
                writer = extract(dataset, estimator, output, batch_size=args.batch_size, save_every=args.save_every,
                                 save_interval=args.save_interval, workers=args.workers, limit=args.limit,
                                 overwrite=args.overwrite)
                summarize(dataset, writer, time.monotonic() - start, args.flag_threshold)
            except (KeyboardInterrupt, SystemExit) as e:
                print(f"\ninterrupted: what was done is saved in {output}; run the same command again to resume",
                      file=sys.stderr)
                if isinstance(e, KeyboardInterrupt):
                    sys.exit(130)
                raise
    finally:
        estimator.close()


if __name__ == "__main__":
    exit_on_sigterm()
    main()
