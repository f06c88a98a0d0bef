"""The paper's pictures from extracted test features: the top-k retrieval grid (Fig. 5), a t-SNE of
the embeddings (Fig. 6) and the CMC curves.

Selection works on numpy arrays and :class:`~.evaluator.ExtractedFeatures`; the figures are
``matplotlib.figure.Figure`` objects drawn without pyplot, so no display or global backend is
involved (``fig.savefig("x.png")`` renders with Agg).
"""

from collections import OrderedDict

import matplotlib
import numpy as np
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
    "top_k_matches",
    "retrieval_figure",
    "tsne_selection",
    "tsne_embedding",
    "tsne_figure",
    "cmc_curves",
    "cmc_figure",
]

CORRECT_COLOUR = "#1a9641"  # green frame: same identity as the query
WRONG_COLOUR = "#d7191c"    # red frame: another identity
QUERY_COLOUR = "#2b83ba"
MODALITY_MARKERS = {RGB: "o", IR: "^"}
MODALITY_LABELS = {"sysu": {RGB: "RGB", IR: "IR"}, "regdb": {RGB: "visible", IR: "thermal"}}
CELL_SIZE = (128, 64)  # (height, width) every image is resized to in the retrieval grid


# --------------------------------------------------------------------------------------------
# Retrieval grid (Fig. 5)
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
    """``(queries, gallery, excluded)`` the retrieval grid ranks.

    SYSU-MM01: the IR queries against the single-shot all-search gallery of draw ``trial``
    (:func:`~.sysu_protocol.sysu_gallery`), with the protocol's cam3 -> cam2 exclusion.
    RegDB: visible queries against every thermal test image, nothing excluded.
    ``excluded`` is a boolean (queries, gallery) mask (see :func:`top_k_matches`).
    """
    ir = features.subset(features.modalities == IR)
    rgb = features.subset(features.modalities == RGB)
    if protocol == "sysu":
        gallery = rgb.subset(sysu_gallery_columns(rgb.paths, dataset_root, "all", 1, trial))
        return ir, gallery, sysu_excluded(ir.camids, gallery.camids)
    if protocol == "regdb":
        return rgb, ir, np.zeros((len(rgb.pids), len(ir.pids)), dtype=bool)
    raise ValueError(f"unknown protocol {protocol!r}: expected 'sysu' or 'regdb'")


def top_k_matches(distmat, q_pids, g_pids, k=10, excluded=None):
    """Each query's ``k`` nearest gallery images, as the evaluation ranks them.

    Args:
        distmat: ``(num_query, num_gallery)`` distances, smaller = more similar.
        q_pids, g_pids: identities of queries and gallery images.
        k: matches per query.
        excluded: optional boolean ``(num_query, num_gallery)``; True = never shown for that query.

    Returns:
        ``(ranks, correct)``: per query, the gallery indices in ascending distance (a stable sort:
        ties keep gallery order) and whether each has the query's identity. A query with fewer
        than ``k`` gallery images left gets fewer.
    """
    distmat = np.asarray(distmat, dtype=np.float64)
    q_pids, g_pids = np.asarray(q_pids), np.asarray(g_pids)
    if distmat.shape != (len(q_pids), len(g_pids)):
        raise ValueError(f"distmat has shape {distmat.shape}, expected ({len(q_pids)}, {len(g_pids)}) "
                         f"from q_pids and g_pids")
    if excluded is None:
        excluded = np.zeros(distmat.shape, dtype=bool)
    ranks, correct = [], []
    for i, row in enumerate(distmat):
        order = np.argsort(row, kind="stable")
        order = order[~excluded[i, order]][:k]
        ranks.append(order)
        correct.append(g_pids[order] == q_pids[i])
    return ranks, correct


def retrieval_figure(query_paths, query_pids, gallery_paths, ranks, correct, scores, title=""):
    """One row per query: the query (blue frame, its identity below), then its ranked matches, each
    framed green (same identity) or red (another) with its score (e.g. cosine similarity) above.

    ``ranks`` and ``correct`` as returned by :func:`top_k_matches`; ``scores[i][j]`` is the value
    printed over query ``i``'s ``j``-th match.
    """
    columns = 1 + max((len(r) for r in ranks), default=0)
    height, width = CELL_SIZE
    fig = Figure(figsize=(1.0 * columns, 2.1 * len(ranks) + 0.4), layout="constrained")
    axes = fig.subplots(len(ranks), columns, squeeze=False)
    for i, row in enumerate(axes):
        _image_cell(row[0], query_paths[i], QUERY_COLOUR)
        row[0].set_xlabel(f"query\nid {query_pids[i]}", fontsize=7)
        for j, ax in enumerate(row[1:]):
            if j >= len(ranks[i]):
                ax.set_axis_off()
                continue
            _image_cell(ax, gallery_paths[ranks[i][j]], CORRECT_COLOUR if correct[i][j] else WRONG_COLOUR)
            ax.set_title(f"{scores[i][j]:.2f}", fontsize=7, pad=2)
    if title:
        fig.suptitle(title, fontsize=8)
    return fig


def _image_cell(ax, path, frame_colour):
    with Image.open(path) as image:  # IR images are grey: shown as 3 equal channels, as the network sees them
        pixels = np.asarray(image.convert("RGB").resize(CELL_SIZE[::-1], Image.BILINEAR))
    ax.imshow(pixels)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(frame_colour)
        spine.set_linewidth(3)


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
