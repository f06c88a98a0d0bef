"""The paper's pictures from extracted test features, on the cross-modality protocols.

FastReID's :class:`~fastreid.utils.visualizer.Visualizer` draws the rank lists (Fig. 5), the ROC curve
and the distance distributions of positive and negative pairs; this module feeds it the protocol's
query set and gallery draw (:func:`retrieval_sets`), keeps SYSU-MM01's cam3/cam2 rule in everything it
ranks (:class:`CrossModalVisualizer`) and marks each image's modality (:class:`RankListImages`).
FastReID has no t-SNE and no CMC curve: those two are drawn here, as ``matplotlib.figure.Figure``
objects without pyplot (``fig.savefig("x.png")`` renders with Agg).
"""

from collections import OrderedDict

import matplotlib
import numpy as np
import torch
from fastreid.utils.visualizer import Visualizer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image
from sklearn.manifold import TSNE

from ..data.datasets.modality import IR, RGB
from .evaluator import rank_sysu_candidates, sysu_gallery_columns, sysu_trial_scores
from .metrics import eval_regdb, pairwise_distance, sysu_excluded
from .sysu_protocol import sysu_gallery_folders

__all__ = [
    "pick_queries",
    "retrieval_sets",
    "RankListImages",
    "CrossModalVisualizer",
    "average_precision",
    "tsne_selection",
    "tsne_embedding",
    "tsne_figure",
    "cmc_curves",
    "cmc_figure",
]

MODALITY_MARKERS = {RGB: "o", IR: "^"}
MODALITY_LABELS = {"sysu": {RGB: "RGB", IR: "IR"}, "regdb": {RGB: "visible", IR: "thermal"}}
RANK_LIST_SIZE = (256, 128)  # (height, width) of every rank-list image: the usual re-id crop


# --------------------------------------------------------------------------------------------
# What FastReID's Visualizer ranks and shows (Fig. 5, ROC, distance distributions)
# --------------------------------------------------------------------------------------------
def pick_queries(q_pids, num, seed=0):
    """Indices of ``num`` queries of distinct identities (at most one per identity), drawn with
    ``seed``, in ascending order."""
    if num < 1:
        raise ValueError(f"the number of queries must be >= 1, got {num}")
    q_pids = np.asarray(q_pids)
    rng = np.random.default_rng(seed)
    identities = np.unique(q_pids)
    identities = rng.choice(identities, size=min(num, len(identities)), replace=False)
    return np.sort([rng.choice(np.flatnonzero(q_pids == pid)) for pid in identities])


def retrieval_sets(features, protocol, dataset_root, trial=0):
    """``(queries, gallery, excluded)`` of the protocol.

    SYSU-MM01: the IR queries against the single-shot all-search gallery of draw ``trial``
    (:func:`~.sysu_protocol.sysu_gallery`), with the protocol's cam3 -> cam2 exclusion.
    RegDB: visible queries against every thermal test image, nothing excluded.
    ``excluded`` is a boolean (queries, gallery) mask: True = not counted for that query.
    """
    ir = features.subset(features.modalities == IR)
    rgb = features.subset(features.modalities == RGB)
    if protocol == "sysu":
        gallery = rgb.subset(sysu_gallery_columns(rgb.paths, dataset_root, "all", 1, trial))
        return ir, gallery, sysu_excluded(ir.camids, gallery.camids)
    if protocol == "regdb":
        return rgb, ir, np.zeros((len(rgb.pids), len(ir.pids)), dtype=bool)
    raise ValueError(f"unknown protocol {protocol!r}: expected 'sysu' or 'regdb'")


class RankListImages:
    """The queries then the gallery, as the Visualizer reads its dataset: item ``i`` is query ``i``,
    item ``num_query + j`` gallery image ``j``, each ``{"images", "camids", "img_paths"}``.

    ``images`` is a uint8 (3, H, W) tensor of :data:`RANK_LIST_SIZE` (IR as 3 equal channels, as the
    network sees it). ``camids`` is what the Visualizer prints after "cam" in each title (it ranks with
    the arrays given to :meth:`~CrossModalVisualizer.get_model_output`, never with this), so it carries
    the modality too: "3 IR" is titled "cam3 IR".
    """

    def __init__(self, query, gallery, modality_labels):
        self.paths = list(query.paths) + list(gallery.paths)
        cams = np.concatenate([query.camids, gallery.camids])
        modalities = np.concatenate([query.modalities, gallery.modalities])
        self.marks = [f"{cam} {modality_labels[m]}" for cam, m in zip(cams, modalities)]

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        with Image.open(self.paths[index]) as image:
            pixels = np.asarray(image.convert("RGB").resize(RANK_LIST_SIZE[::-1], Image.BILINEAR))
        return {"images": torch.from_numpy(pixels.copy()).permute(2, 0, 1), "camids": self.marks[index],
                "img_paths": self.paths[index]}


class CrossModalVisualizer(Visualizer):
    """FastReID's Visualizer with the protocol's rule for which gallery images a query sees.

    FastReID leaves out a query's same-identity images from its own camera. Across modalities the
    query's camera is never in the gallery, so that leaves out nothing, while SYSU-MM01 must leave
    out every cam2 image for a cam3 query (the same room, any identity). ``excluded`` (queries,
    gallery) says what the protocol leaves out; the rank lists, the ROC curve and the distance
    distributions all take a query's gallery from :meth:`get_matched_result`.
    """

    def __init__(self, dataset, excluded):
        super().__init__(dataset)
        self.excluded = np.asarray(excluded, dtype=bool)

    def get_model_output(self, all_ap, dist, q_pids, g_pids, q_camids, g_camids):
        """As FastReID's; ``all_ap=None`` takes each query's :func:`average_precision` on its rank list."""
        if self.excluded.shape != np.shape(dist):
            raise ValueError(f"excluded has shape {self.excluded.shape}, the distances {np.shape(dist)}")
        super().get_model_output(all_ap, dist, q_pids, g_pids, q_camids, g_camids)
        if all_ap is None:
            self.all_ap = np.array([average_precision(self.get_matched_result(i)[0]) for i in range(self.num_query)])

    def get_matched_result(self, q_index):
        order = self.indices[q_index]
        keep = ~self.excluded[q_index, order]
        return self.matches[q_index][keep], order[keep]


