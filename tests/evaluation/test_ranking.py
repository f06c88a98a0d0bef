"""SysuRanking (g2da_plugin/evaluation/ranking.py): every gallery scored off one placement of the candidates
gives the numbers of a straightforward per-gallery, per-query ranking."""

import numpy as np
import pytest
import torch

from g2da_plugin.evaluation import SysuRanking, distance_matrix, draw_sysu_gallery
from g2da_plugin.utils.errors import InputError
from tests.evaluation.test_metrics import _slow_eval

NUM_IDS = 8


def folders_and_candidates(rng):
    """In-memory SYSU-like RGB folders (identity 7 has no RGB image: its queries are never valid) and
    their images in folder order, which is (identity, camera) order: ``(folders, pids, camids)``."""
    folders = [(f"cam{cam}/{pid:04d}", pid, cam, [f"{k}.jpg" for k in range(rng.integers(1, 7))])
               for pid in range(NUM_IDS - 1) for cam in (1, 2, 4, 5) if rng.random() < 0.8]
    pids = np.array([pid for _, pid, _, names in folders for _ in names])
    camids = np.array([cam for _, _, cam, names in folders for _ in names])
    return folders, pids, camids


def gallery_draws(folders, trials=3):
    """Single-shot and 3-shot draws of all-search, as columns of the candidates (folder order)."""
    column = {f"{folder}/{name}": j for j, (folder, name) in
              enumerate((folder, name) for folder, _, _, names in folders for name in names)}
    return [np.array([column[path] for path, _, _ in draw_sysu_gallery(folders, shots, trial)])
            for shots in (1, 3) for trial in range(trials)]


def reference_scores(distmat, q_pids, g_pids, q_camids, g_camids, galleries):
    """Each gallery ranked on its own, query by query, in float64 (tests/evaluation/test_metrics.py)."""
    return [_slow_eval(distmat[:, cols], q_pids, g_pids[cols], q_camids, g_camids[cols], 20, identity_cmc=True)
            for cols in galleries]


def assert_same_scores(got, want):
    for (cmc, mAP, mINP), (want_cmc, want_map, want_minp) in zip(got, want, strict=True):
        np.testing.assert_allclose(cmc, want_cmc, atol=1e-12)
        assert (mAP, mINP) == pytest.approx((want_map, want_minp), abs=1e-12)


def random_queries(rng, num_q=40):
    return rng.integers(0, NUM_IDS, num_q), rng.choice([3, 6], num_q)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_one_placement_scores_every_gallery_like_a_ranking_per_gallery(metric):
    rng = np.random.default_rng(3)
    folders, g_pids, g_camids = folders_and_candidates(rng)
    q_pids, q_camids = random_queries(rng)
    q_feats, g_feats = rng.normal(size=(len(q_pids), 8)), rng.normal(size=(len(g_pids), 8))
    galleries = gallery_draws(folders)
    got = SysuRanking(distance_matrix(q_feats, g_feats, metric), q_pids, g_pids, q_camids, g_camids).score(galleries)
    if metric == "cosine":
        distmat = 1 - (q_feats / np.linalg.norm(q_feats, axis=1, keepdims=True)) @ (
            g_feats / np.linalg.norm(g_feats, axis=1, keepdims=True)).T
    else:
        distmat = np.linalg.norm(q_feats[:, None] - g_feats[None], axis=2)
    assert_same_scores(got, reference_scores(distmat, q_pids, g_pids, q_camids, g_camids, galleries))


@pytest.mark.parametrize("seed", range(3))
def test_ties_fall_as_in_a_ranking_per_gallery(seed):
    # distances rounded to one decimal: many exact ties, between identities too
    rng = np.random.default_rng(seed)
    folders, g_pids, g_camids = folders_and_candidates(rng)
    q_pids, q_camids = random_queries(rng)
    distmat = np.round(rng.random((len(q_pids), len(g_pids))), 1).astype(np.float32)
    galleries = gallery_draws(folders)
    got = SysuRanking(torch.as_tensor(distmat), q_pids, g_pids, q_camids, g_camids).score(galleries)
    assert_same_scores(got, reference_scores(distmat, q_pids, g_pids, q_camids, g_camids, galleries))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_scores_equal_cpu_scores():
    rng = np.random.default_rng(5)
    folders, g_pids, g_camids = folders_and_candidates(rng)
    q_pids, q_camids = random_queries(rng)
    distmat = torch.as_tensor(np.round(rng.random((len(q_pids), len(g_pids))), 2), dtype=torch.float32)
    galleries = gallery_draws(folders)
    assert_same_scores(SysuRanking(distmat.cuda(), q_pids, g_pids, q_camids, g_camids).score(galleries),
                       SysuRanking(distmat, q_pids, g_pids, q_camids, g_camids).score(galleries))


def test_bad_input_is_an_input_error():
    distmat = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(InputError, match="g_pids: expected the candidates sorted by identity"):
        SysuRanking(distmat, [1, 2], [2, 1, 1], [3, 6], [1, 1, 4])
    with pytest.raises(InputError, match=r"distmat: expected \(queries, candidates\) = \(2, 2\)"):
        SysuRanking(distmat, [1, 2], [1, 2], [3, 6], [1, 4])
    ranking = SysuRanking(distmat, [1, 2], [1, 1, 2], [3, 6], [1, 4, 5])
    with pytest.raises(InputError, match="gallery 1: expected distinct candidate columns in 0..2"):
        ranking.score([np.array([0, 2]), np.array([1, 1])])
    with pytest.raises(InputError, match="gallery 0: expected a non-empty 1-D array"):
        ranking.score([np.array([], dtype=np.int64)])
