"""One config trained once per value of one key, and R1 / mAP plotted against it (the paper's Fig. 7):
the library of ``tools/sweep.py``."""

import argparse
import ast
import csv
import os

from fastreid.config import CfgNode
from tabulate import tabulate

from ..utils.errors import InputError
from .defaults import setup_cfg
from .experiments import SETTINGS, combine_runs, format_score, run_config, run_dir

#: The paper's Fig. 7 parameters: config key and the range the paper sweeps.
PRESETS = {
    "epsilon": ("MODEL.LOSSES.PART_CONTRASTIVE.MARGIN", ["0.5", "1.0", "1.5", "2.0", "2.5", "3.0"]),
    "phi": ("MODEL.LOSSES.OT.PHI", ["0.1", "0.3", "0.5", "0.8", "1.0"]),
    "theta": ("MODEL.MFA.THETA", ["0.0", "0.01", "0.02", "0.03", "0.04"]),
    "lambda_c": ("MODEL.LOSSES.PART_CONTRASTIVE.SCALE", ["0.01", "0.05", "0.1", "0.5", "1.0"]),
}
PLOTTED = ("R1", "mAP")


def config_value(cfg, key):
    """The value of a dotted ``key`` in ``cfg``; KeyError naming the key when it is not there."""
    node = cfg
    for part in key.split("."):
        if not isinstance(node, CfgNode) or part not in node:
            raise InputError(f"{key} is not a config key (no {part!r} there)")
        node = node[part]
    return node


def sweep_values(texts, current, key):
    """``texts`` parsed as numbers of the key's type (an int written for a float key becomes a float,
    which yacs would otherwise refuse)."""
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise InputError(f"{key} is {current!r}, not a number: the sweep plots numeric values")
    values = []
    for text in texts:
        try:
            value = ast.literal_eval(str(text))
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"--values: {text!r} is not a number")
        if isinstance(current, int) and not isinstance(value, int):
            raise InputError(f"{key} is an integer key; {text!r} is not an integer")
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
            raise InputError(f"the runs report {available}, not the setting {setting!r}")
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


def run_sweep(config_file, key, value_texts, output, setting=None, output_root="logs/sweep", opts=(), rerun=False):
    """Train ``config_file`` once per value of ``key`` (finished runs are reused) into
    ``<output_root>/<folder>/<config>/<KEY>_<value>`` and write the plot and its points; returns
    the paths written. An unknown key or a value of the wrong type stops before any training."""
    cfg = setup_cfg(argparse.Namespace(config_file=config_file, opts=list(opts)))
    values = sweep_values(value_texts, config_value(cfg, key), key)
    base = run_dir(output_root, config_file)
    runs = [run_config(config_file, os.path.join(base, f"{key}_{value}"), list(opts) + [key, repr(value)],
                       rerun=rerun) for value in values]
    setting, points = sweep_points(values, runs, setting)
    return write_sweep(points, output, key, setting)