def average_precision(hits):
    """AP of a ranked list's true-match flags, as the protocol's mAP averages it (mean over the true
    matches of matches so far / 1-based position); NaN without a true match."""
    positions = np.flatnonzero(hits) + 1
    if not len(positions):
        return float("nan")
    return float(np.mean(np.arange(1, len(positions) + 1) / positions))


# --------------------------------------------------------------------------------------------
# t-SNE (Fig. 6)
# --------------------------------------------------------------------------------------------
def tsne_selection(pids, modalities, num_ids, seed=0):
    """The images of ``num_ids`` identities drawn with ``seed``, with how each is drawn.

    Returns:
        ``(index, colours, markers)``: the selected images (ascending), an RGBA colour per image
        (one colour per identity, from ``tab10`` / ``tab20``) and a marker per image (one per
        modality, :data:`MODALITY_MARKERS`).
    """
    pids, modalities = np.asarray(pids), np.asarray(modalities)
    identities = np.unique(pids)
    if num_ids < 1:
        raise ValueError(f"the number of t-SNE identities must be >= 1, got {num_ids}")
    chosen = np.sort(np.random.default_rng(seed).choice(identities, size=min(num_ids, len(identities)),
                                                        replace=False))
    index = np.flatnonzero(np.isin(pids, chosen))
    palette = matplotlib.colormaps["tab10" if len(chosen) <= 10 else "tab20"]
    colour_of = {pid: palette(n % palette.N) for n, pid in enumerate(chosen)}
    colours = np.array([colour_of[pid] for pid in pids[index]])
    markers = [MODALITY_MARKERS[m] for m in modalities[index]]
    return index, colours, markers


def tsne_embedding(feats, metric="cosine", seed=0):
    """2-D scikit-learn t-SNE of ``feats`` under the evaluation's ``metric`` (cosine or euclidean);
    the perplexity is 30, lowered for tiny inputs (t-SNE needs it below the number of points)."""
    feats = np.asarray(feats, dtype=np.float32)
    if len(feats) < 3:
        raise ValueError(f"t-SNE needs at least 3 images, got {len(feats)}")
    perplexity = min(30.0, (len(feats) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, metric=metric, init="pca",
                random_state=seed).fit_transform(feats)


def tsne_figure(points, colours, markers, modality_labels, title=""):
    """Scatter of ``points`` (n, 2): colour = identity, marker = modality, with a modality legend."""
    fig = Figure(figsize=(6, 6), layout="constrained")
    ax = fig.subplots()
    markers = np.asarray(markers)
    for modality, marker in MODALITY_MARKERS.items():
        shown = markers == marker
        if shown.any():
            ax.scatter(points[shown, 0], points[shown, 1], c=colours[shown], marker=marker, s=28,
                       edgecolors="black", linewidths=0.3)
    ax.legend(handles=[Line2D([], [], linestyle="", marker=marker, color="grey", label=modality_labels[m])
                       for m, marker in MODALITY_MARKERS.items()], loc="best", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return fig


# --------------------------------------------------------------------------------------------
# CMC curves
# --------------------------------------------------------------------------------------------
def cmc_curves(features, protocol, dataset_root, metric="cosine", trials=10):
    """``{setting: cmc}`` (arrays of ranks 1..20, fractions).

    SYSU-MM01: all-search and indoor-search single-shot, each the mean of :func:`~.metrics.eval_sysu`'s
    CMC over gallery draws ``0 .. trials - 1``. RegDB: visible->thermal and thermal->visible.
    """
    ir = features.subset(features.modalities == IR)
    rgb = features.subset(features.modalities == RGB)
    curves = OrderedDict()
    if protocol == "sysu":
        ranking, column_of_path = rank_sysu_candidates(ir, rgb, metric)
        for mode in ("all", "indoor"):
            runs = sysu_trial_scores(ranking, column_of_path, sysu_gallery_folders(dataset_root, mode), 1, trials)
            curves[f"{mode}-search"] = np.mean([cmc for cmc, _, _ in runs], axis=0)
    elif protocol == "regdb":
        for setting, (query, gallery) in (("visible->thermal", (rgb, ir)), ("thermal->visible", (ir, rgb))):
            distmat = pairwise_distance(query.feats, gallery.feats, metric)
            curves[setting] = eval_regdb(distmat, query.pids, gallery.pids)[0]
    else:
        raise ValueError(f"unknown protocol {protocol!r}: expected 'sysu' or 'regdb'")
    return curves


def cmc_figure(curves, title=""):
    """CMC (%) against rank, one line per setting, its rank-1 in the legend."""
    fig = Figure(figsize=(5, 4), layout="constrained")
    ax = fig.subplots()
    for setting, cmc in curves.items():
        ranks = np.arange(1, len(cmc) + 1)
        ax.plot(ranks, 100 * np.asarray(cmc), marker="o", markersize=3, label=f"{setting} (R1 {100 * cmc[0]:.1f}%)")
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_xticks([1, 5, 10, 15, 20])
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return fig
