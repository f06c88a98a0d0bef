"""The paper from the datasets to one comparison table, resumable: the library of
``tools/reproduce_paper.py``.

Steps, in order, each skipped when it is done, so that a rerun of the same command continues where
the last one stopped:

a. check every dataset (:func:`g2da_plugin.data.check.check_dataset`, without keypoints: they may
   not exist yet); a passed check leaves ``<output root>/check_<dataset>.json``;
b. extract the keypoints with HRNet into the file the pose configs read (``INPUT.KEYPOINTS.FILE``;
   :func:`g2da_plugin.pose.extraction.extract`, which resumes a partial file); done when the file
   holds every image of the dataset;
c. train and evaluate every ablation and FastReID baseline, on RegDB once per trial
   (:mod:`.experiments`: a run with its ``results.json`` is done, an interrupted one resumes);
d. write ``<output root>/paper_comparison.md``: the measured numbers beside the paper's reported ones.

The plan (each step and run, what is done) is printed first. ``estimate`` times a few training steps
of each config still to train on this machine's device (:mod:`.benchmark_train`) and multiplies them
by the run's iterations; no time is printed that was not measured.
"""

import importlib.util
import json
import os
import tempfile
import time
from collections import OrderedDict, namedtuple
from types import SimpleNamespace

from fastreid.data.datasets import DATASET_REGISTRY
from tabulate import tabulate

from ..config import load_config
from ..data.build import keypoints_enabled, keypoints_file
from ..data.check import PUBLISHED, check_dataset
from ..data.images import dataset_images
from ..data.keypoints_io import load_keypoints, save_keypoints
from ..utils.errors import InputError, MissingInputError
from ..utils.file_io import atomic_write_text
from .experiments import (PACKAGE_PARENT, REPORTED, REPORTED_ABLATION, SETTINGS, TABLE_METRICS, combine_runs,
                          format_duration, format_score, method_jobs, run_all, table_caption)
from .trainer import RESULTS_FILE

#: ``--datasets`` keys and the registered datasets they train and test on.
DATASETS = OrderedDict([("sysu", "SYSUMM01_CM"), ("regdb", "RegDB_CM")])
#: Config-name suffixes of the ablation, in the order of the paper's (the names of REPORTED_ABLATION).
ABLATION_SUFFIXES = ("", "_BO", "_BOCL", "_BOCLG", "_G2DA")
FULL_MODEL = list(REPORTED_ABLATION)[-1]
#: FastReID's baselines: (name in the table, config-name stem).
BASELINES = (("bagtricks", "bagtricks"), ("AGW", "AGW"), ("SBS", "sbs"))
#: The synthetic RegDB trains the demo configs with their dataset swapped: the RegDB configs differ
#: from the SYSU ones by their datasets alone.
SYNTHETIC_REGDB = ("DATASETS.NAMES", '("RegDB_CM",)', "DATASETS.TESTS", '("RegDB_CM",)')
#: Per config set and dataset: (G2DA config stem, baseline config pattern, dataset overrides).
CONFIG_SETS = {
    "paper": {"sysu": ("projects/G2DA/configs/sysu", "configs/SYSU-MM01/{}_R50.yml", ()),
              "regdb": ("projects/G2DA/configs/regdb", "configs/RegDB/{}_R50.yml", ())},
    "synthetic": {"sysu": ("projects/G2DA/configs/demo", "configs/Synthetic/{}_R18.yml", ()),
                  "regdb": ("projects/G2DA/configs/demo", "configs/Synthetic/{}_R18.yml", SYNTHETIC_REGDB)},
}
TABLE_FILE = "paper_comparison.md"
#: tools/extract_keypoints.py's defaults.
EXTRACTION = dict(batch_size=16, save_every=1000, save_interval=60.0)
FLAG_THRESHOLD = 0.3
#: Untimed training steps before the timed ones of ``estimate`` (loader workers start, kernels tune).
ESTIMATE_WARMUP = 5
NOT_MEASURED = "not measured: run with --estimate"

Run = namedtuple("Run", "dataset name trial config_file output_dir opts")


