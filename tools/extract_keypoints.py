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

Test hooks (environment): ``G2DA_EXTRACT_TRACE=FILE`` appends the key of every image run through
the model, one per line; ``G2DA_EXTRACT_KILL_AFTER=N`` SIGKILLs the process after N images (after
handing the N-th to the writer), to test recovery from a crash.
"""

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

BACKENDS = ("hrnet", "mediapipe")
RGB, IR = 0, 1   # g2da_plugin.data.datasets.modality (not imported before the arguments are checked)
MODALITY_NAMES = {RGB: "RGB", IR: "IR", None: "?"}


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


# ----------------------------------------------------------------------------- datasets

class DatasetImages:
    """The images of one dataset: ``folder`` and {key relative to it: (absolute path, modality)}."""

    def __init__(self, name, folder, images):
        self.name = name
        self.folder = folder
        self.images = images


def _relative_key(path, folder):
    relative = os.path.relpath(os.path.abspath(path), folder)
    if relative.startswith(".."):
        raise ValueError(f"image {path} is outside the dataset folder {folder}")
    return Path(relative).as_posix()


def dataset_images(name, root, regdb_trial=1):
    import g2da_plugin  # noqa: F401  (registers the datasets, makes fastreid work)
    from fastreid.data.datasets import DATASET_REGISTRY

    cls = DATASET_REGISTRY.get(name)
    kwargs = {"trial": regdb_trial} if name == "RegDB_CM" else {}
    dataset = cls(root=root, **kwargs)
    folder = os.path.abspath(getattr(dataset, "dataset_root", None) or os.path.join(root, dataset.dataset_dir))
    images = {}
    for item in list(dataset.train) + list(dataset.query) + list(dataset.gallery):
        modality = item[3] if len(item) > 3 else None
        images.setdefault(_relative_key(item[0], folder), (os.path.abspath(item[0]), modality))
    return DatasetImages(name, folder, dict(sorted(images.items())))


def datasets_of(args):
    if args.dataset is not None:
        root = args.root if args.root is not None else os.getenv("FASTREID_DATASETS", "datasets")
        return [dataset_images(args.dataset, root)]
    import g2da_plugin  # noqa: F401
    from fastreid.config import get_cfg
    from g2da_plugin.config import add_g2da_config

    cfg = get_cfg()
    add_g2da_config(cfg)
    cfg.merge_from_file(args.config_file)
    cfg.merge_from_list(args.opts)
    names = list(dict.fromkeys(list(cfg.DATASETS.NAMES) + list(cfg.DATASETS.TESTS)))
    return [dataset_images(name, cfg.DATASETS.ROOT, cfg.DATASETS.REGDB_TRIAL) for name in names]


# ----------------------------------------------------------------------------- extraction

class _PendingImages:
    """torch Dataset of (key, prepared image): runs the estimator's ``prepare`` (in workers, if any)."""

    def __init__(self, items, prepare):
        self.items = items
        self.prepare = prepare

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        from PIL import Image

        key, path = self.items[index]
        with Image.open(path) as image:
            return key, self.prepare(image)


def _collate(batch):
    return [key for key, _ in batch], [item for _, item in batch]


def _install_sigterm_handler():
    def handler(signum, frame):
        raise SystemExit(128 + signum)   # unwinds through the writer, which saves

    signal.signal(signal.SIGTERM, handler)


def extract(dataset, estimator, output, args):
    import torch
    from tqdm import tqdm

    from g2da_plugin.data.keypoints_io import KeypointsWriter

    trace_path = os.environ.get("G2DA_EXTRACT_TRACE")
    kill_after = int(os.environ.get("G2DA_EXTRACT_KILL_AFTER", "0") or 0)
    writer = KeypointsWriter(output, estimator.source, save_every=args.save_every,
                             save_interval=args.save_interval, overwrite=args.overwrite)
    with writer:
        stale = sorted(set(writer.done) - set(dataset.images))
        if stale:
            print(f"note: {output} holds {len(stale)} images that are not in {dataset.name} (e.g. {stale[0]}); "
                  f"kept", file=sys.stderr)
        pending = [(key, path) for key, (path, _) in dataset.images.items() if key not in writer]
        if args.limit is not None:
            pending = pending[:args.limit]
        print(f"{dataset.name}: {len(dataset.images)} images in {dataset.folder}; {writer.resumed} already in "
              f"{output}; {len(pending)} to do", flush=True)
        on_gpu = estimator_device(estimator) == "cuda"
        workers = args.workers if args.workers is not None else (2 if on_gpu else 0)
        loader = torch.utils.data.DataLoader(
            _PendingImages(pending, estimator.prepare), batch_size=args.batch_size, shuffle=False,
            num_workers=min(workers, os.cpu_count() or 1), collate_fn=_collate, pin_memory=False)
        done_now = 0
        start = time.monotonic()
        trace = open(trace_path, "a", encoding="utf-8") if trace_path else None
        try:
            with tqdm(total=len(pending), unit="img", desc=dataset.name, dynamic_ncols=True, mininterval=1.0,
                      smoothing=0.1) as progress:
                for keys, items in loader:
                    keypoints = estimator.predict_prepared(items)
                    if trace is not None:
                        trace.write("".join(key + "\n" for key in keys))
                        trace.flush()
                    for key, rows in zip(keys, keypoints):
                        writer.add(key, rows)
                        done_now += 1
                        if kill_after and done_now >= kill_after:
                            os.kill(os.getpid(), signal.SIGKILL)
                    progress.update(len(keys))
        finally:
            if trace is not None:
                trace.close()
        elapsed = time.monotonic() - start
    summarize(dataset, output, writer, done_now, elapsed, args.flag_threshold)
    return writer


