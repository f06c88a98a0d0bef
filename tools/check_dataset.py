#!/usr/bin/env python
"""Check a dataset folder and its keypoints file before a long run (g2da_plugin/data/check.py).

    python tools/check_dataset.py --config-file projects/G2DA/configs/sysu_G2DA.yml [KEY VALUE ...]
    python tools/check_dataset.py --dataset RegDB_CM --root datasets [--no-keypoints] [--workers 8]

Every image of the dataset must decode, the split files must parse, and (unless --no-keypoints, or
a config whose INPUT.KEYPOINTS is off) every image must have finite keypoints in
INPUT.KEYPOINTS.FILE. Prints the identities and images per modality and camera beside the numbers the
releases publish (SYSU-MM01: 395 training identities, 22,258 RGB and 11,909 IR training images, 3,803
IR queries of 96 test identities; RegDB: 2,060 visible and 2,060 thermal test images per trial) and
flags what differs. Exit code 0 when nothing is flagged, 2 otherwise.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes, dataset registration)
from g2da_plugin.config import load_config  # noqa: E402
from g2da_plugin.data.check import check_dataset  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="check_dataset.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config-file", metavar="FILE", help="a g2da config: its DATASETS.NAMES and TESTS")
    source.add_argument("--dataset", metavar="NAME", help="a registered dataset, e.g. SYSUMM01_CM or RegDB_CM")
    parser.add_argument("--root", metavar="DIR", help="with --dataset: DATASETS.ROOT")
    parser.add_argument("--no-keypoints", action="store_true", help="do not check a keypoints file")
    parser.add_argument("--workers", type=int, default=4, help="threads decoding images (default 4)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    if args.root is not None and args.dataset is None:
        parser.error("--root goes with --dataset (a config's root is DATASETS.ROOT)")
    if args.workers < 1:
        parser.error("--workers must be >= 1")
    return args


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config_file, args.opts)
    if args.root is not None:
        cfg.DATASETS.ROOT = args.root
    names = [args.dataset] if args.dataset else list(dict.fromkeys(list(cfg.DATASETS.NAMES) + list(cfg.DATASETS.TESTS)))
    keypoints = not args.no_keypoints and (args.dataset is not None or cfg.INPUT.KEYPOINTS.ENABLED)
    flagged = 0
    for name in names:
        report, problems = check_dataset(cfg, name, workers=args.workers, keypoints=keypoints)
        print(report)
        for problem in problems:
            print(f"  flagged: {problem}")
        flagged += len(problems)
        print()
    return 2 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