class KeypointsTarget:
    """A keypoints file of the pose configs and the dataset images it does not hold yet."""

    def __init__(self, cfg, key):
        self.images = dataset_images(cfg, DATASETS[key])
        self.path = keypoints_path(cfg, key)
        held = load_keypoints(self.path) if os.path.isfile(self.path) else {}
        self.missing = [image for image in self.images.images if image not in held]


class Plan:
    """Every step of one reproduction and what of it is done (module docstring)."""

    def __init__(self, datasets_root, output_root, datasets, regdb_trials, config_set, imagenet_weights, opts):
        self.datasets_root, self.output_root, self.config_set = datasets_root, output_root, config_set
        self.checks, self.keypoints, self.runs = [], [], []
        weights = ["MODEL.BACKBONE.PRETRAIN_PATH", imagenet_weights] if imagenet_weights else []
        for key in datasets:
            configs, dataset_opts = method_configs(config_set, key)
            # the user's overrides come last: they win
            common = [*dataset_opts, "DATASETS.ROOT", datasets_root, *weights, *opts]
            self.checks.append((key, load_config(configs[0][1], common)))
            paths = set()
            for name, config in configs:
                cfg = load_config(config, common)
                if keypoints_enabled(cfg) and keypoints_path(cfg, key) not in paths:
                    paths.add(keypoints_path(cfg, key))
                    self.keypoints.append(KeypointsTarget(cfg, key))
                trials = regdb_trials if key == "regdb" else None
                jobs = method_jobs(config, os.path.join(output_root, key), common, trials)
                for trial, (output_dir, run_opts) in zip(trials or [None], jobs):
                    self.runs.append(Run(key, name, trial, config, output_dir, run_opts))

    def check_marker(self, key):
        return os.path.join(self.output_root, f"check_{key}.json")

    def check_done(self, key):
        path = self.check_marker(key)
        if not os.path.isfile(path):
            return False
        with open(path) as f:
            return json.load(f).get("dataset_root") == os.path.abspath(self.datasets_root)

    def pending_runs(self):
        return [run for run in self.runs if not run_done(run)]


def dataset_dir(key):
    """``SYSU-MM01`` or ``RegDB``: the folder the registered dataset reads under ``DATASETS.ROOT``."""
    return DATASET_REGISTRY.get(DATASETS[key]).dataset_dir


def keypoints_path(cfg, key):
    """The keypoints file ``cfg`` reads for dataset ``key`` (without listing the dataset)."""
    return keypoints_file(cfg, SimpleNamespace(dataset_root=os.path.join(cfg.DATASETS.ROOT, dataset_dir(key))))


def method_configs(config_set, key):
    """``([(method name, config file)], dataset overrides)``: the ablation, then the baselines."""
    g2da, baseline, dataset_opts = CONFIG_SETS[config_set][key]
    configs = [(name, f"{g2da}{suffix}.yml") for name, suffix in zip(REPORTED_ABLATION, ABLATION_SUFFIXES)]
    configs += [(name, baseline.format(stem)) for name, stem in BASELINES]
    return [(name, os.path.join(PACKAGE_PARENT, path)) for name, path in configs], list(dataset_opts)


def run_done(run):
    return os.path.isfile(os.path.join(run.output_dir, RESULTS_FILE))


def check_inputs(datasets_root, datasets, config_set, imagenet_weights=None, hrnet_checkpoint=None):
    """One line naming the option and the path for a file or folder that is not there, before any work."""
    if not os.path.isdir(datasets_root):
        raise MissingInputError(f"--datasets-root {datasets_root}: no such folder")
    for key in datasets:
        if not os.path.isdir(os.path.join(datasets_root, dataset_dir(key))):
            raise MissingInputError(f"--datasets-root {datasets_root} has no {dataset_dir(key)}/ folder "
                                    f"(--datasets {key})")
    if config_set == "paper" and not imagenet_weights:
        raise InputError("--imagenet-weights is needed: the paper's ResNet-50s start from ImageNet "
                         "(torchvision's resnet50-0676ba61.pth)")
    if config_set == "synthetic" and imagenet_weights:
        raise InputError("--imagenet-weights: the synthetic configs train from random initialisation")
    for option, path in (("--imagenet-weights", imagenet_weights), ("--hrnet-checkpoint", hrnet_checkpoint)):
        if path and not os.path.isfile(path):
            raise MissingInputError(f"{option} {path}: no such file")


