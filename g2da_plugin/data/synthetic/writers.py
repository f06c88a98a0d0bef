"""Writing the datasets: the SYSU-MM01 and RegDB layouts, splits and trials, and the idempotence marker."""

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import savemat

from ...utils.errors import InputError
from ..keypoints_io import KEYPOINTS_FILENAME, save_keypoints
from .cameras import REGDB_CAMERAS, REGDB_DIRNAME, SYSU_DIRNAME, SYSU_INDOOR_RGB, SYSU_IR, SYSU_OUTDOOR_RGB
from .random_streams import random_stream
from .rendering import render_regdb_sample, render_sysu_sample

GENERATOR_VERSION = 6  # 5: SYSU-MM01/exp/rand_perm_cam.mat; 6: LLCM (llcm.py)
# Markers name the package, not this module: moving code between its modules must not rebuild datasets.
GENERATOR = __package__

SYNTHETIC_SOURCE = "synthetic-ground-truth"
MARKER_FILENAME = ".synthetic.json"

REGDB_TRIALS = range(1, 11)
REGDB_FILE_PREFIX = {"Visible": "v", "Thermal": "t"}
#: Gallery draws in SYSU-MM01's exp/rand_perm_cam.mat, as many as the release's.
SYSU_RELEASE_TRIALS = 10
# savemat writes the time into the MAT-file's 116-byte text header; a fixed one keeps the file the same per seed.
_MAT_HEADER = f"MATLAB 5.0 MAT-file, written by {GENERATOR}".encode().ljust(116)


class ForeignFolderError(InputError, FileExistsError):
    """The output folder exists and holds something the generator did not write (real data, say)."""


