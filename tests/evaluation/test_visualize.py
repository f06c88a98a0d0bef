"""The paper's pictures: what FastReID's Visualizer is fed (the protocol's queries, gallery draw and
SYSU camera rule, the modality marks), the files it writes, t-SNE input, CMC curves against the
metrics (tools/visualize.py is tested in tests/tools)."""

import os
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pytest
from fastreid.utils.visualizer import Visualizer
from PIL import Image

from g2da_plugin.data.datasets import IR, RGB, RegDB_CM, SYSUMM01_CM
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.engine.visualize import write_rank_lists, write_roc_and_distributions
from g2da_plugin.evaluation import ExtractedFeatures, eval_regdb, eval_sysu, sysu_excluded, sysu_gallery
from g2da_plugin.evaluation.visualize import (
    MODALITY_LABELS, RANK_LIST_SIZE, CrossModalVisualizer, RankListImages, average_precision, cmc_curves, cmc_figure,
    pick_queries, retrieval_sets, tsne_embedding, tsne_figure, tsne_selection,
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


# --------------------------------------------------------------------------------------------
# What FastReID's Visualizer is fed
# --------------------------------------------------------------------------------------------
# A hand-built SYSU case: a cam3 and a cam6 IR query of identity 1; gallery columns
# 0: cam2 id 1, 1: cam1 id 1, 2: cam2 id 2, 3: cam4 id 2, 4: cam5 id 1.
HAND_Q_PIDS, HAND_Q_CAMS = np.array([1, 1]), np.array([3, 6])
HAND_G_PIDS, HAND_G_CAMS = np.array([1, 1, 2, 2, 1]), np.array([2, 1, 2, 4, 5])
HAND_DIST = np.array([[0.1, 0.4, 0.2, 0.3, 0.5],
                      [0.1, 0.4, 0.2, 0.3, 0.5]])


def hand_features(tmp_path):
    """The hand-built case's query and gallery, each image a tiny file (IR grey, RGB coloured)."""
    def images(kind, pids, cams, modality):
        paths = [str(tmp_path / f"{kind}{n}.png") for n in range(len(pids))]
        for path in paths:
            (Image.new("L", (16, 32), 90) if modality == IR else Image.new("RGB", (16, 32), (200, 40, 40))).save(path)
        return ExtractedFeatures(np.zeros((len(pids), 2), np.float32), pids, cams, np.full(len(pids), modality), paths)
    return images("q", HAND_Q_PIDS, HAND_Q_CAMS, IR), images("g", HAND_G_PIDS, HAND_G_CAMS, RGB)


def hand_visualizer(tmp_path):
    query, gallery = hand_features(tmp_path)
    visualizer = CrossModalVisualizer(RankListImages(query, gallery, MODALITY_LABELS["sysu"]),
                                      sysu_excluded(query.camids, gallery.camids))
    visualizer.get_model_output(None, HAND_DIST, query.pids, gallery.pids, query.camids, gallery.camids)
    return visualizer, query


def test_a_cam3_query_sees_no_cam2_image_in_what_the_visualizer_ranks(tmp_path):
    visualizer, _ = hand_visualizer(tmp_path)
    hits, order = visualizer.get_matched_result(0)  # cam3: both cam2 columns (0 and 2) are left out
    assert order.tolist() == [3, 1, 4] and hits.tolist() == [0, 1, 1]
    hits, order = visualizer.get_matched_result(1)  # cam6: the whole gallery
    assert order.tolist() == [0, 2, 3, 1, 4] and hits.tolist() == [1, 0, 0, 1, 1]
    # The protocol's AP of those lists: (1/2 + 2/3) / 2 and (1 + 2/4 + 3/5) / 3.
    np.testing.assert_allclose(visualizer.all_ap, [(1 / 2 + 2 / 3) / 2, (1 + 2 / 4 + 3 / 5) / 3])
    # FastReID's own rule (same identity and same camera) would have kept column 0 for the cam3 query.
    fastreid = Visualizer(None)
    fastreid.get_model_output(visualizer.all_ap, HAND_DIST, HAND_Q_PIDS, HAND_G_PIDS, HAND_Q_CAMS, HAND_G_CAMS)
    assert fastreid.get_matched_result(0)[1].tolist() == [0, 2, 3, 1, 4]

    # ROC and distance distributions: exactly the pairs the protocol counts.
    _, _, pos, neg = visualizer.vis_roc_curve(str(tmp_path / "roc"))
    plt.close("all")
    assert sorted(pos) == pytest.approx([0.1, 0.4, 0.4, 0.5, 0.5])
    assert sorted(neg) == pytest.approx([0.2, 0.3, 0.3])
    assert average_precision(np.zeros(3)) != average_precision(np.zeros(3))  # NaN: no true match
    with pytest.raises(ValueError, match="excluded has shape"):
        CrossModalVisualizer(None, np.zeros((2, 4), bool)).get_model_output(None, HAND_DIST, HAND_Q_PIDS, HAND_G_PIDS,
                                                                             HAND_Q_CAMS, HAND_G_CAMS)


def test_rank_list_images_are_query_then_gallery_marked_with_camera_and_modality(tmp_path):
    query, gallery = hand_features(tmp_path)
    images = RankListImages(query, gallery, MODALITY_LABELS["sysu"])
    assert len(images) == 7
    assert [images[i]["camids"] for i in range(7)] == ["3 IR", "6 IR", "2 RGB", "1 RGB", "2 RGB", "4 RGB", "5 RGB"]
    assert images[2]["img_paths"] == gallery.paths[0]
    ir, rgb = images[0]["images"], images[2]["images"]
    assert tuple(ir.shape) == (3, *RANK_LIST_SIZE) and str(ir.dtype) == "torch.uint8"
    assert (ir == 90).all() and rgb[:, 0, 0].tolist() == [200, 40, 40]  # IR as 3 equal channels

    visualizer, _ = hand_visualizer(tmp_path)
    visualizer.save_rank_result([0], str(tmp_path), max_rank=3)
    titles = [ax.get_title() for ax in plt.gcf().axes]
    plt.close("all")
    assert titles == ["0.5833/cam3 IR", "0.700/false/cam4 RGB", "0.600/true/cam1 RGB", "0.500/true/cam5 RGB"]


def test_the_tool_writes_rank_lists_roc_and_distributions_as_images(tmp_path, caplog):
    visualizer, query = hand_visualizer(tmp_path)
    args = SimpleNamespace(query_indices=[1, 0], queries=None, seed=0, top_k=10)
    with caplog.at_level("INFO", logger="g2da_plugin.visualize"):
        write_rank_lists(args, visualizer, query, str(tmp_path / "rank_list"))
    write_roc_and_distributions(args, visualizer, str(tmp_path))
    for name in ("rank_list/0.jpg", "rank_list/1.jpg", "roc.jpg", "pos_neg_dist.jpg"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "JPEG" and min(image.size) > 100, name
    # The cam3 query has 3 gallery images left: every list is cut to 3 (FastReID draws exactly max_rank).
    assert "0.jpg: query 1 " in caplog.text and "1.jpg: query 0 " in caplog.text
    assert "2 of the top 3 correct" in caplog.text and not plt.get_fignums()


def test_pick_queries_takes_distinct_identities_reproducibly():
    q_pids = np.array([4, 4, 4, 7, 7, 9, 9, 9, 12])
    picked = pick_queries(q_pids, 3, seed=1)
    assert len(set(q_pids[picked])) == 3 and list(picked) == sorted(picked)
    assert list(picked) == list(pick_queries(q_pids, 3, seed=1))
    assert sorted(q_pids[pick_queries(q_pids, 10)]) == [4, 7, 9, 12]  # at most one per identity


def test_sysu_retrieval_is_ir_queries_against_one_gallery_draw_without_cam2_for_cam3(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    items = data.query + data.gallery
    query, gallery, excluded = retrieval_sets(extracted(items, np.eye(len(items))), "sysu", data.dataset_root,
                                              trial=1)
    draw = sysu_gallery(data.dataset_root, mode="all", shots=1, trial=1)
    assert gallery.paths == [p for p, _, _ in draw]
    assert set(query.camids) == {3, 6} and set(query.modalities) == {IR} and set(gallery.modalities) == {RGB}
    assert (gallery.camids == 2).any()
    np.testing.assert_array_equal(excluded, (query.camids[:, None] == 3) & (gallery.camids[None, :] == 2))


def test_regdb_retrieval_is_visible_queries_against_the_thermal_gallery(regdb_root):
    data = RegDB_CM(root=regdb_root, trial=2)
    items = data.query + data.gallery
    query, gallery, excluded = retrieval_sets(extracted(items, np.eye(len(items))), "regdb", data.dataset_root)
    assert query.paths == [p for p, *_ in data.query] and gallery.paths == [p for p, *_ in data.gallery]
    assert not excluded.any() and excluded.shape == (len(data.query), len(data.gallery))
    marks = RankListImages(query, gallery, MODALITY_LABELS["regdb"]).marks
    assert marks[0].endswith(" visible") and marks[-1].endswith(" thermal")


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
    with Image.open(png) as image:
        assert image.size[0] > 100
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
