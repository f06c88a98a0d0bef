#!/usr/bin/env python
"""Train a config once per value of one key and plot R1 and mAP against it (the paper's Fig. 7).

    python tools/sweep.py --config-file projects/G2DA/configs/demo_G2DA.yml --param epsilon \\
        --output sweep_epsilon.png [--values 0.5 1 1.5 2 2.5 3] [--setting all-single] \\
        [--output-root logs/sweep] [--dataset-root DIR] [--rerun] [--opts KEY VALUE ...]
    python tools/sweep.py --config-file X.yml --key MODEL.LOSSES.PCL.MARGIN --values 1 2 3 --output sweep.png

``--param`` names one of the paper's four (its key, and by default the range of Fig. 7):
epsilon (MODEL.LOSSES.PCL.MARGIN), phi (MODEL.LOSSES.OT.PHI), theta (MODEL.MFA.THETA), lambda_c
(MODEL.LOSSES.PCL.SCALE); ``--key`` takes any numeric config key. Each value trains through
tools/train_net.py into ``<output-root>/<folder>/<config>/<KEY>_<value>`` (a finished run is reused,
``--rerun`` trains again). Writes the plot, and the points beside it as ``.csv`` and ``.md``.
"""

import argparse
import ast
import csv
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (fastreid compatibility fixes)
from fastreid.config import CfgNode  # noqa: E402
from tabulate import tabulate  # noqa: E402

from g2da_plugin.engine import setup_cfg  # noqa: E402
from g2da_plugin.engine.benchmark import SETTINGS, combine_runs, format_score, run_config, run_dir  # noqa: E402

#: The paper's Fig. 7 parameters: config key and the range the paper sweeps.
PRESETS = {
    "epsilon": ("MODEL.LOSSES.PCL.MARGIN", ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0"]),
    "phi": ("MODEL.LOSSES.OT.PHI", ["0.1", "0.3", "0.5", "0.8", "1.0"]),
    "theta": ("MODEL.MFA.THETA", ["0.0", "0.01", "0.02", "0.03", "0.04"]),
    "lambda_c": ("MODEL.LOSSES.PCL.SCALE", ["0.01", "0.05", "0.1", "0.5", "1.0"]),
}
PLOTTED = ("R1", "mAP")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="sweep.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="YML")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--param", choices=sorted(PRESETS), help="one of the paper's four parameters")
    which.add_argument("--key", help="any numeric config key, e.g. MODEL.LOSSES.PCL.MARGIN")
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


def config_value(cfg, key):
    """The value of a dotted ``key`` in ``cfg``; KeyError naming the key when it is not there."""
    node = cfg
    for part in key.split("."):
        if not isinstance(node, CfgNode) or part not in node:
            raise KeyError(f"{key} is not a config key (no {part!r} there)")
        node = node[part]
    return node


def sweep_values(texts, current, key):
    """``texts`` parsed as numbers of the key's type (an int written for a float key becomes a float,
    which yacs would otherwise refuse)."""
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise ValueError(f"{key} is {current!r}, not a number: the sweep plots numeric values")
    values = []
    for text in texts:
        try:
            value = ast.literal_eval(str(text))
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"--values: {text!r} is not a number")
        if isinstance(current, int) and not isinstance(value, int):
            raise ValueError(f"{key} is an integer key; {text!r} is not an integer")
        values.append(float(value) if isinstance(current, float) else value)
    return values


def sweep_points(values, runs, setting=None):
    """``(setting, [(value, {metric: (mean, std)})])`` of one run per value, for the plotted metrics."""
    scores = [combine_runs([run])[0] for run in runs]
    available = [s for (_, s) in scores[0]]
    setting = setting or available[0]
    points = []
    for value, by_setting in zip(values, scores):
        cells = next((c for (_, s), c in by_setting.items() if s == setting), None)
        if cells is None:
            raise ValueError(f"the runs report {available}, not the setting {setting!r}")
        points.append((value, {m: cells[m] for m in PLOTTED}))
    return setting, points


def write_sweep(points, output, key, setting):
    """The plot (``output``, PNG) and the points beside it (``.csv``, ``.md``); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stem = os.path.splitext(output)[0]
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(stem + ".csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([key, *(f"{m}{suffix}" for m in PLOTTED for suffix in ("", "_std"))])
        for value, cells in points:
            writer.writerow([value, *(x if x is not None else "" for m in PLOTTED for x in cells[m])])
    with open(stem + ".md", "w") as f:
        rows = [[str(value), *(format_score(*cells[m]) for m in PLOTTED)] for value, cells in points]
        f.write(f"{SETTINGS[setting]}, {key}:\n\n"
                + tabulate(rows, headers=[key, *PLOTTED], tablefmt="pipe", disable_numparse=True) + "\n")

    # Evenly spaced positions labelled with the values: the paper's ranges span orders of magnitude.
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    positions = range(len(points))
    for metric, marker in zip(PLOTTED, ("o", "s")):
        means = [cells[metric][0] for _, cells in points]
        stds = [cells[metric][1] or 0.0 for _, cells in points]
        ax.errorbar(positions, means, yerr=stds, marker=marker, capsize=3, label=metric)
    ax.set_xticks(list(positions), [f"{value:g}" for value, _ in points])
    ax.set_xlabel(key)
    ax.set_ylabel("%")
    ax.set_title(SETTINGS[setting], fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output, stem + ".csv", stem + ".md"


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    opts = list(args.opts) + (["DATASETS.ROOT", args.dataset_root] if args.dataset_root else [])
    cfg = setup_cfg(argparse.Namespace(config_file=args.config_file, opts=opts))
    values = sweep_values(args.values, config_value(cfg, args.key), args.key)
    base = run_dir(args.output_root, args.config_file)
    runs = [run_config(args.config_file, os.path.join(base, f"{args.key}_{value}"), opts + [args.key, repr(value)],
                       rerun=args.rerun) for value in values]
    setting, points = sweep_points(values, runs, args.setting)
    for path in write_sweep(points, args.output, args.key, setting):
        print(f"wrote {path}")


if __name__ == "__main__":
    try:
        main()
    except (FileNotFoundError, KeyError, RuntimeError, ValueError) as e:
        sys.exit(f"sweep: {e.args[0] if isinstance(e, KeyError) else e}")