def _generate_once(root, dirname, seed, params, write):
    """Build ``root/dirname`` with ``write(folder, seed, **params)`` unless it is already there."""
    if not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    target = Path(root) / dirname
    marker = json.loads(json.dumps({"generator": GENERATOR, "generator_version": GENERATOR_VERSION,
                                    "dataset": dirname, "seed": seed, "params": params}))
    marker_path = target / MARKER_FILENAME
    if target.exists():
        if not marker_path.is_file():
            raise ForeignFolderError(f"{target} exists and was not made by {GENERATOR} (no {MARKER_FILENAME}): "
                                  f"refusing to replace it; choose another output folder")
        try:
            if json.loads(marker_path.read_text(encoding="utf-8")) == marker:
                return str(target)
        except json.JSONDecodeError:
            pass   # a damaged marker: rebuild
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{dirname}.building-", dir=target.parent))
    try:
        write(building, seed, **params)
        (building / MARKER_FILENAME).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        os.chmod(building, 0o755)   # mkdtemp creates 0700
        if target.exists():
            shutil.rmtree(target)
        os.replace(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return str(target)


def _check_count(name, value, minimum=1):
    if not isinstance(value, int) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _save_image(image, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        image.save(path, "JPEG", quality=90)
    else:
        image.save(path, "BMP")


def sysu_cameras_of(seed, pid):
    """Cameras that see ``pid``: one of cam1/cam2, one of cam4/cam5, one IR camera, maybe more."""
    rng = random_stream(seed, SYSU_DIRNAME, "cameras", pid)
    cameras = set()
    for group, extra_prob in ((SYSU_INDOOR_RGB, 0.5), (SYSU_OUTDOOR_RGB, 0.5), (SYSU_IR, 0.6)):
        first = int(rng.integers(2))
        cameras.add(group[first])
        if rng.random() < extra_prob:
            cameras.add(group[1 - first])
    return sorted(cameras)


def _sysu_splits(seed, num_train_ids, num_val_ids, num_test_ids):
    ids = random_stream(seed, SYSU_DIRNAME, "splits").permutation(num_train_ids + num_val_ids + num_test_ids) + 1
    bounds = np.cumsum([num_train_ids, num_val_ids])
    return {name: sorted(int(i) for i in part) for name, part in zip(("train", "val", "test"), np.split(ids, bounds))}


def _write_sysu(folder, seed, num_train_ids, num_val_ids, num_test_ids, images_per_cam):
    splits = _sysu_splits(seed, num_train_ids, num_val_ids, num_test_ids)
    (folder / "exp").mkdir()
    for name, ids in splits.items():
        (folder / "exp" / f"{name}_id.txt").write_text(",".join(map(str, ids)) + "\n")
    fewest, most = images_per_cam
    keypoints, counts = {}, {}
    num_ids = num_train_ids + num_val_ids + num_test_ids
    for pid in range(1, num_ids + 1):
        for camera_name in sysu_cameras_of(seed, pid):
            count = int(random_stream(seed, SYSU_DIRNAME, "count", pid, camera_name).integers(fewest, most + 1))
            counts[camera_name, pid] = count
            for index in range(1, count + 1):
                relative = f"{camera_name}/{pid:04d}/{index:04d}.jpg"
                sample = render_sysu_sample(seed, pid, camera_name, index)
                _save_image(sample.image, folder / relative)
                keypoints[relative] = sample.keypoints
    save_keypoints(folder / KEYPOINTS_FILENAME, keypoints, SYNTHETIC_SOURCE)
    _write_sysu_release_draws(folder / "exp" / "rand_perm_cam.mat", seed, counts, num_ids)


def _write_sysu_release_draws(path, seed, counts, num_ids):
    """``rand_perm_cam.mat`` in the release's layout: a 6 x 1 cell (cam1..cam6) of num_ids x 1 cells (ids
    1..num_ids) of ``(trials, images)`` matrices, each row a permutation of the image numbers 1..images
    (doubles, as MATLAB's randperm gives; no columns where the camera does not see the identity)."""
    cameras = np.empty((6, 1), dtype=object)
    for cam in range(1, 7):
        identities = np.empty((num_ids, 1), dtype=object)
        for pid in range(1, num_ids + 1):
            count = counts.get((f"cam{cam}", pid), 0)
            rng = random_stream(seed, SYSU_DIRNAME, "rand_perm_cam", pid, f"cam{cam}")
            identities[pid - 1, 0] = np.stack([rng.permutation(count) + 1.0 for _ in range(SYSU_RELEASE_TRIALS)])
        cameras[cam - 1, 0] = identities
    buffer = io.BytesIO()
    savemat(buffer, {"rand_perm_cam": cameras})
    path.write_bytes(_MAT_HEADER + buffer.getvalue()[len(_MAT_HEADER):])


def regdb_trial_ids(seed, num_ids, trial):
    """(train ids, test ids) of one trial: a random half of 1..num_ids trains."""
    ids = random_stream(seed, REGDB_DIRNAME, "split", trial).permutation(num_ids) + 1
    return sorted(int(i) for i in ids[:num_ids // 2]), sorted(int(i) for i in ids[num_ids // 2:])


def _regdb_path(modality, pid, index):
    return f"{modality}/{pid}/{REGDB_FILE_PREFIX[modality]}_{pid:04d}_{index:02d}.bmp"


def _write_regdb(folder, seed, num_ids, images_per_modality):
    keypoints = {}
    for pid in range(1, num_ids + 1):
        for modality in REGDB_CAMERAS:
            for index in range(1, images_per_modality + 1):
                relative = _regdb_path(modality, pid, index)
                sample = render_regdb_sample(seed, pid, modality, index)
                _save_image(sample.image, folder / relative)
                keypoints[relative] = sample.keypoints
    (folder / "idx").mkdir()
    for trial in REGDB_TRIALS:
        for split, ids in zip(("train", "test"), regdb_trial_ids(seed, num_ids, trial)):
            for modality in REGDB_CAMERAS:
                lines = [f"{_regdb_path(modality, pid, index)} {pid}\n"
                         for pid in ids for index in range(1, images_per_modality + 1)]
                (folder / "idx" / f"{split}_{modality.lower()}_{trial}.txt").write_text("".join(lines))
    save_keypoints(folder / KEYPOINTS_FILENAME, keypoints, SYNTHETIC_SOURCE)


def make_synthetic_sysu(root, *, num_train_ids=48, num_val_ids=16, num_test_ids=32, images_per_cam=(2, 5), seed=0):
    """Write ``root/SYSU-MM01`` (ids 1..N, N the sum of the three counts) and return its path.

    ``images_per_cam``: (fewest, most) images of an identity in a camera that sees it, inclusive.
    """
    for name, value in (("num_train_ids", num_train_ids), ("num_val_ids", num_val_ids), ("num_test_ids", num_test_ids)):
        _check_count(name, value)
    fewest, most = images_per_cam
    _check_count("images_per_cam[0]", fewest)
    _check_count("images_per_cam[1]", most, minimum=fewest)
    params = {"num_train_ids": num_train_ids, "num_val_ids": num_val_ids, "num_test_ids": num_test_ids,
              "images_per_cam": [fewest, most]}
    return _generate_once(root, SYSU_DIRNAME, seed, params, _write_sysu)


def make_synthetic_regdb(root, *, num_ids=40, images_per_modality=10, seed=0):
    """Write ``root/RegDB`` (ids 1..num_ids, ten trials) and return its path."""
    _check_count("num_ids", num_ids, minimum=2)
    _check_count("images_per_modality", images_per_modality)
    params = {"num_ids": num_ids, "images_per_modality": images_per_modality}
    return _generate_once(root, REGDB_DIRNAME, seed, params, _write_regdb)


def make_synthetic_datasets(root, seed=0):
    """Both datasets with their default sizes: {"SYSU-MM01": path, "RegDB": path}."""
    return {SYSU_DIRNAME: make_synthetic_sysu(root, seed=seed), REGDB_DIRNAME: make_synthetic_regdb(root, seed=seed)}
