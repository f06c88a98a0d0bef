"""CrossModalityEvaluator: features in, protocol table out, on a tiny synthetic SYSU-MM01 and RegDB."""

import numpy as np
import pytest
import torch

import g2da_plugin  # noqa: F401
from fastreid.config import get_cfg
from g2da_plugin.config import add_g2da_config
from g2da_plugin.data.datasets import RegDB_CM, SYSUMM01_CM
from g2da_plugin.data.synthetic import make_synthetic_regdb, make_synthetic_sysu
from g2da_plugin.evaluation import CrossModalityEvaluator, eval_regdb, eval_sysu, results_table, sysu_gallery


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    make_synthetic_sysu(str(root), num_train_ids=2, num_val_ids=1, num_test_ids=5, images_per_cam=(2, 3), seed=2)
    make_synthetic_regdb(str(root), num_ids=8, images_per_modality=3, seed=2)
    return str(root)


def cfg(trials=3):
    c = add_g2da_config(get_cfg())
    c.TEST.SYSU.TRIALS = trials
    return c


def feed(evaluator, items, features, batch=4):
    """Feed (img_path, pid, camid, modality) items in batches, as inference_on_dataset does."""
    evaluator.reset()
    for s in range(0, len(items), batch):
        chunk = items[s:s + batch]
        evaluator.process({
            "targets": torch.tensor([pid for _, pid, _, _ in chunk]),
            "camids": torch.tensor([cam for _, _, cam, _ in chunk]),
            "modalities": torch.tensor([m for *_, m in chunk]),
            "img_paths": [p for p, *_ in chunk],
        }, torch.as_tensor(features[s:s + batch]))
    return evaluator.evaluate()


def test_identity_features_score_perfectly(root):
    data = SYSUMM01_CM(root=root)
    items = data.query + data.gallery
    pids = sorted({pid for _, pid, _, _ in items})
    onehot = np.eye(len(pids), dtype=np.float32)[[pids.index(pid) for _, pid, _, _ in items]]
    results = feed(CrossModalityEvaluator(cfg(), "sysu", data.dataset_root), items, onehot)
    for setting in ("all-single", "all-multi", "indoor-single", "indoor-multi"):
        for metric in ("R1", "R20", "mAP", "mINP"):
            assert results[f"{setting}/{metric}"] == pytest.approx(100.0)
            assert results[f"{setting}/{metric}_std"] == pytest.approx(0.0)
    assert results["metric"] == pytest.approx(100.0)
    assert "indoor-multi" in results_table(results)


def test_sysu_results_are_the_mean_of_the_trials(root):
    data = SYSUMM01_CM(root=root)
    items = data.query + data.gallery
    feats = np.random.default_rng(0).normal(size=(len(items), 6)).astype(np.float32)
    results = feed(CrossModalityEvaluator(cfg(trials=3), "sysu", data.dataset_root), items, feats)

    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    nq = len(data.query)
    index = {p: i for i, (p, *_) in enumerate(items)}
    r1, maps = [], []
    for trial in range(3):
        gallery = sysu_gallery(data.dataset_root, mode="indoor", shots=1, trial=trial)
        g = np.array([index[p] for p, _, _ in gallery])
        dist = 1 - unit[:nq] @ unit[g].T
        cmc, mAP, _ = eval_sysu(dist, np.array([pid for _, pid, _, _ in data.query]),
                                np.array([pid for _, pid, _ in gallery]),
                                np.array([cam for _, _, cam, _ in data.query]),
                                np.array([cam for _, _, cam in gallery]))
        r1.append(100 * cmc[0])
        maps.append(100 * mAP)
    assert results["indoor-single/R1"] == pytest.approx(np.mean(r1), abs=1e-4)
    assert results["indoor-single/R1_std"] == pytest.approx(np.std(r1), abs=1e-4)
    assert results["indoor-single/mAP"] == pytest.approx(np.mean(maps), abs=1e-4)
    first = results["all-single/R1"], results["all-single/mAP"]
    assert results["metric"] == pytest.approx(sum(first) / 2)


def test_regdb_scores_both_directions(root):
    data = RegDB_CM(root=root, trial=4)
    items = data.query + data.gallery
    feats = np.random.default_rng(1).normal(size=(len(items), 5)).astype(np.float32)
    results = feed(CrossModalityEvaluator(cfg(), "regdb", data.dataset_root), items, feats)
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    nq = len(data.query)
    q_pids = np.array([pid for _, pid, _, _ in data.query])
    g_pids = np.array([pid for _, pid, _, _ in data.gallery])
    dist = 1 - unit[:nq] @ unit[nq:].T
    cmc, mAP, mINP = eval_regdb(dist, q_pids, g_pids)
    assert results["v2t/R1"] == pytest.approx(100 * cmc[0], abs=1e-4)
    assert results["v2t/mINP"] == pytest.approx(100 * mINP, abs=1e-4)
    cmc, mAP, _ = eval_regdb(dist.T, g_pids, q_pids)
    assert results["t2v/R10"] == pytest.approx(100 * cmc[9], abs=1e-4)
    assert results["t2v/mAP"] == pytest.approx(100 * mAP, abs=1e-4)


def test_gallery_image_without_feature_is_an_error(root):
    data = SYSUMM01_CM(root=root)
    items = data.query + data.gallery[1:]
    feats = np.ones((len(items), 3), dtype=np.float32)
    with pytest.raises(KeyError, match="no extracted feature"):
        feed(CrossModalityEvaluator(cfg(trials=10), "sysu", data.dataset_root), items, feats)
