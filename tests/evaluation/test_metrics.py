"""Tests of g2da_plugin/evaluation/metrics.py against rankings worked out by hand."""


import numpy as np
import pytest
import torch

from g2da_plugin.evaluation import metrics

eval_sysu, eval_regdb, pairwise_distance, sysu_excluded = (
    metrics.eval_sysu, metrics.eval_regdb, metrics.pairwise_distance, metrics.sysu_excluded)


# --------------------------------------------------------------------------------------------
# A small SYSU case, worked out by hand
# --------------------------------------------------------------------------------------------
# gallery index:      g0  g1  g2  g3  g4  g5  g6
SYSU_G_PIDS = np.array([1, 2, 2, 1, 3, 1, 5])
SYSU_G_CAMS = np.array([2, 1, 4, 1, 5, 4, 2])
SYSU_Q_PIDS = np.array([1, 1, 4, 2, 5])
SYSU_Q_CAMS = np.array([3, 6, 3, 6, 3])
SYSU_DISTMAT = np.array([
    # q0 (pid 1, cam3): ranked g0..g6; g0 and g6 (cam2) are dropped for a cam3 query.
    #   kept list: g1(2) g2(2) g3(1) g4(3) g5(1)  -> true matches at positions 3 and 5
    #   AP = (1/3 + 2/5) / 2 = 11/30, INP = 2/5
    #   identities in first-occurrence order: 2, 1, 3 -> true identity at identity-rank 2
    #   (the image-level CMC would only count it at rank 3)
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    # q1 (pid 1, cam6): nothing dropped; ranked g0..g6 -> matches at positions 1, 4, 6
    #   AP = (1/1 + 2/4 + 3/6) / 3 = 2/3, INP = 3/6 = 1/2, identity-rank 1
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    # q2 (pid 4): no gallery image of identity 4 -> invalid, skipped
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    # q3 (pid 2, cam6), ties: g3 (0.1) first, then the tied 0.2s in gallery order:
    #   ranked g3(1) g0(1) g1(2) g2(2) g4(3) g5(1) g6(5) -> matches at positions 3, 4
    #   AP = (1/3 + 2/4) / 2 = 5/12, INP = 2/4 = 1/2
    #   identities: 1, 2, ... -> identity-rank 2
    [0.2, 0.2, 0.2, 0.1, 0.2, 0.2, 0.9],
    # q4 (pid 5, cam3): its only gallery image g6 is from cam2 -> dropped -> invalid
    [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.0],
])
# Valid queries q0, q1, q3 with identity-ranks 2, 1, 2:
#   cmc[0] = 1/3 (only q1), cmc[1] = 3/3; the gallery has 4 identities, so ranks 3..20 repeat 1.
SYSU_EXPECTED_CMC = np.array([1 / 3] + [1.0] * 19)
SYSU_EXPECTED_MAP = (11 / 30 + 2 / 3 + 5 / 12) / 3  # = (22 + 40 + 25) / 60 / 3 = 29/60
SYSU_EXPECTED_MINP = (2 / 5 + 1 / 2 + 1 / 2) / 3  # = 1.4 / 3 = 7/15


def test_eval_sysu_hand_worked_case():
    cmc, mAP, mINP = eval_sysu(SYSU_DISTMAT, SYSU_Q_PIDS, SYSU_G_PIDS, SYSU_Q_CAMS, SYSU_G_CAMS)
    assert cmc.shape == (20,) and cmc.dtype == np.float64
    np.testing.assert_allclose(cmc, SYSU_EXPECTED_CMC)
    assert mAP == pytest.approx(29 / 60) == pytest.approx(SYSU_EXPECTED_MAP)
    assert mINP == pytest.approx(7 / 15) == pytest.approx(SYSU_EXPECTED_MINP)
    assert isinstance(mAP, float) and isinstance(mINP, float)


def test_eval_sysu_invalid_queries_equal_excluding_them():
    kept = [0, 1, 3]
    with_invalid = eval_sysu(SYSU_DISTMAT, SYSU_Q_PIDS, SYSU_G_PIDS, SYSU_Q_CAMS, SYSU_G_CAMS)
    without = eval_sysu(SYSU_DISTMAT[kept], SYSU_Q_PIDS[kept], SYSU_G_PIDS,
                        SYSU_Q_CAMS[kept], SYSU_G_CAMS)
    np.testing.assert_allclose(with_invalid[0], without[0])
    assert with_invalid[1:] == pytest.approx(without[1:])


