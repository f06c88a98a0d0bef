"""Cross-modality re-identification metrics: SYSU-MM01 and RegDB protocols (numpy), and distances (torch).

Conventions shared by every function here
-----------------------------------------
* ``distmat`` has shape ``(num_query, num_gallery)``; smaller means more similar.
* Each query's gallery is ranked by ascending distance with a *stable* sort
  (``np.argsort(kind="stable")``): equal distances keep gallery order, so results are
  deterministic. The community code (AGW / DDAG ``eval_metrics.py``) uses numpy's default
  (unstable) sort, so with exact ties its order, and hence its numbers, can differ slightly.
* AP and INP are computed on the ranked list of gallery *images* (after the camera filter in
  :func:`eval_sysu`):

  - AP  = mean over the true matches of (true matches up to it) / (its 1-based position);
  - INP = (number of true matches) / (1-based position of the last true match)
    (Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook").

* A query with no true match in its (filtered) gallery is *invalid*: it is left out of mAP,
  mINP and the CMC average. If no query is valid a ``ValueError`` is raised.
* ``cmc`` always has length ``max_rank``. When fewer ranks exist (fewer distinct gallery
  identities for SYSU, fewer gallery images for RegDB) the curve is padded with its last
  value; that is what CMC means there (every valid query is found by then), whereas the
  community code instead shortens ``max_rank`` to ``num_gallery``.

The work is vectorised over blocks of queries (:data:`QUERY_BLOCK`), so memory stays bounded.
SYSU-MM01's 40 gallery draws are scored from one ranking by :class:`~.ranking.SysuRanking`, which
gives these numbers without ranking each gallery anew.
"""

import numpy as np
import torch

from ..utils.errors import InputError

__all__ = ["eval_sysu", "eval_regdb", "sysu_excluded", "distance_matrix", "pairwise_distance", "summarise_queries",
           "check_metric", "QUERY_BLOCK"]

#: Queries processed together; bounds the temporary (block, num_gallery) arrays.
QUERY_BLOCK = 512

#: The ``TEST.METRIC`` values :func:`distance_matrix` computes.
DISTANCE_METRICS = ("cosine", "euclidean")

# SYSU-MM01: cam3 (indoor IR) and cam2 (indoor RGB) film the same room, so a cam2 gallery
# image is not counted for a cam3 query (the dataset authors' protocol).
_SYSU_IR_CAM_SAME_PLACE = 3
_SYSU_RGB_CAM_SAME_PLACE = 2


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
def eval_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20):
    """SYSU-MM01 evaluation, exactly as the community (AGW / DDAG) code computes it.

    Protocol:

    1. For a query from camera 3, gallery images from camera 2 are dropped (camera numbers are
       SYSU's own 1..6). No other gallery image is dropped.
    2. The remaining gallery is ranked by ascending distance (stable sort, ties by gallery
       order).
    3. CMC follows the SYSU authors' released code: walk the ranked list keeping each gallery
       identity only at its first occurrence; ``cmc[k]`` is the fraction of valid queries whose
       true identity is among the first ``k + 1`` distinct identities. (With several images per
       identity in the gallery this is higher than the usual image-level CMC.)
    4. AP and INP use the full filtered ranked list of images (see the module docstring).

    Invalid queries (no true match after the filter) are skipped. The community code sums the
    identity-level CMC over *all* queries but divides by the number of valid queries; an
    invalid query's identity-level CMC is all zeros (its identity never appears), so that is
    exactly the average over valid queries computed here (checked in the tests).

    Args:
        distmat: ``(num_query, num_gallery)`` distances.
        q_pids, g_pids: identity labels of queries / gallery images.
        q_camids, g_camids: SYSU camera numbers (1..6) of queries / gallery images.
        max_rank: length of the returned CMC.

    Returns:
        ``(cmc, mAP, mINP)``: ``cmc`` a float64 array of length ``max_rank`` with values in
        [0, 1]; ``mAP`` and ``mINP`` Python floats in [0, 1].

    Raises:
        ValueError: inconsistent shapes, ``max_rank < 1``, or no valid query.
    """
    distmat, q_pids, g_pids = _check_inputs(distmat, q_pids, g_pids, max_rank)
    q_camids = _as_1d(q_camids, "q_camids", distmat.shape[0])
    g_camids = _as_1d(g_camids, "g_camids", distmat.shape[1])

    # Gallery identities as 0..P-1 labels, and the gallery columns grouped by label so that
    # np.minimum.reduceat can take "first ranked position of each identity" in one call.
    g_labels = np.unique(g_pids, return_inverse=True)[1].reshape(-1)
    columns_by_label = np.argsort(g_labels, kind="stable")
    label_starts = np.flatnonzero(np.r_[True, np.diff(g_labels[columns_by_label]) != 0])

    id_ranks, aps, inps, valid = [], [], [], []
    for start in range(0, distmat.shape[0], QUERY_BLOCK):
        rows = slice(start, start + QUERY_BLOCK)
        block = _rank_block(distmat[rows], q_pids[rows], g_pids, keep=~sysu_excluded(q_camids[rows], g_camids))
        id_ranks.append(_identity_ranks(block, columns_by_label, label_starts))
        aps.append(block["ap"])
        inps.append(block["inp"])
        valid.append(block["valid"])
    return summarise_queries(np.concatenate(id_ranks), np.concatenate(aps), np.concatenate(inps),
                             np.concatenate(valid), max_rank)


