"""LLCM's protocol (g2da_plugin/evaluation/llcm_protocol.py): the DEEN code's gallery draws, both directions
with queries and gallery on the right sides, the same-identity-same-camera filter, and the evaluator's keys."""

import os
import random

import numpy as np
import pytest
import torch

from g2da_plugin.data.datasets import IR, LLCM_CM, RGB
from g2da_plugin.evaluation import (CrossModalityEvaluator, ExtractedFeatures, SysuRanking, draw_llcm_gallery,
                                    llcm_excluded, llcm_gallery_folders, llcm_trial_scores)
from g2da_plugin.utils.errors import InputError
from tests.helpers import make_cfg

#: {folder: {(camera, pid): images}}; identity 4 is not a test identity, and test_nir/cam3 is never read.
LAYOUT = {
    "test_vis": {(1, 2): 3, (3, 2): 2, (9, 2): 4, (2, 7): 5, (5, 7): 1, (1, 11): 2, (4, 11): 3, (1, 4): 2},
    "test_nir": {(1, 2): 4, (2, 2): 1, (3, 7): 3, (8, 7): 2, (1, 11): 3, (6, 11): 4, (2, 4): 2},
}
TEST_IDS = (11, 2, 7)
CAMERAS = {"test_vis": range(1, 10), "test_nir": (1, 2, 4, 5, 6, 7, 8, 9)}
FOLDER = {RGB: "test_vis", IR: "test_nir"}


@pytest.fixture
def llcm_root(tmp_path):
    llcm = tmp_path / "LLCM"
    for folder, identities in LAYOUT.items():
        for (cam, pid), count in identities.items():
            path = llcm / folder / f"cam{cam}" / f"{pid:04d}"
            path.mkdir(parents=True)
            for index in reversed(range(count)):  # created in reverse: a missing sort would show
                (path / f"{pid:04d}_c{cam:02d}_f{index:04d}.jpg").touch()
    (llcm / "idx").mkdir()
    for name in ("train_vis.txt", "train_nir.txt"):  # LLCM_CM reads them; the protocol does not
        (llcm / "idx" / name).write_text("test_vis/cam1/0002/0002_c01_f0000.jpg 0\n")
    (llcm / "idx" / "test_id.txt").write_text(",".join(map(str, TEST_IDS)) + "\n")
    return str(llcm)


@pytest.fixture
def global_random_restored():
    state = random.getstate()
    yield
    random.setstate(state)


def deen_gallery(root, folder, trial):
    """process_gallery_llcm of the DEEN code: seed the global generator with the trial, then for each
    test identity ascending and each camera in order, random.choice over the sorted listing."""
    random.seed(trial)
    gallery = []
    for pid in sorted(TEST_IDS):
        for cam in CAMERAS[folder]:
            path = os.path.join(root, folder, f"cam{cam}", f"{pid:04d}")
            if os.path.isdir(path):
                gallery.append((os.path.join(path, random.choice(sorted(os.listdir(path)))), pid, cam))
    return gallery


@pytest.mark.parametrize("modality", [RGB, IR])
def test_gallery_draws_are_the_deen_code_draws(llcm_root, modality, global_random_restored):
    folders = llcm_gallery_folders(llcm_root, modality)
    for trial in range(4):
        state = random.getstate()
        drawn = draw_llcm_gallery(folders, trial)
        assert random.getstate() == state  # a private generator: the global one is untouched
        assert drawn == deen_gallery(llcm_root, FOLDER[modality], trial)
    # one image per (test identity, camera) folder: nir/cam3 and identity 4 are not among them
    assert [(pid, cam) for _, pid, cam in drawn] == sorted(
        (pid, cam) for cam, pid in LAYOUT[FOLDER[modality]] if pid in TEST_IDS and cam in CAMERAS[FOLDER[modality]])
    assert len({tuple(draw_llcm_gallery(folders, t)) for t in range(4)}) > 1  # the trials differ


def test_an_empty_gallery_folder_is_named(llcm_root):
    empty = os.path.join(llcm_root, "test_nir", "cam5", "0002")
    os.makedirs(empty)
    with pytest.raises(InputError, match=f"LLCM folder {empty} is empty"):
        llcm_gallery_folders(llcm_root, IR)


def test_same_identity_same_camera_images_are_not_counted():
    # one query, identity 1 seen by camera 1; the nearest image is its own identity by its own camera
    q_pids, q_cams = [1], [1]
    g_pids, g_cams = np.array([1, 2, 2, 1]), np.array([1, 2, 3, 2])
    distmat = np.array([[0.1, 0.2, 0.25, 0.3]])
    excluded = llcm_excluded(q_pids, q_cams, g_pids, g_cams)
    assert excluded.tolist() == [[True, False, False, False]]
    order = np.argsort(g_pids, kind="stable")  # SysuRanking takes the candidates grouped by identity
    ranking = SysuRanking(distmat[:, order], q_pids, g_pids[order], q_cams, g_cams[order], excluded=excluded[:, order])
    (cmc, mAP, mINP), = ranking.score([np.arange(4)])
    # left: identity 2 (two images), then identity 1's cam2 image at position 3, identity rank 2
    assert cmc[:3].tolist() == [0.0, 1.0, 1.0]
    assert (mAP, mINP) == pytest.approx((1 / 3, 1 / 3))
    unfiltered = SysuRanking(distmat[:, order], q_pids, g_pids[order], q_cams, g_cams[order],
                             excluded=np.zeros((1, 4), dtype=bool))
    assert unfiltered.score([np.arange(4)])[0][0][0] == 1.0