def test_eval_sysu_drops_cam2_only_for_cam3_queries():
    # gallery: g0 pid 7 cam2 (nearest), g1 pid 8 cam1, g2 pid 7 cam1
    distmat = np.array([[0.1, 0.2, 0.3]] * 2)
    g_pids, g_cams = np.array([7, 8, 7]), np.array([2, 1, 1])
    q_pids = np.array([7, 7])
    # cam3 query: g0 dropped -> list g1(8) g2(7): CMC [0, 1, 1], AP = 1/2, INP = 1/2
    cmc, mAP, mINP = eval_sysu(distmat[:1], q_pids[:1], g_pids, np.array([3]), g_cams, 3)
    np.testing.assert_allclose(cmc, [0, 1, 1])
    assert (mAP, mINP) == pytest.approx((1 / 2, 1 / 2))
    # cam6 query: nothing dropped -> g0(7) g1(8) g2(7): CMC [1, 1, 1], AP = (1 + 2/3)/2 = 5/6,
    # INP = 2/3
    cmc, mAP, mINP = eval_sysu(distmat[1:], q_pids[1:], g_pids, np.array([6]), g_cams, 3)
    np.testing.assert_allclose(cmc, [1, 1, 1])
    assert (mAP, mINP) == pytest.approx((5 / 6, 2 / 3))


def test_sysu_excluded_marks_cam2_images_for_cam3_queries_only():
    excluded = sysu_excluded([3, 6, 3], [1, 2, 4, 5, 2])
    np.testing.assert_array_equal(excluded, [[False, True, False, False, True],
                                             [False, False, False, False, False],
                                             [False, True, False, False, True]])


def test_identity_cmc_differs_from_image_cmc():
    # ranked gallery: pid 2, pid 2, pid 1 for a pid-1 query from cam6.
    distmat = np.array([[0.1, 0.2, 0.3]])
    g_pids, q_pids = np.array([2, 2, 1]), np.array([1])
    # identity list 2, 1 -> SYSU CMC [0, 1, 1]; image list -> standard CMC [0, 0, 1]
    sysu_cmc, _, _ = eval_sysu(distmat, q_pids, g_pids, np.array([6]), np.array([1, 4, 5]), 3)
    regdb_cmc, _, _ = eval_regdb(distmat, q_pids, g_pids, 3)
    np.testing.assert_allclose(sysu_cmc, [0, 1, 1])
    np.testing.assert_allclose(regdb_cmc, [0, 0, 1])


def test_ties_resolve_by_gallery_order():
    # two tied images: the one earlier in the gallery is ranked first.
    distmat = np.array([[0.5, 0.5]])
    q = np.array([1])
    # gallery [pid 2, pid 1]: true match second -> AP = 1/2
    _, mAP, _ = eval_regdb(distmat, q, np.array([2, 1]), 2)
    assert mAP == pytest.approx(0.5)
    # gallery [pid 1, pid 2]: true match first -> AP = 1
    _, mAP, _ = eval_regdb(distmat, q, np.array([1, 2]), 2)
    assert mAP == pytest.approx(1.0)


def test_eval_regdb_hand_worked_case():
    g_pids = np.array([1, 2, 1, 3])
    q_pids = np.array([1, 3, 9])
    distmat = np.array([
        # q0 (pid 1): ranked g1(2) g3(3) g2(1) g0(1) -> matches at 3, 4
        #   first hit rank 3; AP = (1/3 + 2/4) / 2 = 5/12; INP = 2/4
        [0.4, 0.1, 0.3, 0.2],
        # q1 (pid 3): ranked g0 g1 g2 g3 -> match at 4; AP = 1/4; INP = 1/4
        [0.1, 0.2, 0.3, 0.4],
        # q2 (pid 9): not in the gallery -> skipped
        [0.1, 0.2, 0.3, 0.4],
    ])
    cmc, mAP, mINP = eval_regdb(distmat, q_pids, g_pids, max_rank=6)
    # ranks 1, 2: nobody; 3: q0 (1/2); 4: both; 5, 6 (past the 4 images): padded with 1
    np.testing.assert_allclose(cmc, [0, 0, 0.5, 1, 1, 1])
    assert mAP == pytest.approx((5 / 12 + 1 / 4) / 2)  # = 1/3
    assert mINP == pytest.approx((1 / 2 + 1 / 4) / 2)  # = 3/8


def test_no_valid_query_raises():
    with pytest.raises(ValueError, match="no valid query"):
        eval_regdb(np.zeros((2, 3)), np.array([5, 6]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="no valid query"):
        # the only match is a cam2 image for a cam3 query
        eval_sysu(np.zeros((1, 2)), np.array([1]), np.array([1, 2]), np.array([3]),
                  np.array([2, 1]))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="g_pids"):
        eval_regdb(np.zeros((2, 3)), np.array([1, 2]), np.array([1, 2]))
    with pytest.raises(ValueError, match="q_camids"):
        eval_sysu(np.zeros((2, 3)), [1, 2], [1, 2, 3], [3], [1, 1, 1])
    with pytest.raises(ValueError, match="max_rank"):
        eval_regdb(np.zeros((1, 3)), [1], [1, 2, 3], max_rank=0)