def eval_regdb(distmat, q_pids, g_pids, max_rank=20):
    """RegDB evaluation (visible->thermal or thermal->visible), as the community code does it.

    No gallery image is filtered (query and gallery are different modalities by
    construction). The gallery is ranked by ascending distance (stable sort); ``cmc[k]`` is
    the standard image-level CMC: the fraction of valid queries with a true match among the
    first ``k + 1`` gallery images. AP and INP as in the module docstring; queries without any
    true match in the gallery are skipped.

    Returns:
        ``(cmc, mAP, mINP)`` as for :func:`eval_sysu`.

    Raises:
        ValueError: inconsistent shapes, ``max_rank < 1``, or no valid query.
    """
    distmat, q_pids, g_pids = _check_inputs(distmat, q_pids, g_pids, max_rank)
    first_hits, aps, inps, valid = [], [], [], []
    for start in range(0, distmat.shape[0], QUERY_BLOCK):
        rows = slice(start, start + QUERY_BLOCK)
        block = _rank_block(distmat[rows], q_pids[rows], g_pids, keep=None)
        first_hits.append(block["first_hit"])
        aps.append(block["ap"])
        inps.append(block["inp"])
        valid.append(block["valid"])
    return summarise_queries(np.concatenate(first_hits), np.concatenate(aps), np.concatenate(inps),
                             np.concatenate(valid), max_rank)


def sysu_excluded(q_camids, g_camids):
    """Boolean ``(num_query, num_gallery)``: True where SYSU-MM01's protocol does not count the
    gallery image for the query (a cam2 image for a cam3 query: the same room)."""
    return (np.asarray(q_camids)[:, None] == _SYSU_IR_CAM_SAME_PLACE) & (
        np.asarray(g_camids)[None, :] == _SYSU_RGB_CAM_SAME_PLACE
    )


