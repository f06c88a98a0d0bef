"""SYSU-MM01's test sets, drawn exactly as the community code draws them.

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
``rand_perm_cam.mat`` one: always say which one a number used.
"""

import operator
import os
import random

from ..data.datasets.modality import is_integer
from ..data.datasets.sysu_mm01 import (SYSU_IR_CAMERAS, SYSU_RGB_CAMERAS, read_sysu_ids, sorted_listing,
                                       sysu_identity_folders, sysu_images)
from ..utils.errors import InputError

__all__ = ["sysu_gallery", "sysu_gallery_folders", "draw_sysu_gallery", "sysu_query"]


def sysu_gallery(root, mode="all", shots=1, trial=0):
    """SYSU-MM01 gallery of one trial: a list of ``(img_path, pid, camid)``.

    :func:`draw_sysu_gallery` of :func:`sysu_gallery_folders`; list the folders once to draw many trials.

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
    _check_shots(shots)  # before reading the folders
    return draw_sysu_gallery(sysu_gallery_folders(root, mode), shots, trial)


def sysu_gallery_folders(root, mode="all"):
    """The RGB folders SYSU-MM01's galleries are drawn from: ``[(folder, pid, camid, names)]``, in the
    community order (test identities ascending, then the mode's cameras), ``names`` the sorted listing."""
    cameras = _rgb_cameras(mode)
    return [(folder, pid, cam, sorted_listing(folder))
            for pid, cam, folder in sysu_identity_folders(root, cameras, read_sysu_ids(root))]


def draw_sysu_gallery(folders, shots=1, trial=0):
    """:func:`sysu_gallery`'s draw ``trial`` from ``folders`` as :func:`sysu_gallery_folders` lists them
    (the folders need not exist: only the listed names are drawn from)."""
    _check_shots(shots)
    rng = random.Random(operator.index(trial))  # an int seed, as random.seed(trial) got
    gallery = []
    for folder, pid, cam, files in folders:
        if not files:  # the community code would crash on random.choice([])
            raise InputError(f"SYSU-MM01 folder {folder} is empty")
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


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------
def _check_shots(shots):
    if not is_integer(shots) or shots < 1:
        raise InputError(f"shots must be an integer >= 1, got {shots!r}")


def _rgb_cameras(mode):
    if mode not in SYSU_RGB_CAMERAS:
        raise InputError(f"mode must be one of {tuple(SYSU_RGB_CAMERAS)}, got {mode!r}")
    return SYSU_RGB_CAMERAS[mode]