# --------------------------------------------------------------------------------------------
# Secondary check: a straightforward per-query reimplementation on random inputs
# --------------------------------------------------------------------------------------------
def _slow_eval(distmat, q_pids, g_pids, q_cams, g_cams, max_rank, identity_cmc):
    """One query at a time, written for clarity; sums the CMC of *all* queries and divides
    by the number of valid ones, as the community code does for SYSU."""
    cmc_sum, aps, inps = np.zeros(max_rank), [], []
    for i in range(len(q_pids)):
        order = np.argsort(distmat[i], kind="stable")
        if q_cams is not None and q_cams[i] == 3:
            order = [j for j in order if g_cams[j] != 2]
        ranked = [g_pids[j] for j in order]
        listed = list(dict.fromkeys(ranked)) if identity_cmc else ranked
        curve = np.zeros(max_rank)
        if q_pids[i] in listed:
            curve[listed.index(q_pids[i]):] = 1
        cmc_sum += curve
        hits = [pos for pos, pid in enumerate(ranked, start=1) if pid == q_pids[i]]
        if hits:
            aps.append(np.mean([(k + 1) / pos for k, pos in enumerate(hits)]))
            inps.append(len(hits) / hits[-1])
    return cmc_sum / len(aps), np.mean(aps), np.mean(inps)


@pytest.mark.parametrize("seed", range(4))
def test_matches_slow_reimplementation_on_random_inputs(seed, monkeypatch):
    monkeypatch.setattr(metrics, "QUERY_BLOCK", 7)  # exercise several query blocks
    rng = np.random.default_rng(seed)
    num_q, num_g = 40, 60
    q_pids, g_pids = rng.integers(0, 12, num_q), rng.integers(0, 10, num_g)  # some invalid
    q_cams, g_cams = rng.choice([3, 6], num_q), rng.choice([1, 2, 4, 5], num_g)
    # rounded distances create many ties
    distmat = np.round(rng.random((num_q, num_g)), 1)

    got = eval_sysu(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=20)
    want = _slow_eval(distmat, q_pids, g_pids, q_cams, g_cams, 20, identity_cmc=True)
    np.testing.assert_allclose(got[0], want[0])
    assert got[1:] == pytest.approx(want[1:])

    got = eval_regdb(distmat, q_pids, g_pids, max_rank=70)  # > num_g: padded
    want = _slow_eval(distmat, q_pids, g_pids, None, None, 70, identity_cmc=False)
    np.testing.assert_allclose(got[0], want[0])
    assert got[1:] == pytest.approx(want[1:])


# --------------------------------------------------------------------------------------------
# pairwise_distance
# --------------------------------------------------------------------------------------------
def test_pairwise_distance_hand_values():
    q = np.array([[1.0, 0.0]])
    g = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    # cos = 1, 0, -1 -> cosine distance 0, 1, 2; euclidean 0, sqrt(5), 4
    cos = pairwise_distance(q, g, "cosine")
    euc = pairwise_distance(q, g, "euclidean")
    assert cos.dtype == np.float32 and euc.dtype == np.float32
    np.testing.assert_allclose(cos, [[0, 1, 2]], atol=1e-6)
    np.testing.assert_allclose(euc, [[0, np.sqrt(5), 4]], atol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_distance_matrix_matches_float64_numpy_and_keeps_the_device(metric):
    rng = np.random.default_rng(0)
    q, g = rng.normal(size=(30, 16)), rng.normal(size=(50, 16))
    if metric == "cosine":
        want = 1 - (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (g / np.linalg.norm(g, axis=1, keepdims=True)).T
    else:
        want = np.linalg.norm(q[:, None] - g[None], axis=2)
    got = metrics.distance_matrix(torch.as_tensor(q), torch.as_tensor(g), metric)
    assert got.dtype == torch.float32 and got.device == torch.device("cpu")
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)
    np.testing.assert_allclose(pairwise_distance(q, g, metric), want, atol=1e-5)


def test_pairwise_distance_rejects_bad_input():
    with pytest.raises(ValueError, match="metric"):
        pairwise_distance(np.ones((1, 2)), np.ones((1, 2)), metric="manhattan")
    with pytest.raises(ValueError, match="feature size"):
        pairwise_distance(np.ones((1, 2)), np.ones((1, 3)))
