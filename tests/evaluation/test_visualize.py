"""The paper's pictures: retrieval selection and marking, the SYSU camera rule in the grid, t-SNE input,
CMC curves against the metrics, PNGs on disk (tools/visualize.py is tested in tests/tools)."""

import os

import numpy as np
import pytest
from PIL import Image

from g2da_plugin.data.datasets import IR, RGB, RegDB_CM, SYSUMM01_CM
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.evaluation import ExtractedFeatures, eval_regdb, eval_sysu, sysu_gallery
from g2da_plugin.evaluation.visualize import (
    CORRECT_COLOUR, WRONG_COLOUR, cmc_curves, cmc_figure, pick_queries, retrieval_figure, retrieval_sets,
    top_k_matches, tsne_embedding, tsne_figure, tsne_selection,
)


@pytest.fixture(scope="module")
def regdb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("regdb")
    make_synthetic_regdb(str(root), num_ids=6, images_per_modality=2, seed=0)
    return str(root)


def extracted(items, feats):
    """ExtractedFeatures of dataset items ``(path, pid, camid, modality)``."""
    return ExtractedFeatures(np.asarray(feats, dtype=np.float32), np.array([i[1] for i in items]),
                             np.array([i[2] for i in items]), np.array([i[3] for i in items]),
                             [i[0] for i in items])


def hex_rgb(colour):
    return np.array([int(colour[k:k + 2], 16) for k in (1, 3, 5)])


def pixels_near(png, colour, tolerance=30):
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=np.int64)
    return int((np.abs(pixels - hex_rgb(colour)).max(axis=2) <= tolerance).sum())


# --------------------------------------------------------------------------------------------
# Retrieval grid
# --------------------------------------------------------------------------------------------
def test_top_k_matches_follow_a_hand_ranked_distance_matrix():
    distmat = np.array([[0.5, 0.1, 0.3, 0.1, 0.9],
                        [0.2, 0.2, 0.0, 0.7, 0.4]])
    q_pids, g_pids = [1, 2], [1, 2, 1, 3, 2]
    ranks, correct = top_k_matches(distmat, q_pids, g_pids, k=3)
    # Ties (0.1, 0.1 and 0.2, 0.2) keep gallery order.
    assert [r.tolist() for r in ranks] == [[1, 3, 2], [2, 0, 1]]
    assert [c.tolist() for c in correct] == [[False, False, True], [False, False, True]]

    excluded = np.zeros((2, 5), dtype=bool)
    excluded[1, [2, 0]] = True
    ranks, correct = top_k_matches(distmat, q_pids, g_pids, k=3, excluded=excluded)
    assert [r.tolist() for r in ranks] == [[1, 3, 2], [1, 4, 3]]
    assert correct[1].tolist() == [True, True, False]

    ranks, _ = top_k_matches(distmat, q_pids, g_pids, k=10, excluded=excluded)
    assert [len(r) for r in ranks] == [5, 3]  # fewer gallery images than k: all of them
    with pytest.raises(ValueError, match="distmat has shape"):
        top_k_matches(distmat, [1], g_pids)


def test_pick_queries_takes_distinct_identities_reproducibly():
    q_pids = np.array([4, 4, 4, 7, 7, 9, 9, 9, 12])
    picked = pick_queries(q_pids, 3, seed=1)
    assert len(set(q_pids[picked])) == 3 and list(picked) == sorted(picked)
    assert list(picked) == list(pick_queries(q_pids, 3, seed=1))
    assert sorted(q_pids[pick_queries(q_pids, 10)]) == [4, 7, 9, 12]  # at most one per identity


