"""FastReID's TEST keys on the cross-modality protocols (g2da_plugin/evaluation/postprocess.py): AQE, k-reciprocal
re-ranking and TPR@FPR, each checked on hand-built features against numbers worked out by hand (or by an
independent implementation of the definitions written here), applied per gallery draw; their labels in the
results; and the refusals."""

import json
import logging
import types

import numpy as np
import pytest

from fastreid.config import get_cfg
from fastreid.evaluation.rerank import re_ranking

from g2da_plugin.data.datasets import SYSUMM01_CM
from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.engine.experiments import compare_with_seeds, seeds_caption, table_caption
from g2da_plugin.engine.trainer import G2DATrainer, check_precise_bn
from g2da_plugin.evaluation import CrossModalityEvaluator, eval_sysu, protocol_table, sysu_excluded, sysu_gallery
from g2da_plugin.evaluation.postprocess import PostProcess, tpr_at_fpr
from g2da_plugin.utils.errors import InputError
from tests.evaluation.test_evaluator import METRICS, SYSU_SETTINGS, feed, identity_features, percentages
from tests.helpers import make_cfg

RERANK = dict(TEST__RERANK__ENABLED=True, TEST__RERANK__K1=2, TEST__RERANK__K2=1, TEST__RERANK__LAMBDA=0.3)
AQE = dict(TEST__AQE__ENABLED=True, TEST__AQE__QE_TIME=1, TEST__AQE__QE_K=2, TEST__AQE__ALPHA=1.0)


def regdb_items(visible_pids, thermal_pids):
    """RegDB-like ``(path, pid, camid, modality)`` items: the visible images (camera 1) then the thermal (2)."""
    return ([(f"v{i}", pid, 1, RGB) for i, pid in enumerate(visible_pids)]
            + [(f"t{i}", pid, 2, IR) for i, pid in enumerate(thermal_pids)])


