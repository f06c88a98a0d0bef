#!/usr/bin/env python
"""Train a config once per value of one key and plot R1 and mAP against it (the paper's Fig. 7).

    python tools/sweep.py --config-file projects/G2DA/configs/demo_G2DA.yml --param epsilon \\
        --output sweep_epsilon.png [--values 0.5 1 1.5 2 2.5 3] [--setting all-single] \\
        [--output-root logs/sweep] [--dataset-root DIR] [--rerun] [--opts KEY VALUE ...]
    python tools/sweep.py --config-file X.yml --key MODEL.LOSSES.PART_CONTRASTIVE.MARGIN --values 1 2 3 --output sweep.png

``--param`` names one of the paper's four (its key, and by default the range of Fig. 7):
epsilon (MODEL.LOSSES.PART_CONTRASTIVE.MARGIN), phi (MODEL.LOSSES.OT.PHI), theta (MODEL.MFA.THETA),
lambda_c (MODEL.LOSSES.PART_CONTRASTIVE.SCALE); ``--key`` takes any numeric config key. Each value
trains (``python -m g2da_plugin.engine.train_net``) into ``<output-root>/<folder>/<config>/<KEY>_<value>``
(a finished run is reused, ``--rerun`` trains again). Writes the plot, and the points beside it as
``.csv`` and ``.md``.
"""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes)
from g2da_plugin.engine.experiments import SETTINGS  # noqa: E402
from g2da_plugin.engine.sweep import PRESETS, run_sweep  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="sweep.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="YML")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--param", choices=sorted(PRESETS), help="one of the paper's four parameters")
    which.add_argument("--key", help="any numeric config key, e.g. MODEL.LOSSES.PART_CONTRASTIVE.MARGIN")
    parser.add_argument("--values", nargs="+", metavar="V", help="values to train (default with --param: "
                                                                 "the paper's range)")
    parser.add_argument("--output", required=True, metavar="PNG", help="plot to write")
    parser.add_argument("--setting", choices=list(SETTINGS),
                        help="protocol setting plotted (default: the first one the runs report)")
    parser.add_argument("--output-root", default="logs/sweep", metavar="DIR", help="where the runs go")
    parser.add_argument("--dataset-root", metavar="DIR", help="DATASETS.ROOT for every run")
    parser.add_argument("--rerun", action="store_true", help="train again even where results.json exists")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], metavar="KEY VALUE",
                        help="config overrides for every run (must come last)")
    args = parser.parse_args(argv)
    if args.param:
        args.key, default_values = PRESETS[args.param]
        args.values = args.values or default_values
    elif not args.values:
        parser.error("--key needs --values")
    if len(args.opts) % 2:
        parser.error(f"--opts needs KEY VALUE pairs, got {len(args.opts)} items")
    return args


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    opts = list(args.opts) + (["DATASETS.ROOT", args.dataset_root] if args.dataset_root else [])
    for path in run_sweep(args.config_file, args.key, args.values, args.output, setting=args.setting,
                          output_root=args.output_root, opts=opts, rerun=args.rerun):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
