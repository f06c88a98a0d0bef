"""Run configs through the training entry point and read back their ``results.json``: the library of
``tools/results_table.py`` and ``tools/sweep.py``.

Each run trains in its own subprocess and ``OUTPUT_DIR``; :meth:`G2DATrainer.write_results` leaves
the final evaluation in ``OUTPUT_DIR/results.json``. A run whose ``results.json`` exists is not
trained again (unless ``rerun``); an interrupted one resumes from its last checkpoint. With seeds,
each config trains once per ``SEED`` (into ``.../seed<S>``) and the table gives the mean and spread
over the seeds, and each method's paired difference from the first config, seed by seed.
"""

import json
import logging
import os
import subprocess
import sys
from collections import OrderedDict
from datetime import timedelta

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import stats
from tabulate import tabulate

from ..utils.errors import InputError, MissingInputError, RunFailedError
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
    ("ir2vis", "LLCM IR to visible"),
    ("vis2ir", "LLCM visible to IR"),
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


def run_config(config_file, output_dir, opts=(), rerun=False, python=sys.executable, threads=None):
    """Train and evaluate ``config_file`` into ``output_dir`` (plus ``KEY VALUE`` ``opts``) unless
    its ``results.json`` is there already; return that file's contents.

    ``rerun`` trains from scratch; otherwise ``--resume`` continues an interrupted run from its last
    checkpoint. train_net's output goes to ``output_dir/train_net.out``; a failed run raises
    :class:`~g2da_plugin.utils.errors.RunFailedError` with its last line. ``threads`` caps the run's
    CPU threads (``OMP_NUM_THREADS``), for runs that share the machine.
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
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
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


def method_jobs(config_file, output_root, opts=(), regdb_trials=None, seed=None):
    """``[(output_dir, opts)]``, every run of one config (and seed): one, or one per RegDB trial (into
    ``.../trial<N>``); a seed goes into ``.../seed<S>`` with ``SEED S``."""
    output_dir = run_dir(output_root, config_file)
    opts = list(opts)
    if seed is not None:
        output_dir, opts = os.path.join(output_dir, f"seed{seed}"), opts + ["SEED", seed]
    if not regdb_trials:
        return [(output_dir, opts)]
    return [(os.path.join(output_dir, f"trial{t}"), opts + ["DATASETS.REGDB_TRIAL", t]) for t in regdb_trials]


def run_all(jobs, rerun=False, parallel=1):
    """Run ``[(config_file, output_dir, opts)]``, ``parallel`` at a time (each with the machine's
    cores shared out as threads), and return their results in order."""
    threads = max(1, (os.cpu_count() or 1) // parallel) if parallel > 1 else None
    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(lambda job: run_config(*job, rerun=rerun, threads=threads), jobs))


def method_runs(config_file, output_root, opts=(), regdb_trials=None, rerun=False):
    """Every run of one config: one, or one per RegDB trial (into ``.../trial<N>``)."""
    return run_all([(config_file, *job) for job in method_jobs(config_file, output_root, opts, regdb_trials)], rerun)


def sysu_conventions(runs):
    """The SYSU-MM01 gallery conventions (``TEST.SYSU.GALLERY``) the runs' SYSU numbers used."""
    return sorted({run.get("sysu_gallery", "community") for run in runs
                   if any(d.startswith("SYSU") for d in run.get("datasets", ()))})


def convention_note(runs):
    conventions = sysu_conventions(runs)
    return f"; SYSU-MM01 gallery draws: {', '.join(conventions)} (`TEST.SYSU.GALLERY`)" if conventions else ""


def postprocessing(run):
    """The test-time post-processing behind a run's numbers (``results.json``'s ``postprocess``), "none" for
    plain distances."""
    return ", ".join(run.get("postprocess", [])) or "none"


def postprocess_note(named_runs):
    """The caption's note of the AQE / re-ranking behind ``[(method, runs)]``'s numbers, method by method
    when they differ; empty when every number comes from plain distances."""
    by_method = OrderedDict()
    for name, runs in named_runs:
        by_method.setdefault(name, set()).update(postprocessing(run) for run in runs)
    kinds = set().union(*by_method.values())
    if kinds <= {"none"}:
        return ""
    if len(kinds) == 1:
        return f"; every number after {kinds.pop()} (`TEST.AQE`, `TEST.RERANK`), not comparable with plain ones"
    return "; post-processing (`TEST.AQE`, `TEST.RERANK`): " + "; ".join(
        f"{name}: {' / '.join(sorted(labels))}" for name, labels in by_method.items())


