"""Keypoint extraction: every image of a dataset through a pose estimator, into a keypoints file.

The images are those of the dataset's train, query and gallery sets (RGB and IR alike, each once),
keyed by :func:`~g2da_plugin.data.build.relative_key` (:mod:`g2da_plugin.data.images`). :func:`extract` writes them through a
:class:`~g2da_plugin.data.keypoints_io.KeypointsWriter`, so the file on disk is always a complete,
valid keypoints file, and a rerun with the same estimator skips the images it holds.
:func:`summarize` reads the file back and prints the mean score per modality and the likely
failures. ``tools/extract_keypoints.py`` is the command line.
"""

import os
import signal
import sys

from ..data.datasets.modality import NAMES
from ..data.keypoints_io import KeypointsWriter, load_keypoints

__all__ = ["extract", "summarize", "exit_on_sigterm"]


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


def _default_workers(estimator):
    """2 image-loading processes feed a GPU; on the CPU they would compete with the model."""
    device = getattr(estimator, "device", None)
    return 2 if getattr(device, "type", "cpu") == "cuda" else 0


def extract(dataset, estimator, output, *, batch_size, save_every, save_interval, workers=None, limit=None,
            overwrite=False):
    """Run ``estimator`` on the images of ``dataset`` (:class:`~g2da_plugin.data.images.DatasetImages`) that ``output`` does
    not hold yet, at most ``limit`` of them, ``batch_size`` at a time, and return the closed
    :class:`~g2da_plugin.data.keypoints_io.KeypointsWriter`.

    ``estimator``: see :func:`g2da_plugin.pose.build_estimator`. ``workers``: image-loading
    processes (``None``: 2 for a CUDA estimator, else 0). The file is saved every ``save_every``
    images or ``save_interval`` seconds and on the way out, exceptions included; ``overwrite``
    starts it again instead of resuming. A file made by another estimator (``source``) is refused
    (ValueError).
    """
    import torch
    from tqdm import tqdm

    writer = KeypointsWriter(output, estimator.source, save_every=save_every, save_interval=save_interval,
                             overwrite=overwrite)
    with writer:
        stale = sorted(set(writer.done) - set(dataset.images))
        if stale:
            print(f"note: {output} holds {len(stale)} images that are not in {dataset.name} (e.g. {stale[0]}); "
                  f"kept", file=sys.stderr)
        pending = [(key, path) for key, (path, _) in dataset.images.items() if key not in writer]
        if limit is not None:
            pending = pending[:limit]
        print(f"{dataset.name}: {len(dataset.images)} images in {dataset.folder}; {writer.resumed} already in "
              f"{output}; {len(pending)} to do", flush=True)
        workers = _default_workers(estimator) if workers is None else workers
        loader = torch.utils.data.DataLoader(
            _PendingImages(pending, estimator.prepare), batch_size=batch_size, shuffle=False,
            num_workers=min(workers, os.cpu_count() or 1), collate_fn=_collate)
        with tqdm(total=len(pending), unit="img", desc=dataset.name, dynamic_ncols=True, mininterval=1.0,
                  smoothing=0.1) as progress:
            for keys, items in loader:
                for key, rows in zip(keys, estimator.predict_prepared(items)):
                    writer.add(key, rows)
                progress.update(len(keys))
    return writer


def _modality_name(modality):
    return NAMES[modality].upper() if modality in NAMES else "?"


def _modality_order(modality):
    return (modality is None, modality)


def summarize(dataset, writer, elapsed, threshold):
    """Print what the writer's file holds (read back from disk, which also checks it): images done
    now (in ``elapsed`` seconds) and before, the mean keypoint score per modality, and the images
    whose mean score is below ``threshold`` (likely failures: no person found, heavy occlusion)."""
    import numpy as np

    output = writer.path
    keypoints = load_keypoints(output)
    done_now = len(writer) - writer.resumed
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
    modalities = sorted(by_modality, key=_modality_order)
    scores = ", ".join(f"{_modality_name(m)} {np.mean(by_modality[m]):.3f} ({len(by_modality[m])} images)"
                       for m in modalities)
    print(f"  mean keypoint score: {scores}")
    counts = ", ".join(f"{_modality_name(m)} {sum(1 for _, mm in flagged if mm == m)}" for m in modalities)
    examples = ", ".join(key for key, _ in flagged[:5]) + (" ..." if len(flagged) > 5 else "")
    print(f"  flagged (mean score < {threshold:g}): {len(flagged)} images ({counts})"
          + (f": {examples}" if flagged else ""))


def exit_on_sigterm():
    """Make SIGTERM raise SystemExit(128 + 15): it unwinds through :func:`extract`'s writer, which saves."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