def extraction_lacks(plan, hrnet_checkpoint):
    """What step b lacks when it has images to do (the checkpoint, or mmpose), or None."""
    if not any(target.missing for target in plan.keypoints):
        return None
    if not hrnet_checkpoint:
        return "needs --hrnet-checkpoint, the HRNet-w32 COCO weights file"
    if importlib.util.find_spec("mmpose") is None:
        return "needs the pose extra (mmpose), not installed: bash tools/install_pose_extra.sh"
    return None


# ------------------------------------------------------------------------------------------ the steps
def check_datasets(plan):
    """Step a: print each dataset's report; stop at the first one with a problem."""
    for key, cfg in plan.checks:
        if plan.check_done(key):
            continue
        name = DATASETS[key]
        report, problems = check_dataset(cfg, name, keypoints=False)
        if plan.config_set == "synthetic":
            # the synthetic data has its own sizes: only the problems that are not the releases' counts stop it
            problems = [p for p in problems if p.split(":")[0] not in PUBLISHED.get(name, {})]
        print(report)
        if problems:
            raise InputError(f"step a: {name} in {plan.datasets_root}: {len(problems)} problem(s) flagged, the first "
                             f"{problems[0]!r}; the report is above (tools/check_dataset.py checks it alone)")
        atomic_write_text(plan.check_marker(key), json.dumps(
            {"dataset_root": os.path.abspath(plan.datasets_root), "report": report}, indent=2))


def hrnet_estimator(checkpoint):
    import torch

    from ..pose import build_estimator

    try:
        return build_estimator("hrnet", checkpoint=checkpoint, device="cuda" if torch.cuda.is_available() else "cpu")
    except ImportError as e:
        raise InputError(f"the HRNet backend could not be imported ({e}): bash tools/install_pose_extra.sh") from e


def extract_keypoints(plan, hrnet_checkpoint):
    """Step b: HRNet on the images each keypoints file lacks (resumable, saved as it goes)."""
    from ..pose.extraction import extract, summarize

    pending = [target for target in plan.keypoints if target.missing]
    if not pending:
        return
    estimator = hrnet_estimator(hrnet_checkpoint)
    try:
        for target in pending:
            start = time.monotonic()
            writer = extract(target.images, estimator, target.path, **EXTRACTION)
            summarize(target.images, writer, time.monotonic() - start, FLAG_THRESHOLD)
    finally:
        estimator.close()


def reported_cells(name, setting):
    """The paper's numbers of a method in a setting (R1, R10, R20, mAP, mINP; "–" where not given), or None."""
    if name == FULL_MODEL and setting in REPORTED:
        return [f"{v:.2f}" for v in REPORTED[setting]] + ["–"]  # the paper gives no mINP
    if setting == "all-single" and name in REPORTED_ABLATION:
        r1, mAP = REPORTED_ABLATION[name]
        return [f"{r1:.2f}", "–", "–", f"{mAP:.2f}", "–"]
    return None


def comparison_table(methods):
    """Markdown of ``[(name, runs)]``: each method's measured rows, each followed by the paper's row for
    the same setting where the paper reports one."""
    rows = []
    for name, runs in methods:
        scores, train_time = combine_runs(runs)
        for (_, setting), cells in scores.items():
            rows.append([name, "measured", SETTINGS[setting], *(format_score(*cells[m]) for m in TABLE_METRICS),
                         format_duration(train_time)])
            reported = reported_cells(name, setting)
            if reported:
                rows.append([name, "reported in the paper", SETTINGS[setting], *reported, "–"])
    return tabulate(rows, headers=["method", "numbers", "setting", *TABLE_METRICS, "training time"],
                    tablefmt="pipe", disable_numparse=True)


