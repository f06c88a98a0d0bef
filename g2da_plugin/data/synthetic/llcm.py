"""The LLCM look-alike (Zhang and Wang, CVPR 2023), in the release's layout as ``LLCM_CM`` reads it::

    LLCM/{vis,nir}/{pid:04d}/{pid:04d}_c{cam:02d}_f{k:04d}_{vis,nir}.jpg   training images
    LLCM/test_{vis,nir}/cam{cam}/{pid:04d}/<the same names>                 test images
    LLCM/idx/train_{vis,nir}.txt    lines "vis/0003/0003_c02_f0001_vis.jpg 0" (path, 0-based training label)
    LLCM/idx/test_id.txt            one line of comma-separated ids (1-based)
    LLCM/keypoints.json             ground-truth keypoints of every image

Four cameras film in both modes, as LLCM's nine do: visible cam1..cam4, near-IR cam1, cam2, cam4 (the
release has no near-IR cam3 either); a camera's two modes share its place (image size, viewpoints,
occluders), not its optics. Every identity is seen by a near-IR camera and by a visible camera other than
that one, so every query keeps a true match after LLCM's same-identity-same-camera filter, and by a random
subset of the other cameras.
"""

import os

from ..keypoints_io import KEYPOINTS_FILENAME, save_keypoints
from .cameras import Camera
from .random_streams import random_stream
from .rendering import _camera_style, _identity, render_sample
from .writers import SYNTHETIC_SOURCE, _check_count, _generate_once, _save_image

__all__ = ["LLCM_DIRNAME", "LLCM_CAMERAS", "llcm_cameras_of", "render_llcm_sample", "make_synthetic_llcm",
           "describe_llcm"]

LLCM_DIRNAME = "LLCM"
#: Cameras of each mode ("vis", "nir": the release's folder suffixes).
LLCM_MODE_CAMERAS = {"vis": (1, 2, 3, 4), "nir": (1, 2, 4)}
# Per camera: (height, width), front/back/side view weights, occluder rate, walking amplitude, person height.
_PLACES = {
    1: ((128, 64), (0.5, 0.2, 0.3), 0.10, 0.40, 0.84),
    2: ((144, 72), (0.3, 0.4, 0.3), 0.20, 0.45, 0.82),
    3: ((128, 64), (0.25, 0.25, 0.5), 0.25, 0.50, 0.80),
    4: ((160, 80), (0.3, 0.3, 0.4), 0.15, 0.45, 0.82),
}
# Low light: the visible images blurrier and noisier than SYSU-MM01's; the near-IR ones like its cam3.
_OPTICS = {"vis": {"blur": 0.8, "noise": 0.035}, "nir": {"blur": 0.9, "noise": 0.025, "pattern_contrast": 0.9}}
_MODALITY = {"vis": "rgb", "nir": "ir"}
#: ``{(mode, camera number): Camera}``.
LLCM_CAMERAS = {(mode, cam): Camera(f"{mode}/cam{cam}", _MODALITY[mode], *_PLACES[cam], **_OPTICS[mode])
                for mode, cameras in LLCM_MODE_CAMERAS.items() for cam in cameras}


def llcm_cameras_of(seed, pid):
    """The ``(mode, camera)`` pairs that see ``pid``, sorted (module docstring)."""
    rng = random_stream(seed, LLCM_DIRNAME, "cameras", pid)
    nir = int(rng.choice(LLCM_MODE_CAMERAS["nir"]))
    vis = int(rng.choice([cam for cam in LLCM_MODE_CAMERAS["vis"] if cam != nir]))
    return sorted({("nir", nir), ("vis", vis)} | {key for key in LLCM_CAMERAS if rng.random() < 0.4})