def estimator_device(estimator):
    device = getattr(estimator, "device", None)
    return getattr(device, "type", "cpu") if device is not None else "cpu"


def summarize(dataset, output, writer, done_now, elapsed, threshold):
    import numpy as np

    from g2da_plugin.data.keypoints_io import load_keypoints

    keypoints = load_keypoints(output)   # what is on disk, read back: also checks the file
    rate = f", {done_now / elapsed:.2f} img/s" if done_now and elapsed > 0 else ""
    missing = [key for key in dataset.images if key not in keypoints]
    print(f"{dataset.name}: {len(keypoints)} images in {output} ({done_now} done now in {elapsed:.0f} s{rate}, "
          f"{writer.resumed} from before){f'; {len(missing)} still to do' if missing else ''}")
    by_modality = {}
    flagged = []
    for key, rows in keypoints.items():
        modality = dataset.images[key][1] if key in dataset.images else None
        mean = float(rows[:, 2].mean())
        by_modality.setdefault(modality, []).append(mean)
        if mean < threshold:
            flagged.append((key, modality))
    scores = ", ".join(f"{MODALITY_NAMES.get(m, m)} {np.mean(v):.3f} ({len(v)} images)"
                       for m, v in sorted(by_modality.items(), key=lambda kv: (kv[0] is None, kv[0])))
    print(f"  mean keypoint score: {scores}")
    counts = ", ".join(f"{MODALITY_NAMES.get(m, m)} {sum(1 for _, mm in flagged if mm == m)}"
                       for m in sorted(by_modality, key=lambda m: (m is None, m)))
    examples = ", ".join(key for key, _ in flagged[:5]) + (" ..." if len(flagged) > 5 else "")
    print(f"  flagged (mean score < {threshold:g}): {len(flagged)} images ({counts})"
          + (f": {examples}" if flagged else ""))


def build_estimator(args):
    import torch

    from g2da_plugin.pose import build_estimator as build

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.backend == "hrnet":
        kwargs = dict(checkpoint=args.checkpoint, device=device, input_size=tuple(args.input_size),
                      flip_test=False if args.no_flip_test else None)
        if args.pose_config:
            kwargs["config"] = args.pose_config
        return build("hrnet", **kwargs)
    return build("mediapipe")


def main(argv=None):
    args = parse_args(argv)
    try:
        datasets = datasets_of(args)
    except (FileNotFoundError, KeyError, ValueError) as e:
        sys.exit(f"extract_keypoints: {e}")
    if args.output is not None and len(datasets) > 1:
        sys.exit(f"extract_keypoints: --output names one file, but the config has {len(datasets)} datasets "
                 f"({', '.join(d.name for d in datasets)}); leave it out to write one file in each dataset folder")
    estimator = build_estimator(args)
    try:
        for dataset in datasets:
            output = args.output or os.path.join(dataset.folder, f"keypoints_{args.backend}.json")
            try:
                extract(dataset, estimator, output, args)
            except ValueError as e:   # e.g. resuming a file made by another model
                sys.exit(f"extract_keypoints: {e}")
            except (KeyboardInterrupt, SystemExit) as e:
                print(f"\ninterrupted: what was done is saved in {output}; run the same command again to resume",
                      file=sys.stderr)
                if isinstance(e, KeyboardInterrupt):
                    sys.exit(130)
                raise
    finally:
        estimator.close()


if __name__ == "__main__":
    _install_sigterm_handler()
    main()
