"""CrossModalityEvaluator: features in through process(), protocol results out of evaluate(), on the tiny
synthetic SYSU-MM01 and a tiny synthetic RegDB, checked against eval_sysu / eval_regdb run by hand."""

import re

import numpy as np
import pytest
import torch

from g2da_plugin.data.datasets import RegDB_CM, SYSUMM01_CM
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.evaluation import CrossModalityEvaluator, eval_regdb, eval_sysu, protocol_table, sysu_gallery
from g2da_plugin.utils.errors import InputError
from tests.helpers import make_cfg

METRICS = ("R1", "R5", "R10", "R20", "mAP", "mINP")
#: The evaluator's SYSU-MM01 settings and the (mode, shots) of their gallery draws (its defaults).
SYSU_SETTINGS = {"all-single": ("all", 1), "all-multi": ("all", 10),
                 "indoor-single": ("indoor", 1), "indoor-multi": ("indoor", 10)}
TRIALS = 4


@pytest.fixture(scope="module")
def regdb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("regdb")
    make_synthetic_regdb(str(root), num_ids=8, images_per_modality=3, seed=2)
    return str(root)


def feed(evaluator, items, features, batch=4):
    """Feed ``(img_path, pid, camid, modality)`` items and their features in batches, as FastReID's
    inference_on_dataset does, then evaluate."""
    evaluator.reset()
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        evaluator.process({
            "targets": torch.tensor([pid for _, pid, _, _ in chunk]),
            "camids": torch.tensor([cam for _, _, cam, _ in chunk]),
            "modalities": torch.tensor([m for *_, m in chunk]),
            "img_paths": [p for p, *_ in chunk],
        }, torch.as_tensor(features[start:start + batch]))
    return evaluator.evaluate()


def distances(query, gallery, metric):
    """``1 - cos`` or the L2 distance, in float64."""
    if metric == "cosine":
        query = query / np.linalg.norm(query, axis=1, keepdims=True)
        gallery = gallery / np.linalg.norm(gallery, axis=1, keepdims=True)
        return 1 - query @ gallery.T
    return np.linalg.norm(query[:, None] - gallery[None], axis=2)


def percentages(cmc, mAP, mINP):
    return {"R1": 100 * cmc[0], "R5": 100 * cmc[4], "R10": 100 * cmc[9], "R20": 100 * cmc[19],
            "mAP": 100 * mAP, "mINP": 100 * mINP}


def identity_features(items, rng, noise):
    """One random direction per identity, plus Gaussian noise of scale ``noise`` per image."""
    pids = sorted({pid for _, pid, _, _ in items})
    centres = rng.normal(size=(len(pids), 8))
    return (centres[[pids.index(pid) for _, pid, _, _ in items]]
            + noise * rng.normal(size=(len(items), 8))).astype(np.float32)