def distance_matrix(query_feats, gallery_feats, metric="cosine", device=None):
    """Distances between every query and every gallery feature: a float32 ``(nq, ng)`` tensor, computed
    with one matrix product on ``device`` (default: the query tensor's device, the CPU for numpy).

    ``metric="cosine"``: ``1 - cos(q, g)`` (features are L2-normalised here; zero vectors stay zero,
    i.e. distance 1). ``metric="euclidean"``: the (non-squared) L2 distance.
    """
    check_metric(metric)
    q, g = torch.as_tensor(query_feats), torch.as_tensor(gallery_feats)
    device = q.device if device is None else device
    q, g = q.to(device, torch.float32), g.to(device, torch.float32)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise InputError(f"query and gallery features must be 2-D with the same feature size, "
                         f"got {tuple(q.shape)} and {tuple(g.shape)}")
    if metric == "cosine":
        return 1.0 - _l2_normalise(q) @ _l2_normalise(g).T
    squared = (q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2.0 * (q @ g.T)
    return squared.clamp_min(0.0).sqrt()


def check_metric(metric):
    """Stop at a ``TEST.METRIC`` :func:`distance_matrix` does not compute, with one line."""
    if metric not in DISTANCE_METRICS:
        raise InputError(f"metric (TEST.METRIC) must be 'cosine' or 'euclidean', got {metric!r}")


def pairwise_distance(query_feats, gallery_feats, metric="cosine"):
    """:func:`distance_matrix` as a float32 numpy array (computed on the query tensor's device)."""
    return distance_matrix(query_feats, gallery_feats, metric).cpu().numpy()


# --------------------------------------------------------------------------------------------
# Ranking internals
# --------------------------------------------------------------------------------------------
def _rank_block(distmat, q_pids, g_pids, keep):
    """Rank one block of queries and compute their image-level statistics.

    ``keep`` (same shape as ``distmat``, gallery order) marks the gallery images each query
    may see; ``None`` keeps all. Returns a dict with, per query: ``order`` (ranked gallery
    columns), ``kept_ranked`` (keep mask in ranked order, or None), ``first_hit`` (0-based
    position of the first true match in the filtered list), ``first_hit_column`` (its column
    in the unfiltered ranked list), ``ap``, ``inp``, ``valid``. Entries of invalid queries
    (no true match) are placeholders.
    """
    num_q = distmat.shape[0]
    order = np.argsort(distmat, axis=1, kind="stable")
    matches = g_pids[order] == q_pids[:, None]
    kept_ranked = None
    if keep is not None:
        kept_ranked = np.take_along_axis(keep, order, axis=1)
        matches &= kept_ranked

    # Work on the true matches only (a few per query): np.nonzero lists them row by row, in
    # ranked order, so the k-th entry of a row is that query's (k+1)-th true match.
    hit_rows, hit_cols = np.nonzero(matches)
    num_rel = np.bincount(hit_rows, minlength=num_q)
    valid = num_rel > 0
    row_start = np.cumsum(num_rel) - num_rel
    hit_number = np.arange(hit_rows.size) - row_start[hit_rows] + 1
    if kept_ranked is None:
        hit_position = hit_cols + 1
    else:
        # 1-based position in the *filtered* list: dropped images before it don't count.
        kept_before = np.cumsum(kept_ranked, axis=1, dtype=np.int32)
        hit_position = kept_before[hit_rows, hit_cols]

    first_index = np.where(valid, row_start, 0)
    last_index = np.where(valid, row_start + num_rel - 1, 0)
    safe_rel = np.maximum(num_rel, 1)
    ap = np.bincount(hit_rows, weights=hit_number / hit_position, minlength=num_q) / safe_rel
    if hit_rows.size == 0:  # no query valid: keep placeholder shapes, caller raises
        first_hit = first_hit_column = np.zeros(num_q, dtype=np.int64)
        inp = np.zeros(num_q)
    else:
        first_hit = hit_position[first_index] - 1
        first_hit_column = hit_cols[first_index]
        inp = num_rel / hit_position[last_index]
    return {"order": order, "kept_ranked": kept_ranked, "first_hit": first_hit,
            "first_hit_column": first_hit_column, "ap": ap, "inp": inp, "valid": valid}


def _identity_ranks(block, columns_by_label, label_starts):
    """0-based rank of each query's identity in the identity-level (first occurrence) list.

    It equals the number of distinct gallery identities whose first kept image comes before
    the first kept true match. Computed from each gallery image's ranked position (dropped
    images get a position past the end), reduced to the first position of every identity.
    """
    order, kept_ranked = block["order"], block["kept_ranked"]
    num_q, num_g = order.shape
    # rank_of_column[q, c]: ranked position of gallery column c for query q; comparing raw
    # positions is enough because dropping images does not change the relative order.
    rank_of_column = np.empty((num_q, num_g), dtype=np.int32)
    positions = np.where(kept_ranked, np.arange(num_g, dtype=np.int32), np.int32(num_g))
    np.put_along_axis(rank_of_column, order, positions, axis=1)
    first_of_identity = np.minimum.reduceat(rank_of_column[:, columns_by_label], label_starts,
                                            axis=1)
    return (first_of_identity < block["first_hit_column"][:, None]).sum(axis=1)


def summarise_queries(first_ranks, aps, inps, valid, max_rank):
    """Average over valid queries: CMC from 0-based first-hit ranks, mAP, mINP.

    ``cmc[k] = mean(first_rank <= k)``; past the last existing rank every valid query counts,
    which is the "repeat the last value" padding.
    """
    if not valid.any():
        raise ValueError(
            "no valid query: no query identity has a true match in its (filtered) gallery; "
            "check that query and gallery identities overlap"
        )
    ranks = first_ranks[valid]
    cmc = (ranks[None, :] <= np.arange(max_rank)[:, None]).mean(axis=1)
    return cmc.astype(np.float64), float(aps[valid].mean()), float(inps[valid].mean())


def _check_inputs(distmat, q_pids, g_pids, max_rank):
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be 2-D (num_query, num_gallery), got {distmat.shape}")
    if int(max_rank) != max_rank or max_rank < 1:
        raise ValueError(f"max_rank must be a positive integer, got {max_rank!r}")
    if distmat.shape[1] == 0:
        raise ValueError("distmat has an empty gallery (0 columns)")
    q_pids = _as_1d(q_pids, "q_pids", distmat.shape[0])
    g_pids = _as_1d(g_pids, "g_pids", distmat.shape[1])
    return distmat, q_pids, g_pids


def _as_1d(values, name, expected_len):
    values = np.asarray(values).reshape(-1)
    if values.shape[0] != expected_len:
        raise ValueError(f"{name} has {values.shape[0]} entries, distmat needs {expected_len}")
    return values


# --------------------------------------------------------------------------------------------
# Distance internals
# --------------------------------------------------------------------------------------------
def _l2_normalise(x):
    return x / x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