def write_comparison(plan, results, command):
    """Step d: the table of every run's results, with its caption, into ``<output root>/paper_comparison.md``."""
    methods = OrderedDict()
    for run, result in zip(plan.runs, results):
        methods.setdefault((run.dataset, run.name), (run.name, []))[1].append(result)
    methods = list(methods.values())
    note = ("Rows \"reported in the paper\" are the paper's numbers, not measured here: it gives no mINP, and its "
            "ablation only R1 and mAP on SYSU all-search single-shot.")
    if plan.config_set == "synthetic":
        note += (" The measured rows are on synthetic data (`--configs-set synthetic`): they check the pipeline "
                 "and say nothing about the benchmarks.")
    text = "\n\n".join([table_caption(methods, command) + " " + note, comparison_table(methods)]) + "\n"
    path = os.path.join(plan.output_root, TABLE_FILE)
    os.makedirs(plan.output_root, exist_ok=True)
    atomic_write_text(path, text)
    return text


# ------------------------------------------------------------------------------------------ estimate
def measure_step(run, iters, stand_in):
    """``(seconds per training step, iterations of the run, device)`` of ``run``'s config on this machine's
    device: :mod:`.benchmark_train`'s step at the run's size and batch, random weights. A pose config
    whose keypoints file is not there yet reads ``stand_in`` (an empty keypoints file) with the mean pose:
    the step does the same work."""
    import torch

    from ..data import build_cross_modality_train_loader
    from . import benchmark_train

    cfg = load_config(run.config_file, run.opts)
    device = cfg.MODEL.DEVICE if torch.cuda.is_available() else "cpu"
    # benchmark_cfg reads the synthetic data's keypoints.json: back to the run's file
    missing = keypoints_enabled(cfg) and not os.path.isfile(keypoints_path(cfg, run.dataset))
    extra = ["INPUT.KEYPOINTS.FILE", stand_in if missing else cfg.INPUT.KEYPOINTS.FILE,
             "INPUT.KEYPOINTS.MISSING", "mean_pose"]
    cfg = benchmark_train.benchmark_cfg(run.config_file, device, cfg.INPUT.SIZE_TRAIN, cfg.SOLVER.IMS_PER_BATCH,
                                        cfg.DATALOADER.NUM_WORKERS, cfg.DATASETS.ROOT,
                                        [*run.opts, *extra, "MODEL.DEVICE", device])
    torch.manual_seed(0)
    loader = build_cross_modality_train_loader(cfg)
    cfg.MODEL.HEADS.NUM_CLASSES = loader.dataset.num_classes
    model, step = benchmark_train.build_step(cfg, iter(loader))
    seconds, _ = benchmark_train.time_steps(step, torch.device(device), iters, ESTIMATE_WARMUP)
    del model, step  # the next config gets the GPU's memory
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return seconds, cfg.SOLVER.MAX_EPOCH * loader.iters_per_epoch, device


def device_name(device):
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(device)} (one GPU)"
    return f"the CPU, {torch.get_num_threads()} threads (not a GPU time)"


def estimate(plan, iters):
    """``{(dataset, config file): (seconds per step, iterations, device)}`` of every config with a run to do,
    each measured once (its RegDB trials share it)."""
    estimates = {}
    with tempfile.TemporaryDirectory() as folder:
        stand_in = os.path.join(folder, "no_keypoints.json")
        save_keypoints(stand_in, {}, source="empty stand-in for timing")
        for run in plan.pending_runs():
            if (run.dataset, run.config_file) not in estimates:
                print(f"timing {iters} training steps of {os.path.relpath(run.config_file, PACKAGE_PARENT)} "
                      f"({run.dataset}) ...", flush=True)
                estimates[(run.dataset, run.config_file)] = measure_step(run, iters, stand_in)
    return estimates


