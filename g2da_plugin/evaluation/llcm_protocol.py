"""LLCM's test protocol in both directions, as the authors' DEEN code (ZYK100/LLCM: ``data_manager.py``,
``eval_metrics.py``) defines it; ``root`` is the LLCM folder (:class:`~g2da_plugin.data.datasets.LLCM_CM`).

* ``ir2vis``: queries are every near-IR test image; the gallery is one visible image per (test identity,
  camera) folder of ``test_vis``, drawn anew for each trial.
* ``vis2ir``: queries are every visible test image; the gallery is one near-IR image per folder of
  ``test_nir``.

Draw ``trial`` (0 .. ``TEST.LLCM.TRIALS`` - 1) is ``process_gallery_llcm``'s: ``random.seed(trial)``, then
for each test identity ascending and each camera ascending whose folder exists, ``random.choice`` over
the folder's sorted listing. It is SYSU-MM01's single-shot community draw over other folders, so
:func:`~.sysu_protocol.draw_sysu_gallery` makes it, from a private ``random.Random(trial)``.

Scoring is ``eval_llcm``'s: a gallery image of the query's identity taken by the query's camera is not
counted (each LLCM camera films in both modes), CMC is identity-level (SYSU's de-duplicated CMC), AP and
INP use the filtered list, as :func:`~.metrics.eval_sysu` computes them. Each direction is ranked once
against every test image of the gallery modality (:class:`~.ranking.SysuRanking`) and its draws are
scored from that ranking.
"""

from collections import OrderedDict

import numpy as np

from ..data.datasets.llcm import LLCM_TEST_CAMERAS, llcm_test_folder, read_llcm_test_ids
from ..data.datasets.modality import IR, RGB, is_integer
from ..data.datasets.sysu_mm01 import sorted_listing, sysu_identity_folders
from ..utils.errors import InputError
from .metrics import distance_matrix
from .ranking import SysuRanking
from .sysu_protocol import draw_sysu_gallery

__all__ = ["LLCM_SETTINGS", "llcm_gallery_folders", "draw_llcm_gallery", "llcm_excluded", "llcm_trial_scores"]

#: The settings, in the order reported: ``{setting: (query modality, gallery modality)}``.
LLCM_SETTINGS = OrderedDict([("ir2vis", (IR, RGB)), ("vis2ir", (RGB, IR))])


def llcm_gallery_folders(root, modality):
    """The folders the galleries of ``modality`` are drawn from: ``[(folder, pid, camid, names)]``, in the
    DEEN code's order (test identities ascending, then cameras), ``names`` the sorted listing."""
    folders = [(folder, pid, cam, sorted_listing(folder)) for pid, cam, folder in
               sysu_identity_folders(llcm_test_folder(root, modality), LLCM_TEST_CAMERAS[modality],
                                     read_llcm_test_ids(root))]
    empty = [folder for folder, _, _, names in folders if not names]
    if empty:  # the DEEN code would crash on random.choice([])
        raise InputError(f"LLCM folder {empty[0]} is empty")
    return folders


def draw_llcm_gallery(folders, trial):
    """Gallery draw ``trial`` from ``folders`` (:func:`llcm_gallery_folders`): ``[(img_path, pid, camid)]``."""
    return draw_sysu_gallery(folders, shots=1, trial=trial)


def llcm_excluded(q_pids, q_camids, g_pids, g_camids):
    """Boolean ``(num_query, num_gallery)``: True where ``eval_llcm`` drops the gallery image for the query,
    the query's identity seen by the query's camera."""
    same_identity = np.asarray(q_pids).reshape(-1, 1) == np.asarray(g_pids).reshape(1, -1)
    return same_identity & (np.asarray(q_camids).reshape(-1, 1) == np.asarray(g_camids).reshape(1, -1))


def llcm_trial_scores(ir, rgb, root, trials, metric, device=None):
    """``{setting: [(cmc, mAP, mINP) of each draw 0 .. trials - 1]}`` for the :data:`LLCM_SETTINGS`.

    ``ir``, ``rgb``: the extracted test images of each modality (:class:`~.evaluator.ExtractedFeatures`);
    distances and ranking run on ``device`` (default: the CPU).
    """
    if not is_integer(trials) or trials < 1:
        raise InputError(f"TEST.LLCM.TRIALS must be an integer >= 1, got {trials!r}")
    features = {IR: ir, RGB: rgb}
    scores = OrderedDict()
    for setting, (query_modality, gallery_modality) in LLCM_SETTINGS.items():
        query = features[query_modality]
        # by identity, as SysuRanking needs; ties then fall in the draws' order, identity then camera
        candidates = features[gallery_modality].subset(np.argsort(features[gallery_modality].pids, kind="stable"))
        ranking = SysuRanking(distance_matrix(query.feats, candidates.feats, metric, device), query.pids,
                              candidates.pids, query.camids, candidates.camids,
                              excluded=llcm_excluded(query.pids, query.camids, candidates.pids, candidates.camids))
        folders = llcm_gallery_folders(root, gallery_modality)
        column_of_path = {path: j for j, path in enumerate(candidates.paths)}
        scores[setting] = ranking.score([draw_columns(column_of_path, folders, t) for t in range(trials)])
    return scores


def draw_columns(column_of_path, folders, trial):
    """The candidate columns (``column_of_path``: ``{img_path: column}``) of draw ``trial`` from ``folders``."""
    paths = [path for path, _, _ in draw_llcm_gallery(folders, trial)]
    missing = [path for path in paths if path not in column_of_path]
    if missing:
        raise InputError(f"LLCM gallery image {missing[0]} has no extracted feature: the test set and the "
                         f"test folders disagree")
    return np.array([column_of_path[path] for path in paths], dtype=np.int64)