def test_identity_features_score_perfectly(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    items = data.query + data.gallery
    features = identity_features(items, np.random.default_rng(0), noise=0.0)
    results = feed(CrossModalityEvaluator(make_cfg(TEST__SYSU__TRIALS=3), "sysu", data.dataset_root), items, features)
    assert list(results) == [f"{setting}/{metric}{std}" for setting in SYSU_SETTINGS
                             for metric in METRICS for std in ("", "_std")] + ["metric"]
    for setting in SYSU_SETTINGS:
        for metric in METRICS:
            assert results[f"{setting}/{metric}"] == pytest.approx(100.0)
            assert results[f"{setting}/{metric}_std"] == pytest.approx(0.0)
    assert results["metric"] == pytest.approx(100.0)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_sysu_results_are_mean_and_std_of_eval_sysu_over_the_gallery_draws(synthetic_root, metric):
    data = SYSUMM01_CM(root=synthetic_root)
    rng = np.random.default_rng(1)
    queries, rgb = data.query, data.gallery  # every IR and every RGB test image
    query_feats = identity_features(queries, rng, noise=1.0)
    rgb_feats = identity_features(rgb, rng, noise=1.0)
    # Fed in a shuffled order: the evaluator must find each gallery draw's images by their paths.
    items, feats = queries + rgb, np.concatenate([query_feats, rgb_feats])
    order = rng.permutation(len(items))
    evaluator = CrossModalityEvaluator(make_cfg(TEST__METRIC=metric, TEST__SYSU__TRIALS=TRIALS), "sysu",
                                       data.dataset_root)
    results = feed(evaluator, [items[i] for i in order], feats[order])

    column = {path: j for j, (path, *_) in enumerate(rgb)}
    q_pids = np.array([pid for _, pid, _, _ in queries])
    q_cams = np.array([cam for _, _, cam, _ in queries])
    expected = {}
    for setting, (mode, shots) in SYSU_SETTINGS.items():
        runs = []
        for trial in range(TRIALS):
            draw = sysu_gallery(data.dataset_root, mode, shots, trial)
            cols = [column[path] for path, _, _ in draw]
            runs.append(percentages(*eval_sysu(distances(query_feats, rgb_feats[cols], metric), q_pids,
                                               np.array([pid for _, pid, _ in draw]), q_cams,
                                               np.array([cam for _, _, cam in draw]))))
        for name in METRICS:
            values = np.array([run[name] for run in runs])
            expected[f"{setting}/{name}"] = values.mean()
            expected[f"{setting}/{name}_std"] = values.std()
    # The four settings score differently here, so scoring one setting's gallery for another shows.
    per_setting = [tuple(round(expected[f"{s}/{m}{std}"], 6) for m in METRICS for std in ("", "_std"))
                   for s in SYSU_SETTINGS]
    assert len(set(per_setting)) == len(SYSU_SETTINGS)

    for key, value in expected.items():
        assert results[key] == pytest.approx(value, abs=1e-4), key
    assert results["metric"] == pytest.approx((expected["all-single/R1"] + expected["all-single/mAP"]) / 2,
                                              abs=1e-4)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_regdb_scores_both_directions(regdb_root, metric):
    data = RegDB_CM(root=regdb_root, trial=4)
    items = data.query + data.gallery
    feats = np.random.default_rng(1).normal(size=(len(items), 5)).astype(np.float32)
    results = feed(CrossModalityEvaluator(make_cfg(TEST__METRIC=metric), "regdb", data.dataset_root), items, feats)
    visible, thermal = feats[:len(data.query)], feats[len(data.query):]
    v_pids = np.array([pid for _, pid, _, _ in data.query])
    t_pids = np.array([pid for _, pid, _, _ in data.gallery])
    expected = {
        "v2t": percentages(*eval_regdb(distances(visible, thermal, metric), v_pids, t_pids)),
        "t2v": percentages(*eval_regdb(distances(thermal, visible, metric), t_pids, v_pids)),
    }
    assert expected["v2t"] != expected["t2v"]
    assert sorted(results) == sorted([f"{s}/{m}" for s in expected for m in METRICS] + ["metric"])
    for setting, scores in expected.items():
        for name, value in scores.items():
            assert results[f"{setting}/{name}"] == pytest.approx(value, abs=1e-4), (setting, name)
    assert results["metric"] == pytest.approx((expected["v2t"]["R1"] + expected["v2t"]["mAP"]) / 2, abs=1e-4)


def test_protocol_table_has_a_row_per_setting_with_mean_and_std():
    results = {"all-single/" + m: 10.0 + i for i, m in enumerate(METRICS)}
    results.update({"all-single/" + m + "_std": 0.5 * i for i, m in enumerate(METRICS)})
    results.update({"v2t/" + m: 1.234 for m in METRICS})
    results["metric"] = 99.0
    lines = protocol_table(results).splitlines()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    assert rows[0] == ["setting", *METRICS]
    assert rows[2] == ["all-single", "10.00 ± 0.00", "11.00 ± 0.50", "12.00 ± 1.00", "13.00 ± 1.50",
                       "14.00 ± 2.00", "15.00 ± 2.50"]
    assert rows[3] == ["v2t"] + ["1.23"] * 6
    assert len(rows) == 4


def test_gallery_image_without_feature_is_an_error(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    items = data.query + data.gallery[1:]
    feats = np.ones((len(items), 3), dtype=np.float32)
    with pytest.raises(InputError, match=f"gallery image {re.escape(data.gallery[0][0])} .*no extracted feature"):
        feed(CrossModalityEvaluator(make_cfg(TEST__SYSU__TRIALS=10), "sysu", data.dataset_root), items, feats)


def test_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="unknown protocol 'market'"):
        CrossModalityEvaluator(make_cfg(), "market")
