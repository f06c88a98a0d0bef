#!/usr/bin/env python
"""Train and evaluate a list of configs, then write one markdown table of their results.

    python tools/results_table.py --configs configs/Synthetic/bagtricks_R18.yml \\
        projects/G2DA/configs/demo.yml --output table.md [--names bagtricks B] \\
        [--output-root logs/benchmark] [--dataset-root DIR] [--regdb-trials 1 2 ... 10] \\
        [--reported] [--rerun] [--seeds 0 1 2 3 4 [--seed-counts 5 3 ...] [--steps B B+O ...]] [--jobs 2]
        [--opts KEY VALUE ...]

Each config trains (``python -m g2da_plugin.engine.train_net``) into ``<output-root>/<folder>/<name>``
(RegDB: one run per ``--regdb-trials`` split, in ``.../trial<N>``); a run that has its ``results.json``
is not trained again (``--rerun`` forces it), an interrupted one resumes. Rows: R1, R10, R20, mAP,
mINP for SYSU-MM01 all-search and indoor-search single-shot (mean ± std over the gallery draws) or
RegDB both directions (mean ± std over the trials), and the training time. ``--reported`` adds the
paper's reported numbers, labelled as such. ``--opts`` (last) passes ``KEY VALUE`` overrides to
every run.

``--seeds S1 S2 ...`` trains each config once per seed (``SEED``, into ``.../seed<S>``; config i
only the first ``--seed-counts[i]`` seeds): the table gives mean ± std over the seeds, the spread
over gallery draws apart, and a paired row per method: its difference from the first config, seed
by seed, with the paired t-test's p; ``--steps NAME ...`` adds each named method's paired difference
from the one named before it. ``--jobs N`` trains N runs at a time, the cores shared out.
"""

import argparse
import logging
import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes)
from g2da_plugin.engine.experiments import run_dir, write_results_table, write_seeds_table  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="results_table.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", required=True, metavar="YML", help="configs, one row group each")
    parser.add_argument("--output", required=True, metavar="MD", help="markdown file to write")
    parser.add_argument("--names", nargs="+", metavar="NAME", help="row names (default: the config paths)")
    parser.add_argument("--output-root", default="logs/benchmark", metavar="DIR",
                        help="where the runs go (default logs/benchmark)")
    parser.add_argument("--dataset-root", metavar="DIR", help="DATASETS.ROOT for every run")
    parser.add_argument("--regdb-trials", nargs="+", type=int, metavar="N",
                        help="RegDB trial splits to train and average (DATASETS.REGDB_TRIAL)")
    parser.add_argument("--reported", action="store_true", help="add the paper's reported numbers")
    parser.add_argument("--rerun", action="store_true", help="train again even where results.json exists")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="S",
                        help="train each config once per seed; the table gives mean ± std over the seeds")
    parser.add_argument("--seed-counts", nargs="+", type=int, metavar="N",
                        help="with --seeds: config i trains the first N_i seeds (default: all)")
    parser.add_argument("--steps", nargs="+", metavar="NAME",
                        help="with --seeds: method names in order; adds each one's paired difference from the one "
                             "before (e.g. B B+O B+O+CL: what each added part changes)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="runs trained at a time (default 1)")
    parser.add_argument("--opts", nargs=argparse.REMAINDER, default=[], metavar="KEY VALUE",
                        help="config overrides for every run (must come last)")
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.configs):
        parser.error(f"--names gives {len(args.names)} names for {len(args.configs)} configs")
    if len(args.opts) % 2:
        parser.error(f"--opts needs KEY VALUE pairs, got {len(args.opts)} items")
    if args.regdb_trials and any(not 1 <= t <= 10 for t in args.regdb_trials):
        parser.error(f"--regdb-trials must be in 1..10, got {args.regdb_trials}")
    if args.seed_counts and (not args.seeds or len(args.seed_counts) != len(args.configs)
                             or any(not 1 <= n <= len(args.seeds) for n in args.seed_counts)):
        parser.error("--seed-counts needs --seeds and one count in 1..len(--seeds) per config")
    if args.steps and not args.seeds:
        parser.error("--steps goes with --seeds")
    if args.seeds and args.reported:
        parser.error("--reported goes with the single-run table, not with --seeds")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    dirs = [run_dir(args.output_root, c) for c in args.configs]
    if len(set(dirs)) != len(dirs):
        parser.error("two configs share a folder and file name, so their runs would share a directory: "
                     + ", ".join(args.configs))
    return args


@exit_on_input_error
def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    opts = list(args.opts) + (["DATASETS.ROOT", args.dataset_root] if args.dataset_root else [])
    command = "python tools/results_table.py " + shlex.join(str(a) for a in argv)
    if args.seeds:
        text = write_seeds_table(args.configs, args.output, args.seeds, args.seed_counts, names=args.names,
                                 output_root=args.output_root, opts=opts, regdb_trials=args.regdb_trials,
                                 rerun=args.rerun, parallel=args.jobs, command=command, steps=args.steps)
    else:
        text = write_results_table(args.configs, args.output, names=args.names, output_root=args.output_root,
                                   opts=opts, regdb_trials=args.regdb_trials, reported=args.reported,
                                   rerun=args.rerun, command=command)
    print(text)


if __name__ == "__main__":
    main()