def eval_llcm(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=20):
    """The DEEN code's eval_llcm, query by query: drop the query's identity by the query's camera, CMC
    over the ranked list with each identity at its first place, AP and INP over the ranked images."""
    cmc, aps, inps = np.zeros(max_rank), [], []
    for i in range(len(q_pids)):
        order = np.argsort(distmat[i], kind="stable")
        keep = ~((g_pids[order] == q_pids[i]) & (g_cams[order] == q_cams[i]))
        ranked = g_pids[order][keep]
        hits = np.flatnonzero(ranked == q_pids[i]) + 1
        if not len(hits):
            continue
        identities = list(dict.fromkeys(ranked))
        cmc[identities.index(q_pids[i]):] += 1
        aps.append(np.mean(np.arange(1, len(hits) + 1) / hits))
        inps.append(len(hits) / hits[-1])
    return cmc / len(aps), float(np.mean(aps)), float(np.mean(inps))


def llcm_features(root, noise=0.8, seed=0):
    """The test images of LLCM_CM under ``root`` as ExtractedFeatures (loader order), one random direction
    per identity plus noise."""
    data = LLCM_CM(root=os.path.dirname(root))
    items = data.query + data.gallery
    rng = np.random.default_rng(seed)
    centres = {pid: rng.normal(size=6) for pid in TEST_IDS}
    feats = np.stack([centres[pid] + noise * rng.normal(size=6) for _, pid, _, _ in items]).astype(np.float32)
    return ExtractedFeatures(feats, *(np.array([item[k] for item in items]) for k in (1, 2, 3)),
                             paths=[item[0] for item in items])


def test_both_directions_put_queries_and_gallery_on_their_sides(llcm_root):
    features = llcm_features(llcm_root)
    sides = {m: features.subset(features.modalities == m) for m in (RGB, IR)}
    scores = llcm_trial_scores(sides[IR], sides[RGB], llcm_root, 3, "euclidean")
    assert list(scores) == ["ir2vis", "vis2ir"]
    for setting, (query_side, gallery_side) in (("ir2vis", (IR, RGB)), ("vis2ir", (RGB, IR))):
        query = sides[query_side]
        column = {path: j for j, path in enumerate(sides[gallery_side].paths)}
        swapped = []
        for trial, (cmc, mAP, mINP) in enumerate(scores[setting]):
            # the whole query side against one draw of the other side
            gallery = sides[gallery_side].subset([column[p] for p, _, _ in
                                                  draw_llcm_gallery(llcm_gallery_folders(llcm_root, gallery_side), trial)])
            distmat = np.linalg.norm(query.feats[:, None] - gallery.feats[None], axis=2)
            expected = eval_llcm(distmat, query.pids, gallery.pids, query.camids, gallery.camids)
            np.testing.assert_allclose(cmc, expected[0], atol=1e-12)
            assert (mAP, mINP) == pytest.approx(expected[1:])
            # DEEN's test script for VIS to IR: the drawn images as queries against the whole other side
            swapped.append(eval_llcm(distmat.T, gallery.pids, query.pids, gallery.camids, query.camids)[1])
        assert [s[1] for s in scores[setting]] != pytest.approx(swapped)  # the check tells the sides apart


def test_evaluator_reports_both_directions_over_the_configured_draws(llcm_root):
    features = llcm_features(llcm_root, noise=0.0)
    evaluator = CrossModalityEvaluator(make_cfg(TEST__LLCM__TRIALS=2), "llcm", llcm_root)
    evaluator.process({"targets": torch.as_tensor(features.pids), "camids": torch.as_tensor(features.camids),
                       "modalities": torch.as_tensor(features.modalities), "img_paths": features.paths},
                      torch.as_tensor(features.feats))
    results = evaluator.evaluate()
    assert list(results) == [f"{setting}/{metric}{std}" for setting in ("ir2vis", "vis2ir")
                             for metric in ("R1", "R5", "R10", "R20", "mAP", "mINP") for std in ("", "_std")
                             ] + ["metric"]
    assert results["ir2vis/R1"] == results["vis2ir/mAP"] == pytest.approx(100.0)  # identity features
    assert results["ir2vis/R1_std"] == pytest.approx(0.0)
    with pytest.raises(InputError, match=r"TEST\.LLCM\.TRIALS must be an integer >= 1, got 0"):
        llcm_trial_scores(features, features, llcm_root, 0, "cosine")