# ------------------------------------------------------------------------------------------ the plan
def format_plan(plan, estimates=None, iters=None, hrnet_checkpoint=None):
    """The plan as text: each step, each training run with its output dir, ``[done]`` or ``[to do]``."""
    lines = [f"Plan ({plan.config_set} configs, data {plan.datasets_root}, output {plan.output_root}):",
             "a. check the datasets (g2da_plugin/data/check.py, without keypoints)"]
    for key, _ in plan.checks:
        lines.append(f"   {'[done]' if plan.check_done(key) else '[to do]'} {DATASETS[key]} "
                     f"(a passed check is recorded in {plan.check_marker(key)})")
    lines.append("b. keypoints by HRNet into the pose configs' INPUT.KEYPOINTS.FILE (resumable)")
    lacks = extraction_lacks(plan, hrnet_checkpoint)
    for target in plan.keypoints:
        total = len(target.images.images)
        state = (f"[done] {target.path}: all {total} images" if not target.missing else
                 f"[to do] {target.path}: {len(target.missing)} of {total} images to extract"
                 + (f" ({lacks})" if lacks else ""))
        lines.append(f"   {state}")
    pending = plan.pending_runs()
    if estimates is None:
        time_note = f"estimated time on one GPU: {NOT_MEASURED}"
    elif not estimates:
        time_note = "nothing left to time"
    else:
        devices = ", ".join(device_name(d) for d in sorted({device for *_, device in estimates.values()}))
        time_note = (f"estimated time: {iters} training steps of each config timed on {devices} x the "
                     f"run's iterations (SOLVER.MAX_EPOCH x iterations per epoch); evaluations and checkpoints come "
                     f"on top")
    lines.append(f"c. train and evaluate {len(plan.runs)} runs, {len(pending)} to do; {time_note}")
    total = 0.0
    for run in plan.runs:
        label = f"{dataset_dir(run.dataset)} {run.name}" + (f" trial {run.trial}" if run.trial else "")
        state = ("[done]" if run_done(run) else
                 "[to do, resumes]" if os.path.isfile(os.path.join(run.output_dir, "last_checkpoint")) else "[to do]")
        line = f"   {state} {label} ({os.path.relpath(run.config_file, PACKAGE_PARENT)}) -> {run.output_dir}"
        if estimates is not None and not run_done(run):
            seconds, iterations, _ = estimates[(run.dataset, run.config_file)]
            total += seconds * iterations
            line += f": {iterations} iterations x {seconds:.3f} s = {format_duration(seconds * iterations)}"
        lines.append(line)
    if estimates is not None:
        lines.append(f"   estimated total of the runs to do: {format_duration(total)}")
    lines.append(f"d. write {os.path.join(plan.output_root, TABLE_FILE)}: measured beside the paper's reported "
                 f"numbers (rewritten from every run's {RESULTS_FILE} each time)")
    return "\n".join(lines)


def reproduce(datasets_root, output_root="logs/paper", datasets=tuple(DATASETS), regdb_trials=tuple(range(1, 11)),
              config_set="paper", imagenet_weights=None, hrnet_checkpoint=None, opts=(), dry_run=False,
              estimate_iters=None, command=""):
    """Print the plan, then (unless ``dry_run``) run steps a to d and return the table's text.
    ``estimate_iters``: time that many training steps of each config to train (see :func:`estimate`)."""
    check_inputs(datasets_root, datasets, config_set, imagenet_weights, hrnet_checkpoint)
    plan = Plan(datasets_root, output_root, datasets, regdb_trials, config_set, imagenet_weights, list(opts))
    lacks = extraction_lacks(plan, hrnet_checkpoint)
    if lacks and not dry_run:
        first = next(target for target in plan.keypoints if target.missing)
        raise InputError(f"step b: {first.path} lacks {len(first.missing)} of {len(first.images.images)} images; "
                         f"extracting them {lacks}")
    estimates = estimate(plan, estimate_iters) if estimate_iters else None
    print(format_plan(plan, estimates, estimate_iters, hrnet_checkpoint), flush=True)
    if dry_run:
        return None
    check_datasets(plan)
    extract_keypoints(plan, hrnet_checkpoint)
    results = run_all([(run.config_file, run.output_dir, run.opts) for run in plan.runs])
    return write_comparison(plan, results, command)
