"""Test-set lists of SYSU-MM01 and RegDB, drawn exactly as the community code draws them.

SYSU-MM01 (``root`` holds ``cam1`` .. ``cam6`` and ``exp/test_id.txt``):

* queries: every infrared image (cam3, cam6) of the test identities, for both modes;
* gallery: per test identity and per RGB camera (all-search: cam1, cam2, cam4, cam5;
  indoor-search: cam1, cam2), ``shots`` random images, re-drawn for each ``trial``.

The single-shot draw reproduces ``process_gallery_sysu`` of the AGW / DDAG code
(``data_manager.py``): ``random.seed(trial)``, then for each test identity in ascending order
and each camera in the order above, if ``cam{c}/{pid:04d}`` exists, ``random.choice`` over the
sorted listing of that folder. Its sort is over full paths ``folder + '/' + name``; inside one
folder that is the same order as sorting the names, which is what is done here. Every entry
of the folder counts (no extension filter), as in that code, so the draw stays identical.

This is the community ("random.seed") gallery convention, not the SYSU release's own
``rand_perm_cam.mat`` one (see METHOD.md): always say which one a number used.
"""

import operator
import os
import random
import re

__all__ = [
    "SYSU_RGB_CAMERAS",
    "SYSU_IR_CAMERAS",
    "sysu_gallery",
    "sysu_query",
    "read_sysu_ids",
    "sysu_images",
    "regdb_split",
]

#: RGB gallery cameras per search mode, in the order the community loop visits them.
SYSU_RGB_CAMERAS = {"all": (1, 2, 4, 5), "indoor": (1, 2)}
#: Infrared query cameras (the same for both modes).
SYSU_IR_CAMERAS = (3, 6)

_REGDB_SPLITS = ("train", "test")
_REGDB_MODALITIES = ("visible", "thermal")
_REGDB_TRIALS = range(1, 11)


def sysu_gallery(root, mode="all", shots=1, trial=0):
    """SYSU-MM01 gallery of one trial: a list of ``(img_path, pid, camid)``.

    ``shots == 1`` (single-shot) is exactly the community draw (module docstring), from a
    private ``random.Random(trial)``, which yields the same numbers as ``random.seed(trial)``
    followed by the module-level functions, without touching the global generator.

    ``shots > 1`` (multi-shot, 10 in the literature) is this plug-in's own convention: the
    community code's multi-shot branch uses numpy's global, unseeded generator (not
    reproducible) and fails on folders with fewer than 10 images. Here, with the same
    ``Random(trial)`` and the same loop, ``rng.sample(files, min(shots, len(files)))`` is
    taken, kept in the order ``sample`` returns.

    Args:
        root: the SYSU-MM01 folder.
        mode: ``"all"`` (cam1, 2, 4, 5) or ``"indoor"`` (cam1, 2).
        shots: images per identity per camera, >= 1.
        trial: the seed of the draw (the community uses trials 0..9).

    Returns:
        ``[(path, pid, camid), ...]`` with ``path = os.path.join(root, f"cam{c}",
        f"{pid:04d}", name)``, ``pid`` the SYSU identity and ``camid`` the camera number.
    """
    cameras = _rgb_cameras(mode)
    if not _is_integer(shots) or shots < 1:
        raise ValueError(f"shots must be an integer >= 1, got {shots!r}")
    rng = random.Random(operator.index(trial))  # an int seed, as random.seed(trial) got
    gallery = []
    for pid, cam, folder in _identity_folders(root, cameras, read_sysu_ids(root)):
        files = _sorted_listing(folder)
        if not files:  # the community code would crash on random.choice([])
            raise ValueError(f"SYSU-MM01 folder {folder} is empty")
        if shots == 1:
            picked = [rng.choice(files)]
        else:
            picked = rng.sample(files, min(shots, len(files)))
        gallery.extend((os.path.join(folder, name), pid, cam) for name in picked)
    return gallery


