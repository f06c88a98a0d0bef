"""Run configs through the training entry point and read back their ``results.json``: the library of
``tools/results_table.py`` and ``tools/sweep.py``.

Each run trains in its own subprocess and ``OUTPUT_DIR``; :meth:`G2DATrainer.write_results` leaves
the final evaluation in ``OUTPUT_DIR/results.json``. A run whose ``results.json`` exists is not
trained again (unless ``rerun``); an interrupted one resumes from its last checkpoint.
"""

import json
import logging
import os
import subprocess
import sys
from collections import OrderedDict
from datetime import timedelta

import numpy as np
from tabulate import tabulate

from ..utils.errors import MissingInputError, RunFailedError
from .trainer import RESULTS_FILE

logger = logging.getLogger(__name__)

#: Where the ``g2da_plugin`` package lives: the training subprocess imports it from there.
PACKAGE_PARENT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

#: The protocol settings a table reports, in order, with their names.
SETTINGS = OrderedDict([
    ("all-single", "SYSU all-search single-shot"),
    ("indoor-single", "SYSU indoor-search single-shot"),
    ("v2t", "RegDB visible to thermal"),
    ("t2v", "RegDB thermal to visible"),
])
TABLE_METRICS = ("R1", "R10", "R20", "mAP", "mINP")

#: The paper's reported numbers (R1, R10, R20, mAP; mINP is not reported).
REPORTED = OrderedDict([
    ("all-single", (57.07, 90.99, 96.28, 55.05)),
    ("indoor-single", (63.70, 94.06, 98.35, 69.83)),
    ("v2t", (71.72, 87.13, 91.92, 65.90)),
    ("t2v", (69.50, 84.87, 89.85, 63.88)),
])
#: The paper's ablation on SYSU all-search single-shot (R1, mAP).
REPORTED_ABLATION = OrderedDict([
    ("B", (49.17, 47.27)),
    ("B+O", (53.58, 52.00)),
    ("B+O+CL", (54.56, 53.52)),
    ("B+O+CL+G", (56.65, 54.83)),
    ("B+O+CL+G+MF (G2DA)", (57.07, 55.05)),
])


