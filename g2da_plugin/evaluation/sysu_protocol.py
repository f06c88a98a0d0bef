"""SYSU-MM01's test sets, with the gallery draws of either convention in use.

SYSU-MM01 (``root`` holds ``cam1`` .. ``cam6`` and ``exp/test_id.txt``):

* queries: every infrared image (cam3, cam6) of the test identities, for both modes;
* gallery: per test identity and per RGB camera (all-search: cam1, cam2, cam4, cam5;
  indoor-search: cam1, cam2), ``shots`` images, re-drawn for each ``trial``.

Two conventions pick those images (``TEST.SYSU.GALLERY``): the release ships fixed draws for its own
MATLAB evaluation, but the AGW / DDAG PyTorch code, which much later work reuses, draws its own from the
folders instead; published code follows one or the other.

* ``"community"``, the AGW / DDAG / CAJ code (``process_gallery_sysu`` of ``data_manager.py``), which
  reads only the image folders: ``random.seed(trial)``, then for each test identity in ascending
  order and each camera in the order above, if ``cam{c}/{pid:04d}`` exists, ``random.choice`` over
  the sorted listing of that folder. Its sort is over full paths ``folder + '/' + name``; inside one
  folder that is the same order as sorting the names, which is what is done here. Every entry of the
  folder counts (no extension filter), as in that code, so the draw stays identical.
* ``"release"``, the dataset authors' own (MATLAB) evaluation and the code that follows it (MPANet and
  code built on it): fixed draws shipped with the release, ``exp/rand_perm_cam.mat``. For camera ``c``,
  identity ``p`` and trial ``t`` (0-based) its row ``rand_perm_cam{c}{p}(t + 1, :)`` is a permutation
  of that folder's image numbers ``n`` (file ``{n:04d}.jpg``); the gallery takes its first ``shots``.

The two draw different images, so their numbers are not directly comparable: always say which one a
number used.
"""

import operator
import os
import random
from typing import NamedTuple

import numpy as np
from scipy.io import loadmat
from scipy.io.matlab import MatReadError

from ..data.datasets.modality import is_integer
from ..data.datasets.sysu_mm01 import (SYSU_IR_CAMERAS, SYSU_RGB_CAMERAS, read_sysu_ids, sorted_listing,
                                       sysu_identity_folders, sysu_images)
from ..utils.errors import InputError, MissingInputError

__all__ = ["GALLERY_SOURCES", "RELEASE_PERMUTATIONS", "ReleasePermutations", "sysu_gallery", "sysu_gallery_folders",
           "sysu_release_permutations", "draw_sysu_gallery", "sysu_query"]

#: Values of ``TEST.SYSU.GALLERY``: the conventions a gallery can be drawn by (module docstring).
GALLERY_SOURCES = ("community", "release")
#: The release's gallery draws, relative to the SYSU-MM01 folder.
RELEASE_PERMUTATIONS = os.path.join("exp", "rand_perm_cam.mat")


class ReleasePermutations(NamedTuple):
    """``rand_perm_cam.mat`` as :func:`draw_sysu_gallery` reads it: ``cameras[c - 1][p - 1]`` is the
    ``(trials, images)`` matrix of camera ``c`` and identity ``p``; ``path`` names the file in errors."""

    path: str
    cameras: list


def sysu_gallery(root, mode="all", shots=1, trial=0, source="community"):
    """SYSU-MM01 gallery of one trial: a list of ``(img_path, pid, camid)``.

    :func:`draw_sysu_gallery` of :func:`sysu_gallery_folders`; list the folders (and load the release's
    table) once to draw many trials.

    ``source="community"``: ``shots == 1`` (single-shot) is exactly the community draw (module
    docstring), from a private ``random.Random(trial)``, which yields the same numbers as
    ``random.seed(trial)`` followed by the module-level functions, without touching the global generator.
    ``shots > 1`` (multi-shot, 10 in the literature) is this plug-in's own convention: the
    community code's multi-shot branch uses numpy's global, unseeded generator (not
    reproducible) and fails on folders with fewer than 10 images. Here, with the same
    ``Random(trial)`` and the same loop, ``rng.sample(files, min(shots, len(files)))`` is
    taken, kept in the order ``sample`` returns.

    ``source="release"``: the first ``shots`` image numbers of the release's row for the trial (fewer
    when the folder has fewer images), as the release's own evaluation takes them, in the same loop.

    Args:
        root: the SYSU-MM01 folder.
        mode: ``"all"`` (cam1, 2, 4, 5) or ``"indoor"`` (cam1, 2).
        shots: images per identity per camera, >= 1.
        trial: the trial (community: the seed; release: the row, 0..9).
        source: ``"community"`` or ``"release"`` (``TEST.SYSU.GALLERY``).

    Returns:
        ``[(path, pid, camid), ...]`` with ``path = os.path.join(root, f"cam{c}",
        f"{pid:04d}", name)``, ``pid`` the SYSU identity and ``camid`` the camera number.
    """
    _check_shots(shots)  # before reading the folders
    release = sysu_release_permutations(root, source)  # checks the source; a missing file stops before the folders
    return draw_sysu_gallery(sysu_gallery_folders(root, mode), shots, trial, release)