def caption(methods, command, reading):
    """The sentence above a table of ``[(name, runs)]``: the command that made it, the data, the gallery
    convention and post-processing behind the numbers, then ``reading`` (how to read the table)."""
    runs = [run for _, method_runs in methods for run in method_runs]
    roots = sorted({run["dataset_root"] for run in runs})
    return (f"Cross-modality results (%) made by `{command}`, on `DATASETS.ROOT` {', '.join(roots)}"
            f"{convention_note(runs)}{postprocess_note(methods)}. {reading}")


def table_caption(methods, command):
    """The caption of a results table (:func:`caption`)."""
    return caption(methods, command,
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


# ---------------------------------------------------------------------------------------- over seeds
def seed_scores(runs_by_seed):
    """``{(dataset, setting): {metric: [value per seed]}}`` plus, under metric ``"R1 draws"``, each
    seed's spread of R1 over the gallery draws (SYSU; RegDB: None); a seed of several runs (RegDB
    trials) counts their mean."""
    out = OrderedDict()
    for runs in runs_by_seed.values():
        scores, _ = combine_runs(runs)
        for key, cells in scores.items():
            entry = out.setdefault(key, OrderedDict((m, []) for m in (*TABLE_METRICS, "R1 draws")))
            for metric in TABLE_METRICS:
                entry[metric].append(cells[metric][0])
            entry["R1 draws"].append(cells["R1"][1] if len(runs) == 1 else None)
    return out


def mean_std(values):
    """``mean ± std`` (sample std, n - 1) of a list; the value alone for one."""
    values = np.asarray(values, dtype=np.float64)
    return format_score(values.mean(), values.std(ddof=1) if len(values) > 1 else None)


def seeds_table(methods):
    """Markdown: ``[(name, {seed: runs})]`` -> mean ± std over the seeds per method and setting, the
    mean spread over gallery draws beside it, and the training time of all the method's runs."""
    datasets = {dataset for _, by_seed in methods for runs in by_seed.values() for dataset in runs[0]["results"]}
    rows = []
    for name, by_seed in methods:
        train_time = sum(run["train_time_s"] for runs in by_seed.values() for run in runs)
        for (dataset, setting), values in seed_scores(by_seed).items():
            label = SETTINGS[setting] if len(datasets) == 1 else f"{dataset}: {SETTINGS[setting]}"
            draws = [v for v in values["R1 draws"] if v is not None]
            rows.append([name, label, str(len(by_seed)), *(mean_std(values[m]) for m in TABLE_METRICS),
                         f"{np.mean(draws):.2f}" if draws else "–", format_duration(train_time)])
    return tabulate(rows, headers=["method", "setting", "seeds", *TABLE_METRICS, "R1 std over draws (mean)",
                                   "training time"], tablefmt="pipe", disable_numparse=True)


def paired_table(methods, metrics=("R1", "mAP"), pairs=None):
    """Markdown: seed by seed over the seeds both have, each ``(method, reference)`` of ``pairs`` (names;
    default: every method against the first), mean ± std of the differences and the two-sided paired
    t-test's p."""
    by_name = dict(methods)
    pairs = pairs or [(name, methods[0][0]) for name, _ in methods[1:]]
    rows = []
    for name, reference_name in pairs:
        by_seed, reference = by_name[name], by_name[reference_name]
        common = [seed for seed in by_seed if seed in reference]
        if len(common) < 2:
            continue
        ours = seed_scores({seed: by_seed[seed] for seed in common})
        theirs = seed_scores({seed: reference[seed] for seed in common})
        for key, values in ours.items():
            if key not in theirs:
                continue
            cells = []
            for metric in metrics:
                diff = np.subtract(values[metric], theirs[key][metric])
                p = stats.ttest_rel(values[metric], theirs[key][metric]).pvalue if diff.std() > 0 else float("nan")
                cells += [mean_std(diff), f"{p:.2g}"]  # two significant digits: p = 0.003 must not read 0.00
            rows.append([f"{name} - {reference_name}", SETTINGS[key[1]], str(len(common)), *cells])
    headers = ["difference", "setting", "seeds"]
    for metric in metrics:
        headers += [f"{metric} (mean ± std over seeds)", f"{metric} p (paired t)"]
    return tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True)