def cosine_distances(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return 1 - (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T


def scores(results, setting):
    return {m: round(results[f"{setting}/{m}"], 4) for m in ("R1", "mAP", "mINP")}


# --------------------------------------------------------------------------------------------------- AQE
#: Unit vectors with rational cosines: visible v0 = (0, 1), v1 = (12, 5) / 13; thermal t0 = (-3, 4) / 5,
#: t1 = (3, -4) / 5. v0, v1 and t0 are identity 0, t1 identity 1.
AQE_VISIBLE = np.array([[0, 1], [12 / 13, 5 / 13]], dtype=np.float32)
AQE_THERMAL = np.array([[-3 / 5, 4 / 5], [3 / 5, -4 / 5]], dtype=np.float32)


def test_aqe_expands_each_image_with_its_neighbours_by_hand():
    # QE_K 2 (an image and its most similar other), ALPHA 1: f' = (f + s f_nn) / 2
    #   v0: nn t0 (s = 4/5)   -> (-0.24, 0.82)      ~ (-12, 41)
    #   v1: nn v0 (s = 5/13)  -> (6, 5) / 13        ~ (6, 5)
    #   t0: nn v0 (s = 4/5)   -> (-0.3, 0.8)        ~ (-3, 8)
    #   t1: nn v1 (s = 16/65) -> (699, -596) / 1690 ~ (699, -596)
    expected = cosine_distances([[-12, 41], [6, 5]], [[-3, 8], [699, -596]])
    # e.g. v1 -> t0: 1 - 22 / sqrt(61 * 73); v1 -> t1: 1 - 1214 / sqrt(61 * 843817)
    assert expected[1] == pytest.approx([1 - 22 / np.sqrt(61 * 73), 1 - 1214 / np.sqrt(61 * 843817)])
    got = PostProcess(aqe=(1, 2, 1.0)).distances(AQE_VISIBLE, AQE_THERMAL, "cosine")
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # plain, v1 is nearer t1 (cosine distance 49/65) than t0 (81/65); expanded, nearer t0
    np.testing.assert_allclose(PostProcess().distances(AQE_VISIBLE, AQE_THERMAL, "cosine")[1], [81 / 65, 49 / 65],
                               atol=1e-6)


def test_aqe_changes_the_regdb_numbers_as_worked_out():
    items, feats = regdb_items([0, 0], [0, 1]), np.concatenate([AQE_VISIBLE, AQE_THERMAL])
    plain = feed(CrossModalityEvaluator(make_cfg(), "regdb"), items, feats)
    expanded = feed(CrossModalityEvaluator(make_cfg(**AQE), "regdb"), items, feats)
    # v2t plain: v0 finds t0 first (AP 1), v1 finds t1 first and t0 second (AP 1/2); expanded both first
    assert scores(plain, "v2t") == {"R1": 50.0, "mAP": 75.0, "mINP": 75.0}
    assert scores(expanded, "v2t") == {"R1": 100.0, "mAP": 100.0, "mINP": 100.0}
    # t2v: t1's identity has no visible image; t0 ranks v0 (cosine 4/5) first both ways
    assert scores(plain, "t2v") == scores(expanded, "t2v") == {"R1": 100.0, "mAP": 100.0, "mINP": 100.0}


def independent_aqe(query, gallery, times, k, alpha):
    """Average query expansion (Chum et al. 2007) as FastReID defines it, written out: each feature becomes
    the mean of its k most cosine-similar features (itself included) weighted by similarity ** alpha."""
    feats = np.concatenate([query, gallery]).astype(np.float64)
    for _ in range(times):
        unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
        sims = unit @ unit.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        feats = (feats[top] * (np.take_along_axis(sims, top, axis=1) ** alpha)[..., None]).mean(axis=1)
    return feats[:len(query)], feats[len(query):]


# ---------------------------------------------------------------------------------------------- re-ranking
def test_rerank_of_a_hand_built_line_of_points():
    # 1-D features, Euclidean: queries at 0 and 9, gallery at 12 and 7; K1 2, K2 1, LAMBDA 0.3.
    # d = squared distance over its row's largest (rows: 0, 9, 12, 7; columns: 0, 9, 12, 7)
    d = np.array([[0, 81, 144, 49], [81, 0, 9, 4], [144, 9, 0, 25], [49, 4, 25, 0]]) / np.array([[144], [81], [144],
                                                                                                   [49]])
    # 2 nearest (and itself): 0 -> {0, 7, 9}, 9 -> {9, 7, 12}, 12 -> {12, 9, 7}, 7 -> {7, 9, 12}. No point has 0
    # among its nearest, and 9, 12 and 7 have each other: the k-reciprocal sets are {0} and three times
    # {9, 12, 7}; the expansion (1 nearest: 0 -> {0}, 9 -> {9, 7}, 12 -> {12}, 7 -> {7, 9}) adds nothing.
    support = [[0], [1, 2, 3], [1, 2, 3], [1, 2, 3]]
    v = np.zeros((4, 4))
    for i, cols in enumerate(support):
        v[i, cols] = np.exp(-d[i, cols]) / np.exp(-d[i, cols]).sum()
    jaccard = np.array([[1 - np.minimum(v[q], v[g]).sum() / np.maximum(v[q], v[g]).sum() for g in (2, 3)]
                        for q in (0, 1)])
    expected = 0.7 * jaccard + 0.3 * d[:2, 2:]
    np.testing.assert_allclose(expected, [[1.0, 0.802083], [0.094082, 0.114052]], atol=1e-6)
    query, gallery = np.array([[0.0], [9.0]], np.float32), np.array([[12.0], [7.0]], np.float32)
    got = PostProcess(rerank=(2, 1, 0.3)).distances(query, gallery, "euclidean")
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert got[1].argmin() == 0  # the query at 9 now prefers 12, which shares its neighbours, over 7


def test_rerank_changes_the_regdb_numbers_as_worked_out():
    items = regdb_items([1, 0], [0, 1])  # visible 0 and 9, thermal 12 and 7
    feats = np.array([[0.0], [9.0], [12.0], [7.0]], np.float32)
    plain = feed(CrossModalityEvaluator(make_cfg(TEST__METRIC="euclidean"), "regdb"), items, feats)
    reranked = feed(CrossModalityEvaluator(make_cfg(TEST__METRIC="euclidean", **RERANK), "regdb"), items, feats)
    assert scores(plain, "v2t") == {"R1": 50.0, "mAP": 75.0, "mINP": 75.0}
    assert scores(reranked, "v2t") == {"R1": 100.0, "mAP": 100.0, "mINP": 100.0}
    # t2v (the same four points): 12 -> 9 first either way; 7 -> 9 (0.1237) before 0 (1.0), as plain
    assert scores(plain, "t2v") == scores(reranked, "t2v") == {"R1": 50.0, "mAP": 75.0, "mINP": 75.0}


def independent_rerank(feats, num_query, k1, k2, lambda_value):
    """Zhong et al., CVPR 2017, from the paper's definitions with sets, on Euclidean features (queries
    first). Two choices follow the authors' code, not the paper's text: distances are squared and scaled by
    their row's largest, and a candidate's set joins when it shares *more* than 2/3 (the paper: at least).
    Returns the (query, gallery) distances and how many points the expansion grew."""
    dist = np.linalg.norm(feats[:, None] - feats[None], axis=2) ** 2
    dist = dist / dist.max(axis=1, keepdims=True)
    order = np.argsort(dist, axis=1, kind="stable")

    def reciprocal(i, k):  # R(i, k): those of i's k nearest (and i) that have i among theirs
        return {j for j in order[i, :k + 1] if i in order[j, :k + 1]}

    v, grown = np.zeros_like(dist), 0
    for p in range(len(feats)):
        r = reciprocal(p, k1)
        star = set(r)
        for q in r:
            half = reciprocal(q, int(np.around(k1 / 2)))
            if len(r & half) > 2 / 3 * len(half):
                star |= half
        grown += star != r
        cols = sorted(star)
        v[p, cols] = np.exp(-dist[p, cols]) / np.exp(-dist[p, cols]).sum()
    if k2 > 1:  # local query expansion: the mean of the k2 nearest's vectors
        v = v[order[:, :k2]].mean(axis=1)
    jaccard = np.array([[1 - np.minimum(v[i], v[j]).sum() / np.maximum(v[i], v[j]).sum()
                         for j in range(num_query, len(feats))] for i in range(num_query)])
    return (1 - lambda_value) * jaccard + lambda_value * dist[:num_query, num_query:], grown


@pytest.mark.parametrize("k1, k2, lambda_value", [(6, 1, 0.0), (8, 3, 0.3), (12, 6, 0.5)])
def test_fastreid_rerank_matches_the_definitions(k1, k2, lambda_value):
    feats = np.random.default_rng(0).normal(size=(40, 3))
    expected, grown = independent_rerank(feats, 15, k1, k2, lambda_value)
    assert grown > 0  # the expansion step is exercised
    dist = np.linalg.norm(feats[:, None] - feats[None], axis=2)
    got = re_ranking(dist[:15, 15:], dist[:15, :15], dist[15:, 15:], k1, k2, lambda_value)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_cosine_rerank_is_the_euclidean_rerank_of_the_unit_vectors():
    feats = np.random.default_rng(0).normal(size=(20, 4)) * np.linspace(0.5, 3, 20)[:, None]
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    post = PostProcess(rerank=(5, 2, 0.3))
    np.testing.assert_allclose(post.distances(feats[:8], feats[8:], "cosine"),
                               post.distances(unit[:8], unit[8:], "euclidean"), atol=1e-5)


# --------------------------------------------------------------------------------------------------- ROC
#: Two queries (identities 1, 2) against seven gallery images (identities 1, 1, 2, 2, 3, 3, 4): positive
#: distances 0.1, 0.5 | 0.2, 0.35; the ten negatives start at 0.3, 0.4.
ROC_DISTANCES = np.array([[0.1, 0.5, 0.3, 0.6, 0.7, 0.8, 0.9], [0.4, 0.65, 0.2, 0.35, 0.75, 0.85, 0.95]])
ROC_Q_PIDS, ROC_G_PIDS = np.array([1, 2]), np.array([1, 1, 2, 2, 3, 3, 4])


def test_tpr_at_fpr_by_hand():
    # FPR < 1/10 accepts no negative: distances below 0.3 -> 0.1 and 0.2 of the 4 positives. FPR 1/10 accepts
    # one (0.3): below 0.4 -> 0.1, 0.2, 0.35.
    tpr = tpr_at_fpr(ROC_DISTANCES, ROC_Q_PIDS, ROC_G_PIDS, [3, 6], [1] * 7)
    assert tpr == {"TPR@FPR=1e-4": 0.5, "TPR@FPR=1e-3": 0.5, "TPR@FPR=1e-2": 0.5, "TPR@FPR=1e-1": 0.75}


def test_tpr_at_fpr_leaves_out_the_pairs_sysu_does_not_count():
    # one more gallery image, identity 5 from cam2, nearest to the cam3 query: SYSU-MM01 drops it for that query
    distmat = np.c_[ROC_DISTANCES, [0.05, 2.0]]
    args = (distmat, ROC_Q_PIDS, np.r_[ROC_G_PIDS, 5], [3, 6], [1] * 7 + [2])
    assert tpr_at_fpr(*args, sysu=True) == {"TPR@FPR=1e-4": 0.5, "TPR@FPR=1e-3": 0.5, "TPR@FPR=1e-2": 0.5,
                                            "TPR@FPR=1e-1": 0.75}
    # counted, it is the nearest negative: no positive lies below it; 1/12 of the negatives lets it in
    assert tpr_at_fpr(*args) == {"TPR@FPR=1e-4": 0.0, "TPR@FPR=1e-3": 0.0, "TPR@FPR=1e-2": 0.0, "TPR@FPR=1e-1": 0.5}


def test_roc_adds_tpr_to_the_regdb_results():
    # 1-D, Euclidean: visible at 0 (identity 1) and 10 (2); thermal identities 1, 1, 2, 2, 3, 3, 4 at
    # 0.1, 0.5, 10.2, 9.65, 0.3, 9.6, 5. Positive pairs 0.1, 0.5 | 0.2, 0.35; the ten negatives 0.3, 0.4, 5, 5, ...
    items = regdb_items([1, 2], [1, 1, 2, 2, 3, 3, 4])
    feats = np.array([[0], [10], [0.1], [0.5], [10.2], [9.65], [0.3], [9.6], [5]], np.float32)
    results = feed(CrossModalityEvaluator(make_cfg(TEST__METRIC="euclidean", TEST__ROC__ENABLED=True), "regdb"),
                   items, feats)
    # no negative below 0.3: 0.1 and 0.2; one negative (1/10): below 0.4, also 0.35. t2v has the same pairs.
    for setting in ("v2t", "t2v"):
        assert {k: round(results[f"{setting}/TPR@FPR={k}"], 4) for k in ("1e-4", "1e-3", "1e-2", "1e-1")} == {
            "1e-4": 50.0, "1e-3": 50.0, "1e-2": 50.0, "1e-1": 75.0}
    header = [cell.strip() for cell in protocol_table(results).splitlines()[0].strip("|").split("|")]
    assert header[-4:] == ["TPR@FPR=1e-4", "TPR@FPR=1e-3", "TPR@FPR=1e-2", "TPR@FPR=1e-1"]


# ------------------------------------------------------------------------------------- SYSU-MM01, per draw
def expected_sysu(data, query_feats, rgb_feats, trials, distances, tpr=False):
    """``{setting/metric: mean, .._std: std}`` with each draw scored by eval_sysu on ``distances(query, gallery)``."""
    column = {path: j for j, (path, *_) in enumerate(data.gallery)}
    q_pids = np.array([pid for _, pid, _, _ in data.query])
    q_cams = np.array([cam for _, _, cam, _ in data.query])
    expected = {}
    for setting, (mode, shots) in SYSU_SETTINGS.items():
        runs = []
        for trial in range(trials):
            draw = sysu_gallery(data.dataset_root, mode, shots, trial)
            g_pids, g_cams = np.array([pid for _, pid, _ in draw]), np.array([cam for _, _, cam in draw])
            distmat = distances(query_feats, rgb_feats[[column[path] for path, _, _ in draw]])
            runs.append(percentages(*eval_sysu(distmat, q_pids, g_pids, q_cams, g_cams)))
            if tpr:
                runs[-1]["TPR@FPR=1e-1"] = 100 * independent_tpr(distmat, q_pids, g_pids, q_cams, g_cams, 0.1)
        for name in runs[0]:
            values = np.array([run[name] for run in runs])
            expected[f"{setting}/{name}"], expected[f"{setting}/{name}_std"] = values.mean(), values.std()
    return expected


def independent_tpr(distmat, q_pids, g_pids, q_cams, g_cams, fpr):
    """The largest share of same-identity pairs at distance <= t over the thresholds t that accept at most
    ``fpr`` of the other pairs; SYSU-MM01's uncounted pairs left out."""
    counted = ~sysu_excluded(q_cams, g_cams)
    same = (q_pids[:, None] == g_pids[None]) & counted
    other = (q_pids[:, None] != g_pids[None]) & counted
    best = 0.0
    for t in np.unique(distmat[counted]):
        if (distmat[other] <= t).mean() <= fpr:
            best = max(best, (distmat[same] <= t).mean())
    return best


def sysu_features(data, seed):
    rng = np.random.default_rng(seed)
    return identity_features(data.query, rng, noise=1.0), identity_features(data.gallery, rng, noise=1.0)


def sysu_results(data, query_feats, rgb_feats, **keys):
    evaluator = CrossModalityEvaluator(make_cfg(TEST__SYSU__TRIALS=2, **keys), "sysu", data.dataset_root)
    return feed(evaluator, data.query + data.gallery, np.concatenate([query_feats, rgb_feats]))


def assert_results(results, expected):
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, abs=1e-3), key


def test_sysu_aqe_and_rerank_apply_to_each_draw(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    query_feats, rgb_feats = sysu_features(data, seed=3)

    def expanded_then_reranked(query, gallery):
        query, gallery = independent_aqe(query, gallery, 1, 3, 3.0)
        unit = np.concatenate([query, gallery])
        unit /= np.linalg.norm(unit, axis=1, keepdims=True)  # TEST.METRIC cosine
        return independent_rerank(unit, len(query), 4, 2, 0.3)[0]

    keys = dict(TEST__AQE__ENABLED=True, TEST__AQE__QE_K=3, TEST__RERANK__ENABLED=True, TEST__RERANK__K1=4,
                TEST__RERANK__K2=2)
    results = sysu_results(data, query_feats, rgb_feats, **keys)
    plain = sysu_results(data, query_feats, rgb_feats)
    expected = expected_sysu(data, query_feats, rgb_feats, 2, expanded_then_reranked)
    assert_results(results, expected)
    assert any(abs(plain[k] - v) > 1 for k, v in expected.items())  # and differently from the plain distances


def test_sysu_roc_per_draw_leaves_the_ranking_numbers_alone(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    query_feats, rgb_feats = sysu_features(data, seed=4)
    results = sysu_results(data, query_feats, rgb_feats, TEST__ROC__ENABLED=True)
    plain = sysu_results(data, query_feats, rgb_feats)
    assert_results(results, expected_sysu(data, query_feats, rgb_feats, 2, cosine_distances, tpr=True))
    for setting in SYSU_SETTINGS:  # the per-draw path ranks as the shared ranking does
        for metric in METRICS:
            assert results[f"{setting}/{metric}"] == pytest.approx(plain[f"{setting}/{metric}"], abs=1e-4)


# ----------------------------------------------------------------------------------------------- labels
def test_labels_in_the_log_results_json_and_tables(tmp_path, caplog):
    cfg = make_cfg(OUTPUT_DIR=str(tmp_path), **AQE, **RERANK)
    labels = ["aqe(qe_time=1,qe_k=2,alpha=1)", "rerank(k1=2,k2=1,lambda=0.3)"]
    assert PostProcess.from_cfg(cfg).labels == labels and PostProcess.from_cfg(make_cfg()).labels == []
    logger = logging.getLogger("g2da_plugin.evaluation.evaluator")
    logger.addHandler(caplog.handler)  # FastReID's setup_logger, run by other tests, stops propagation
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            results = feed(CrossModalityEvaluator(cfg, "regdb"), regdb_items([0, 0], [0, 1]),
                           np.concatenate([AQE_VISIBLE, AQE_THERMAL]))
    finally:
        logger.removeHandler(caplog.handler)
    assert f"Cross-modality results (regdb, %, after {', '.join(labels)}):" in caplog.text

    trainer = types.SimpleNamespace(cfg=cfg, config_file=None, iter=1, start_epoch=0, max_epoch=1)
    G2DATrainer.write_results(trainer, results, 1.0)
    run = json.load(open(tmp_path / "results.json"))
    assert run["postprocess"] == labels
    plain = dict(run, postprocess=[])
    every = "every number after aqe(qe_time=1,qe_k=2,alpha=1), rerank(k1=2,k2=1,lambda=0.3)"
    assert every in table_caption([("A", [run]), ("B", [run])], "cmd")
    assert "after" not in table_caption([("A", [plain])], "cmd")
    mixed = table_caption([("A", [plain]), ("B", [run])], "cmd")
    assert "post-processing (`TEST.AQE`, `TEST.RERANK`): A: none; B: aqe(" in mixed
    assert every in seeds_caption([("A", {0: [run], 1: [run]})], "cmd")


def test_one_postprocessed_run_beside_plain_seeds_says_so(tmp_path):
    run = {"results": {"RegDB_CM": {f"v2t/{m}": 50.0 for m in ("R1", "R10", "R20", "mAP", "mINP")}},
           "train_time_s": 1.0, "postprocess": ["rerank(k1=20,k2=6,lambda=0.3)"]}
    json.dump(run, open(tmp_path / "results.json", "w"))
    json.dump({"methods": {}}, open(tmp_path / "seeds.json", "w"))
    table = compare_with_seeds(str(tmp_path), str(tmp_path / "seeds.json"))
    assert f"this run ({tmp_path.name}, after rerank(k1=20,k2=6,lambda=0.3))" in table


# ---------------------------------------------------------------------------------------------- refusals
def test_every_fastreid_test_key_is_decided():
    """postprocess.py's docstring says how each key under FastReID's cfg.TEST is handled: a new one must be
    decided there (honoured, handled elsewhere or refused) before this passes."""
    def leaves(node, prefix=""):
        for key, value in node.items():
            yield from leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    assert sorted(leaves(get_cfg().TEST)) == [
        "AQE.ALPHA", "AQE.ENABLED", "AQE.QE_K", "AQE.QE_TIME", "EVAL_PERIOD", "FLIP.ENABLED", "IMS_PER_BATCH",
        "METRIC", "PRECISE_BN.DATASET", "PRECISE_BN.ENABLED", "PRECISE_BN.NUM_ITER", "RERANK.ENABLED", "RERANK.K1",
        "RERANK.K2", "RERANK.LAMBDA", "ROC.ENABLED"]


@pytest.mark.parametrize("keys, message", [
    (dict(TEST__METRIC="jaccard"), r"TEST\.METRIC\) must be 'cosine' or 'euclidean', got 'jaccard'"),
    (dict(TEST__AQE__ENABLED=True, TEST__AQE__QE_K=0), r"TEST\.AQE\.QE_K must be at least 1, got 0"),
    (dict(TEST__AQE__ENABLED=True, TEST__AQE__QE_TIME=0), r"TEST\.AQE\.QE_TIME must be at least 1"),
    (dict(TEST__RERANK__ENABLED=True, TEST__RERANK__K2=0), r"TEST\.RERANK\.K2 must be at least 1"),
    (dict(TEST__RERANK__ENABLED=True, TEST__RERANK__LAMBDA=1.5), r"TEST\.RERANK\.LAMBDA .* \[0, 1\], got 1\.5"),
])
def test_bad_values_stop_when_the_evaluator_is_built(keys, message):
    with pytest.raises(InputError, match=message):
        CrossModalityEvaluator(make_cfg(**keys), "regdb")


def test_values_of_disabled_keys_are_not_checked():
    CrossModalityEvaluator(make_cfg(TEST__AQE__QE_K=0, TEST__RERANK__LAMBDA=2.0), "regdb")


def test_postprocessing_is_refused_on_llcm():
    with pytest.raises(InputError, match="not applied to LLCM"):
        CrossModalityEvaluator(make_cfg(TEST__ROC__ENABLED=True), "llcm")


def test_aqe_needs_more_images_than_neighbours():
    with pytest.raises(InputError, match=r"TEST\.AQE\.QE_K 5 must be smaller than .* \(4\)"):
        feed(CrossModalityEvaluator(make_cfg(TEST__AQE__ENABLED=True), "regdb"), regdb_items([0, 0], [0, 1]),
             np.concatenate([AQE_VISIBLE, AQE_THERMAL]))


def test_precise_bn_needs_a_cross_modality_dataset():
    with pytest.raises(InputError, match=r"TEST\.PRECISE_BN\.DATASET 'Market1501' is not a cross-modality dataset"):
        check_precise_bn(make_cfg(TEST__PRECISE_BN__ENABLED=True))
    check_precise_bn(make_cfg(TEST__PRECISE_BN__ENABLED=True, TEST__PRECISE_BN__DATASET="SYSUMM01_CM"))
    check_precise_bn(make_cfg())  # off: FastReID's default dataset is never read