def render_llcm_sample(seed, pid, mode, cam, index):
    """Image ``index`` of ``pid`` by camera ``cam`` in ``mode`` ("vis" or "nir"); the modes film at other
    times, so they do not share poses."""
    camera = LLCM_CAMERAS[mode, cam]
    return render_sample(
        _identity(seed, LLCM_DIRNAME, pid), camera, _camera_style(seed, LLCM_DIRNAME, camera),
        random_stream(seed, LLCM_DIRNAME, "pose", pid, camera.name, index),
        random_stream(seed, LLCM_DIRNAME, "look", pid, camera.name, index))


def _write_llcm(folder, seed, num_train_ids, num_test_ids, images_per_cam):
    ids = random_stream(seed, LLCM_DIRNAME, "splits").permutation(num_train_ids + num_test_ids) + 1
    label_of = {int(pid): label for label, pid in enumerate(sorted(ids[:num_train_ids]))}
    (folder / "idx").mkdir()
    (folder / "idx" / "test_id.txt").write_text(",".join(str(int(i)) for i in sorted(ids[num_train_ids:])) + "\n")
    fewest, most = images_per_cam
    keypoints, lists = {}, {mode: [] for mode in LLCM_MODE_CAMERAS}
    for pid in range(1, num_train_ids + num_test_ids + 1):
        for mode, cam in llcm_cameras_of(seed, pid):
            camera = LLCM_CAMERAS[mode, cam]
            count = int(random_stream(seed, LLCM_DIRNAME, "count", pid, camera.name).integers(fewest, most + 1))
            for index in range(1, count + 1):
                name = f"{pid:04d}_c{cam:02d}_f{index:04d}_{mode}.jpg"
                if pid in label_of:
                    relative = f"{mode}/{pid:04d}/{name}"
                    lists[mode].append(f"{relative} {label_of[pid]}\n")
                else:
                    relative = f"test_{mode}/cam{cam}/{pid:04d}/{name}"
                sample = render_llcm_sample(seed, pid, mode, cam, index)
                _save_image(sample.image, folder / relative)
                keypoints[relative] = sample.keypoints
    for mode, lines in lists.items():
        (folder / "idx" / f"train_{mode}.txt").write_text("".join(lines))
    save_keypoints(folder / KEYPOINTS_FILENAME, keypoints, SYNTHETIC_SOURCE)


def make_synthetic_llcm(root, *, num_train_ids=16, num_test_ids=8, images_per_cam=(1, 3), seed=0):
    """Write ``root/LLCM`` (ids 1..num_train_ids + num_test_ids) and return its path.

    ``images_per_cam``: (fewest, most) images of an identity by a camera in a mode that sees it, inclusive.
    """
    _check_count("num_train_ids", num_train_ids)
    _check_count("num_test_ids", num_test_ids)
    fewest, most = images_per_cam
    _check_count("images_per_cam[0]", fewest)
    _check_count("images_per_cam[1]", most, minimum=fewest)
    params = {"num_train_ids": num_train_ids, "num_test_ids": num_test_ids, "images_per_cam": [fewest, most]}
    return _generate_once(root, LLCM_DIRNAME, seed, params, _write_llcm)


def describe_llcm(path):
    """Identities and images of the training lists and of the test folders, read back from disk."""
    train = {}
    for mode in LLCM_MODE_CAMERAS:
        with open(os.path.join(path, "idx", f"train_{mode}.txt")) as f:
            train[mode] = [line.split() for line in f if line.strip()]
    with open(os.path.join(path, "idx", "test_id.txt")) as f:
        test_ids = f.read().strip().split(",")
    test = {mode: sum(len(files) for _, _, files in os.walk(os.path.join(path, f"test_{mode}")))
            for mode in LLCM_MODE_CAMERAS}
    labels = {label for entries in train.values() for _, label in entries}
    return [f"  train: {len(labels)} ids, {len(train['vis'])} VIS + {len(train['nir'])} NIR images",
            f"  test: {len(test_ids)} ids, {test['vis']} VIS + {test['nir']} NIR images"]