def sysu_query(root, mode="all"):
    """SYSU-MM01 queries: a list of ``(img_path, pid, camid)``, the same for both modes.

    Every image of cam3 and cam6 of the test identities, in the community order: identities
    ascending, then cam3 before cam6, then file names sorted.
    """
    _rgb_cameras(mode)  # validates mode; indoor-search uses the same queries
    return sysu_images(root, read_sysu_ids(root), SYSU_IR_CAMERAS)


def regdb_split(root, trial, split="test", modality="visible"):
    """One RegDB list: ``[(img_path, label), ...]`` from ``idx/{split}_{modality}_{trial}.txt``.

    Each non-blank line is ``relative/path label``; paths are joined with ``root``, in file
    order.

    Raises:
        ValueError: ``trial`` not in 1..10, unknown ``split`` / ``modality``, or a malformed
            line (the message names file and line number).
        FileNotFoundError: the list file is missing (the message names it).
    """
    if not _is_integer(trial) or trial not in _REGDB_TRIALS:
        raise ValueError(f"trial must be an integer in 1..10, got {trial!r}")
    if split not in _REGDB_SPLITS:
        raise ValueError(f"split must be one of {_REGDB_SPLITS}, got {split!r}")
    if modality not in _REGDB_MODALITIES:
        raise ValueError(f"modality must be one of {_REGDB_MODALITIES}, got {modality!r}")
    list_file = os.path.join(root, "idx", f"{split}_{modality}_{trial}.txt")
    if not os.path.isfile(list_file):
        raise FileNotFoundError(f"RegDB list file not found: {list_file}")

    samples = []
    with open(list_file, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not re.fullmatch(r"[+-]?\d+", fields[1]):
                raise ValueError(
                    f"{list_file}, line {line_number}: expected 'relative/path label', "
                    f"got {line.rstrip()!r}"
                )
            samples.append((os.path.join(root, fields[0]), int(fields[1])))
    return samples


def sysu_images(root, ids, cameras):
    """Every image of ``ids`` under ``cameras``: ``[(img_path, pid, camid)]``, in the community
    order (identities as given, cameras as given, file names sorted)."""
    return [
        (os.path.join(folder, name), pid, cam)
        for pid, cam, folder in _identity_folders(root, cameras, ids)
        for name in _sorted_listing(folder)
    ]


def read_sysu_ids(root, split="test"):
    """Sorted identities from ``root/exp/{split}_id.txt`` (split: train, val or test).

    The release has one comma-separated line; commas and any whitespace (several lines) are
    accepted. ``sorted`` of ints equals the community's sort of ``"%04d"`` strings.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"SYSU-MM01 root folder not found: {root}")
    id_file = os.path.join(root, "exp", f"{split}_id.txt")
    if not os.path.isfile(id_file):
        raise FileNotFoundError(f"SYSU-MM01 {split} identity list not found: {id_file}")
    with open(id_file, encoding="utf-8") as handle:
        tokens = [t for t in re.split(r"[,\s]+", handle.read()) if t]
    try:
        ids = [int(t) for t in tokens]
    except ValueError:
        raise ValueError(f"{id_file}: expected comma-separated integers, got {tokens}") from None
    if not ids:
        raise ValueError(f"{id_file} lists no identity")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{id_file} lists an identity more than once")
    return sorted(ids)


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------
def _rgb_cameras(mode):
    if mode not in SYSU_RGB_CAMERAS:
        raise ValueError(f"mode must be one of {tuple(SYSU_RGB_CAMERAS)}, got {mode!r}")
    return SYSU_RGB_CAMERAS[mode]


def _identity_folders(root, cameras, ids):
    """Yield ``(pid, cam, folder)`` for existing ``cam{c}/{pid:04d}`` folders, community order."""
    for pid in ids:
        for cam in cameras:
            folder = os.path.join(root, f"cam{cam}", f"{pid:04d}")
            if os.path.isdir(folder):  # not every identity is seen by every camera
                yield pid, cam, folder


def _is_integer(value):
    """True for ints and numpy integers, False for bools, floats and strings."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _sorted_listing(folder):
    # Every entry, as the community code's os.listdir: a filter could change the draw.
    return sorted(os.listdir(folder))