def test_a_cam3_query_never_shows_a_cam2_image(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    items = data.query + data.gallery
    # Queries and cam2 images share one direction, every other image another: cam2 is nearest to all.
    feats = [[1.0, 0.0] if m == IR or cam == 2 else [0.0, 1.0] for _, _, cam, m in items]
    query, gallery, excluded = retrieval_sets(extracted(items, feats), "sysu", data.dataset_root, trial=1)
    draw = sysu_gallery(data.dataset_root, mode="all", shots=1, trial=1)
    assert gallery.paths == [p for p, _, _ in draw]
    assert set(query.camids) == {3, 6} and set(gallery.modalities) == {RGB}
    distmat = 1 - query.feats @ gallery.feats.T
    ranks, _ = top_k_matches(distmat, query.pids, gallery.pids, k=len(gallery.pids), excluded=excluded)
    num_cam2 = int((gallery.camids == 2).sum())
    assert num_cam2 > 0
    for cam, ranked in zip(query.camids, ranks):
        shown = gallery.camids[ranked]
        if cam == 3:
            assert 2 not in shown and len(shown) == len(gallery.pids) - num_cam2
        else:
            assert (shown[:num_cam2] == 2).all()


def test_regdb_retrieval_is_visible_queries_against_the_thermal_gallery(regdb_root):
    data = RegDB_CM(root=regdb_root, trial=2)
    items = data.query + data.gallery
    query, gallery, excluded = retrieval_sets(extracted(items, np.eye(len(items))), "regdb", data.dataset_root)
    assert query.paths == [p for p, *_ in data.query] and gallery.paths == [p for p, *_ in data.gallery]
    assert not excluded.any() and excluded.shape == (len(data.query), len(data.gallery))


def test_retrieval_png_frames_correct_green_and_wrong_red(tmp_path):
    paths = []
    for n in range(3):
        paths.append(str(tmp_path / f"{n}.png"))
        Image.new("RGB", (32, 64), (128, 128, 128)).save(paths[-1])
    all_correct = tmp_path / "all_correct.png"
    retrieval_figure(paths[:1], [1], paths[1:], [np.array([0, 1])], [np.array([True, True])],
                     [[0.9, 0.8]]).savefig(all_correct)
    mixed = tmp_path / "mixed.png"
    retrieval_figure(paths[:1], [1], paths[1:], [np.array([0, 1])], [np.array([True, False])],
                     [[0.9, 0.8]]).savefig(mixed)
    assert pixels_near(all_correct, CORRECT_COLOUR) > 100 and pixels_near(all_correct, WRONG_COLOUR) == 0
    assert pixels_near(mixed, WRONG_COLOUR) > 100
    assert 0.3 < pixels_near(mixed, CORRECT_COLOUR) / pixels_near(all_correct, CORRECT_COLOUR) < 0.7


# --------------------------------------------------------------------------------------------
# t-SNE
# --------------------------------------------------------------------------------------------
def test_tsne_selection_colours_identities_and_marks_modalities():
    pids = np.array([5, 5, 7, 7, 9, 9, 11, 5])
    modalities = np.array([RGB, IR, RGB, IR, RGB, IR, RGB, IR])
    index, colours, markers = tsne_selection(pids, modalities, num_ids=2, seed=3)
    chosen = set(pids[index])
    assert len(chosen) == 2
    assert list(index) == [i for i, pid in enumerate(pids) if pid in chosen]  # every image of those ids
    for a in range(len(index)):
        for b in range(len(index)):
            assert np.array_equal(colours[a], colours[b]) == (pids[index[a]] == pids[index[b]])
    assert markers == ["o" if m == RGB else "^" for m in modalities[index]]
    index, _, _ = tsne_selection(pids, modalities, num_ids=10)
    assert list(index) == list(range(len(pids)))


def test_tsne_keeps_separated_identities_apart(tmp_path):
    rng = np.random.default_rng(0)
    centres = 10 * np.eye(3, 16)
    feats = np.concatenate([c + 0.1 * rng.normal(size=(8, 16)) for c in centres])
    cluster = np.repeat(np.arange(3), 8)
    points = tsne_embedding(feats, metric="euclidean", seed=0)
    assert points.shape == (24, 2) and np.isfinite(points).all()
    distance = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    assert (cluster[distance.argmin(axis=1)] == cluster).all()

    index, colours, markers = tsne_selection(cluster, np.tile([RGB, IR], 12), num_ids=3)
    png = tmp_path / "tsne.png"
    tsne_figure(points[index], colours, markers, {RGB: "RGB", IR: "IR"}).savefig(png)
    assert Image.open(png).size[0] > 100
    with pytest.raises(ValueError, match="at least 3"):
        tsne_embedding(feats[:2])


# --------------------------------------------------------------------------------------------
# CMC
# --------------------------------------------------------------------------------------------
def test_sysu_cmc_curves_are_the_mean_of_eval_sysu_over_draws(synthetic_root, tmp_path):
    data = SYSUMM01_CM(root=synthetic_root)
    items = data.query + data.gallery
    feats = np.random.default_rng(0).normal(size=(len(items), 6))
    curves = cmc_curves(extracted(items, feats), "sysu", data.dataset_root, metric="cosine", trials=3)
    assert list(curves) == ["all-search", "indoor-search"]

    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    index = {p: i for i, (p, *_) in enumerate(items)}
    q = np.arange(len(data.query))
    q_pids = np.array([pid for _, pid, _, _ in data.query])
    q_cams = np.array([cam for _, _, cam, _ in data.query])
    for mode in ("all", "indoor"):
        runs = []
        for trial in range(3):
            gallery = sysu_gallery(data.dataset_root, mode=mode, shots=1, trial=trial)
            g = np.array([index[p] for p, _, _ in gallery])
            runs.append(eval_sysu(1 - unit[q] @ unit[g].T, q_pids, np.array([pid for _, pid, _ in gallery]),
                                  q_cams, np.array([cam for _, _, cam in gallery]))[0])
        np.testing.assert_allclose(curves[f"{mode}-search"], np.mean(runs, axis=0), atol=1e-6)

    fig = cmc_figure(curves)
    for line, cmc in zip(fig.axes[0].lines, curves.values()):
        np.testing.assert_allclose(line.get_xdata(), np.arange(1, 21))
        np.testing.assert_allclose(line.get_ydata(), 100 * cmc)
    fig.savefig(tmp_path / "cmc.png")
    assert os.path.getsize(tmp_path / "cmc.png") > 0


def test_regdb_cmc_curves_are_eval_regdb_both_ways(regdb_root):
    data = RegDB_CM(root=regdb_root, trial=3)
    items = data.query + data.gallery
    feats = np.random.default_rng(1).normal(size=(len(items), 5))
    curves = cmc_curves(extracted(items, feats), "regdb", data.dataset_root, metric="euclidean")
    nq = len(data.query)
    distance = np.linalg.norm(feats[:nq, None] - feats[None, nq:], axis=2)
    q_pids, g_pids = np.array([i[1] for i in data.query]), np.array([i[1] for i in data.gallery])
    np.testing.assert_allclose(curves["visible->thermal"], eval_regdb(distance, q_pids, g_pids)[0], atol=1e-6)
    np.testing.assert_allclose(curves["thermal->visible"], eval_regdb(distance.T, g_pids, q_pids)[0], atol=1e-6)