def run_dir(output_root, config_file):
    """``<output_root>/<config's folder name>/<config name>``, e.g. ``logs/benchmark/Synthetic/AGW_R18``."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(config_file)))
    return os.path.join(output_root, folder, os.path.splitext(os.path.basename(config_file))[0])


def load_results(output_dir):
    """The ``results.json`` of a finished run, checked for the keys the tools read."""
    path = os.path.join(output_dir, RESULTS_FILE)
    with open(path) as f:
        payload = json.load(f)
    for key in ("results", "train_time_s"):
        if key not in payload:
            raise ValueError(f"{path}: no {key!r}; expected a results file written by G2DATrainer")
    return payload


def train_command(config_file, output_dir, opts=(), resume=True, python=sys.executable):
    """The command line that trains ``config_file`` into ``output_dir`` (``python -m
    g2da_plugin.engine.train_net``; ``--resume`` continues an interrupted run)."""
    return [python, "-m", "g2da_plugin.engine.train_net", "--config-file", config_file,
            *(["--resume"] if resume else []), *[str(x) for x in opts], "OUTPUT_DIR", output_dir]


def run_config(config_file, output_dir, opts=(), rerun=False, python=sys.executable):
    """Train and evaluate ``config_file`` into ``output_dir`` (plus ``KEY VALUE`` ``opts``) unless
    its ``results.json`` is there already; return that file's contents.

    ``rerun`` trains from scratch; otherwise ``--resume`` continues an interrupted run from its last
    checkpoint. train_net's output goes to ``output_dir/train_net.out``; a failed run raises
    :class:`~g2da_plugin.utils.errors.RunFailedError` with its last line.
    """
    if not os.path.isfile(config_file):
        raise MissingInputError(f"config file not found: {config_file}")
    results_path = os.path.join(output_dir, RESULTS_FILE)
    if os.path.isfile(results_path):
        if not rerun:
            logger.info("%s: %s exists, not trained again", config_file, results_path)
            return load_results(output_dir)
        os.remove(results_path)  # a failed rerun must not leave the old numbers behind
    os.makedirs(output_dir, exist_ok=True)
    command = train_command(config_file, output_dir, opts, resume=not rerun, python=python)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (PACKAGE_PARENT, os.environ.get("PYTHONPATH")))))
    out_path = os.path.join(output_dir, "train_net.out")
    logger.info("%s: training into %s", config_file, output_dir)
    with open(out_path, "w") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        with open(out_path) as f:
            lines = [line.strip() for line in f if line.strip()]
        # the run's own last line says why (a g2da: line for a bad input)
        raise RunFailedError(f"{config_file} failed (exit code {code}), saying {lines[-1] if lines else 'nothing'!r}; "
                             f"its whole output: {out_path}")
    if not os.path.isfile(results_path):
        raise RunFailedError(f"{config_file} finished but wrote no {results_path}")
    return load_results(output_dir)


def combine_runs(runs):
    """Scores of one method from one or more runs (e.g. RegDB's trial splits).

    Returns ``(scores, train_time_s)``; ``scores`` maps ``(dataset, setting)`` to ``{metric: (mean,
    std)}`` for the :data:`SETTINGS` present. One run: its values and its own std (SYSU: over gallery
    draws; RegDB: None). Several runs: mean and standard deviation over the runs. Training times add.
    """
    first = runs[0]["results"]
    scores = OrderedDict()
    for dataset, values in first.items():
        for setting in SETTINGS:
            if f"{setting}/R1" not in values:
                continue
            cells = {}
            for metric in TABLE_METRICS:
                key = f"{setting}/{metric}"
                per_run = np.array([run["results"][dataset][key] for run in runs], dtype=np.float64)
                if len(runs) == 1:
                    cells[metric] = (float(per_run[0]), values.get(key + "_std"))
                else:
                    cells[metric] = (float(per_run.mean()), float(per_run.std()))
            scores[(dataset, setting)] = cells
    return scores, float(sum(run["train_time_s"] for run in runs))


def format_score(mean, std=None):
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def format_duration(seconds):
    """``h:mm:ss``, whole seconds."""
    return str(timedelta(seconds=int(round(seconds))))


def results_table(methods):
    """Markdown table of ``[(name, runs)]``: one row per method and protocol setting, columns R1, R10,
    R20, mAP, mINP and the training time (of all the method's runs together)."""
    datasets = {dataset for _, runs in methods for dataset in runs[0]["results"]}
    rows = []
    for name, runs in methods:
        scores, train_time = combine_runs(runs)
        for (dataset, setting), cells in scores.items():
            label = SETTINGS[setting] if len(datasets) == 1 else f"{dataset}: {SETTINGS[setting]}"
            rows.append([name, label, *(format_score(*cells[m]) for m in TABLE_METRICS),
                         format_duration(train_time)])
    return tabulate(rows, headers=["method", "setting", *TABLE_METRICS, "training time"], tablefmt="pipe",
                    disable_numparse=True)


def reported_table(settings):
    """Markdown of the paper's reported numbers for ``settings`` (and its ablation when SYSU
    all-search single-shot is among them), each clearly labelled as reported."""
    rows = [["G2DA (reported in the paper)", SETTINGS[s], *(f"{v:.2f}" for v in REPORTED[s]), "–"]
            for s in settings if s in REPORTED]
    parts = [tabulate(rows, headers=["method", "setting", "R1", "R10", "R20", "mAP", "mINP"],
                      tablefmt="pipe", disable_numparse=True)]
    if "all-single" in settings:
        ablation = [[name, f"{r1:.2f}", f"{m:.2f}"] for name, (r1, m) in REPORTED_ABLATION.items()]
        parts.append("Ablation reported in the paper (SYSU all-search single-shot):\n\n" +
                     tabulate(ablation, headers=["model", "R1", "mAP"], tablefmt="pipe", disable_numparse=True))
    return "\n\n".join(parts)


def method_runs(config_file, output_root, opts=(), regdb_trials=None, rerun=False):
    """Every run of one config: one, or one per RegDB trial (into ``.../trial<N>``)."""
    output_dir = run_dir(output_root, config_file)
    if not regdb_trials:
        return [run_config(config_file, output_dir, opts, rerun=rerun)]
    return [run_config(config_file, os.path.join(output_dir, f"trial{t}"), list(opts) + ["DATASETS.REGDB_TRIAL", t],
                       rerun=rerun) for t in regdb_trials]


def table_caption(methods, command):
    """The sentence above a results table: the command that made it and how to read it."""
    roots = sorted({run["dataset_root"] for _, runs in methods for run in runs})
    return (f"Cross-modality results (%) made by `{command}`, on `DATASETS.ROOT` {', '.join(roots)}. "
            "SYSU: mean ± std over the gallery draws; RegDB: one model per trial split, mean ± std over "
            "the splits when several. Training time: wall time of training with its evaluations, all "
            "runs of the row together.")


def write_results_table(configs, output, names=None, output_root="logs/benchmark", opts=(), regdb_trials=None,
                        reported=False, rerun=False, command=""):
    """Train (or reuse) every config, write the markdown table to ``output`` and return its text."""
    methods = [(name, method_runs(config, output_root, opts, regdb_trials, rerun))
               for name, config in zip(names or configs, configs)]
    parts = [table_caption(methods, command), results_table(methods)]
    if reported:
        settings = [s for s in SETTINGS if any(f"{s}/R1" in scores for _, runs in methods
                                               for scores in runs[0]["results"].values())]
        parts.append("Reported in the paper (not measured here):\n\n" + reported_table(settings))
    text = "\n\n".join(parts) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        f.write(text)
    return text