def seeds_caption(methods, command):
    """The caption of a seeds table of ``[(name, {seed: runs})]`` (:func:`caption`)."""
    return caption([(name, [run for runs in by_seed.values() for run in runs]) for name, by_seed in methods], command,
                   "Each config trained once per seed (`SEED`); mean ± std (sample std) over the seeds, each seed "
                   "scored as the mean over its gallery draws (SYSU) or trial splits (RegDB). The spread of one "
                   "model over the gallery draws, averaged over the seeds, is given apart. Training time: wall "
                   "time of all the method's runs together.")


def write_seeds_table(configs, output, seeds, seed_counts=None, names=None, output_root="logs/benchmark", opts=(),
                      regdb_trials=None, rerun=False, parallel=1, command="", steps=None):
    """Train (or reuse) every config once per seed (config i: the first ``seed_counts[i]`` of
    ``seeds``), write the seeds table and the paired differences from the first config to ``output``,
    and return the text. ``steps``, method names in order, adds each one's paired difference from the
    one before it (an ablation ladder: what each added part changes)."""
    names = names or configs
    unknown = [name for name in steps or () if name not in names]
    if unknown:  # before any training
        raise InputError(f"--steps {unknown}: not among the methods {list(names)}")
    counts = seed_counts or [len(seeds)] * len(configs)
    plan = [(config, seed, job) for config, count in zip(configs, counts) for seed in seeds[:count]
            for job in method_jobs(config, output_root, opts, regdb_trials, seed)]
    results = run_all([(config, *job) for config, _, job in plan], rerun, parallel)
    methods = []
    for name, config in zip(names, configs):
        by_seed = OrderedDict()
        for (c, seed, _), result in zip(plan, results):
            if c == config:
                by_seed.setdefault(seed, []).append(result)
        methods.append((name, by_seed))
    parts = [seeds_caption(methods, command), seeds_table(methods),
             f"Paired differences from {methods[0][0]} (same seed):", paired_table(methods)]
    if steps:
        parts += ["Paired differences along the steps, each from the one before (same seed):",
                  paired_table(methods, pairs=list(zip(steps[1:], steps[:-1])))]
    text = "\n\n".join(parts) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        f.write(text)
    with open(os.path.splitext(output)[0] + ".json", "w") as f:
        json.dump(seeds_payload(methods, command), f, indent=1)
    return text


def seeds_payload(methods, command):
    """The seeds table's numbers, machine-readable: ``{"command", "methods": {name: {"seeds": [...],
    "scores": {setting: {metric: [value per seed]}}}}}`` (what :func:`compare_with_seeds` reads)."""
    return {"command": command, "methods": {
        name: {"seeds": list(by_seed), "scores": {setting: {m: v[m] for m in TABLE_METRICS}
                                                  for (_, setting), v in seed_scores(by_seed).items()}}
        for name, by_seed in methods}}


def compare_with_seeds(output_dir, seeds_json, methods=None):
    """Markdown: the run in ``output_dir`` (its ``results.json``) beside mean ± std over seeds of
    ``methods`` (default: all) from a seeds table's JSON, for every setting both have."""
    for path, what in ((os.path.join(output_dir, RESULTS_FILE), "the run's results (train it first)"),
                       (seeds_json, "a seeds table's JSON (tools/results_table.py --seeds writes it)")):
        if not os.path.isfile(path):
            raise MissingInputError(f"{path} not found: expected {what}")
    run = load_results(output_dir)
    with open(seeds_json) as f:
        payload = json.load(f)
    names = methods or list(payload["methods"])
    unknown = [n for n in names if n not in payload["methods"]]
    if unknown:
        raise MissingInputError(f"{seeds_json}: no method {unknown}; it has {list(payload['methods'])}")
    after = "" if postprocessing(run) == "none" else f", after {postprocessing(run)}"
    rows = []
    for values in run["results"].values():
        for setting in SETTINGS:
            if f"{setting}/R1" not in values:
                continue
            rows.append([f"this run ({os.path.basename(os.path.normpath(output_dir))}{after})", SETTINGS[setting], "1",
                         *(format_score(values[f"{setting}/{m}"]) for m in TABLE_METRICS)])
            for name in names:
                scores = payload["methods"][name]["scores"].get(setting)
                if scores:
                    rows.append([name, SETTINGS[setting], str(len(scores["R1"])),
                                 *(mean_std(scores[m]) for m in TABLE_METRICS)])
    return tabulate(rows, headers=["model", "setting", "runs", *TABLE_METRICS], tablefmt="pipe",
                    disable_numparse=True)
