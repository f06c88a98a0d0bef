#!/usr/bin/env python
"""Write the synthetic SYSU-MM01, RegDB and LLCM look-alikes (see g2da_plugin/data/synthetic/).

    python tools/make_synthetic_data.py --output datasets/synthetic --seed 0
        [--sysu-train-ids 48] [--sysu-val-ids 16] [--sysu-test-ids 32] [--sysu-images-per-cam 2 5]
        [--regdb-ids 40] [--regdb-images-per-modality 10]
        [--llcm-train-ids 16] [--llcm-test-ids 8] [--llcm-images-per-cam 1 3] [--only {sysu,regdb,llcm}]

Point DATASETS.ROOT at the output folder to train and test on them. Running it again with the
same arguments reuses what is there.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from g2da_plugin.data.synthetic import (  # noqa: E402
    describe_llcm, describe_regdb, describe_sysu, make_synthetic_llcm, make_synthetic_regdb, make_synthetic_sysu,
)
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="datasets/synthetic", help="folder to hold SYSU-MM01/, RegDB/ and LLCM/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=("sysu", "regdb", "llcm"), help="write one dataset only")
    parser.add_argument("--sysu-train-ids", type=int, default=48)
    parser.add_argument("--sysu-val-ids", type=int, default=16)
    parser.add_argument("--sysu-test-ids", type=int, default=32)
    parser.add_argument("--sysu-images-per-cam", type=int, nargs=2, default=(2, 5), metavar=("FEWEST", "MOST"))
    parser.add_argument("--regdb-ids", type=int, default=40)
    parser.add_argument("--regdb-images-per-modality", type=int, default=10)
    parser.add_argument("--llcm-train-ids", type=int, default=16)
    parser.add_argument("--llcm-test-ids", type=int, default=8)
    parser.add_argument("--llcm-images-per-cam", type=int, nargs=2, default=(1, 3), metavar=("FEWEST", "MOST"))
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    jobs = []
    if args.only in (None, "sysu"):
        jobs.append((lambda: make_synthetic_sysu(
            args.output, num_train_ids=args.sysu_train_ids, num_val_ids=args.sysu_val_ids,
            num_test_ids=args.sysu_test_ids, images_per_cam=tuple(args.sysu_images_per_cam), seed=args.seed),
            describe_sysu))
    if args.only in (None, "regdb"):
        jobs.append((lambda: make_synthetic_regdb(
            args.output, num_ids=args.regdb_ids, images_per_modality=args.regdb_images_per_modality,
            seed=args.seed), describe_regdb))
    if args.only in (None, "llcm"):
        jobs.append((lambda: make_synthetic_llcm(
            args.output, num_train_ids=args.llcm_train_ids, num_test_ids=args.llcm_test_ids,
            images_per_cam=tuple(args.llcm_images_per_cam), seed=args.seed), describe_llcm))
    for make, describe in jobs:
        start = time.perf_counter()
        path = make()
        print(f"{path}  (seed {args.seed}, ready in {time.perf_counter() - start:.1f} s)")
        print("\n".join(describe(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