def sysu_gallery_folders(root, mode="all"):
    """The RGB folders SYSU-MM01's galleries are drawn from: ``[(folder, pid, camid, names)]``, in the
    community order (test identities ascending, then the mode's cameras), ``names`` the sorted listing."""
    cameras = _rgb_cameras(mode)
    return [(folder, pid, cam, sorted_listing(folder))
            for pid, cam, folder in sysu_identity_folders(root, cameras, read_sysu_ids(root))]


def sysu_release_permutations(root, source="release"):
    """What :func:`draw_sysu_gallery` needs to draw ``source``'s galleries: None for ``"community"``, the
    release's ``exp/rand_perm_cam.mat`` as :class:`ReleasePermutations` for ``"release"``."""
    _check_source(source)
    if source == "community":
        return None
    path = os.path.join(root, RELEASE_PERMUTATIONS)
    if not os.path.isfile(path):
        raise MissingInputError(f"SYSU-MM01 gallery draws not found: {path} (the release's fixed gallery "
                                f"permutations, rand_perm_cam.mat; TEST.SYSU.GALLERY community does not need it)")
    try:
        table = loadmat(path)["rand_perm_cam"]
    except (MatReadError, ValueError, KeyError):
        table = np.empty(0)
    # one cell per camera, each one entry per identity: row or column cells as MATLAB saved them
    cameras = [camera.ravel() for camera in table.ravel()] if table.dtype == object else []
    if len(cameras) != 6:
        raise InputError(f"{path}: expected the release's rand_perm_cam, a cell of 6 camera cells")
    return ReleasePermutations(path, cameras)


def draw_sysu_gallery(folders, shots=1, trial=0, release=None):
    """:func:`sysu_gallery`'s draw ``trial`` from ``folders`` as :func:`sysu_gallery_folders` lists them:
    the community draw, or the release's when ``release`` is :func:`sysu_release_permutations`'s table
    (the folders need not exist: only the listed names are drawn from)."""
    _check_shots(shots)
    trial = operator.index(trial)  # an int, as random.seed(trial) got
    rng = random.Random(trial)
    gallery = []
    for folder, pid, cam, files in folders:
        if release is not None:
            picked = [_release_image(release, folder, files, n) for n in _release_row(release, pid, cam, trial)[:shots]]
        elif not files:  # the community code would crash on random.choice([])
            raise InputError(f"SYSU-MM01 folder {folder} is empty")
        elif shots == 1:
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


def _check_source(source):
    if source not in GALLERY_SOURCES:
        raise InputError(f"TEST.SYSU.GALLERY must be one of {GALLERY_SOURCES}, got {source!r}")


def _rgb_cameras(mode):
    if mode not in SYSU_RGB_CAMERAS:
        raise InputError(f"mode must be one of {tuple(SYSU_RGB_CAMERAS)}, got {mode!r}")
    return SYSU_RGB_CAMERAS[mode]


def _release_row(release, pid, cam, trial):
    """``rand_perm_cam{cam}{pid}(trial + 1, :)``: the image numbers of one folder, in the release's order."""
    identities = release.cameras[cam - 1]
    entry = identities[pid - 1] if pid <= len(identities) else np.empty((0, 0))
    rows = entry.ravel() if entry.dtype == object else entry  # a cell of per-trial vectors, or (trials, images)
    if not 0 <= trial < len(rows):
        raise InputError(f"{release.path} has no trial {trial} for cam{cam} identity {pid} (it has {len(rows)} "
                         f"trials: TEST.SYSU.TRIALS must not exceed that)")
    return np.ravel(rows[trial])


def _release_image(release, folder, files, number):
    """The file name of image ``number`` of ``folder``, which must be in its listing ``files``."""
    name = f"{int(number):04d}.jpg"
    if name not in files:
        raise MissingInputError(f"SYSU-MM01 gallery image {os.path.join(folder, name)}, listed in {release.path}, "
                                f"does not exist")
    return name
