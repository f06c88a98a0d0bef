"""SYSU-MM01's 40 gallery scorings from one look at the distances (:class:`SysuRanking`).

SYSU-MM01 scores the IR queries against 40 galleries (all / indoor search x single / multi-shot x 10
draws), each a subset of the RGB test images, the *candidates*. :func:`~.metrics.eval_sysu` sorts each
gallery anew; :class:`SysuRanking` looks at the (queries x candidates) distances once:

* a query's own-identity candidates, its *pivots*, are sorted (a few dozen per query); every other
  candidate goes into a *bin*, the number of pivots ranked before it (a binary search); pivot ``i``
  closes bin ``i``. Nothing else is sorted: between two pivots the order does not matter;
* a true match's 1-based position in a gallery is the number of the gallery's images, visible to the
  query, in the match's bin and the bins before (a histogram of the gallery's bins per query);
* an identity comes before the query's first true match when its earliest visible image in the gallery
  lies in a bin no later than that match's (a minimum per identity).

Ties: eval_sysu breaks them by gallery order, this class by column order. Only a tie between a pivot
and another identity's image changes a number, and with the candidates sorted by identity, as every
:func:`~.sysu_protocol.sysu_gallery` draw is, both orders agree there: the numbers are eval_sysu's.

Everything runs in torch on the distance matrix's device. Memory, besides the distances: four
(queries x candidates) arrays while the candidates are placed (0.3 GB at SYSU-MM01's 3,803 x 6,775),
one int32 array afterwards.
"""

import numpy as np
import torch

from ..utils.errors import InputError
from .metrics import summarise_queries, sysu_excluded

__all__ = ["SysuRanking"]


class SysuRanking:
    """Every query placed once among every candidate, scored on galleries of candidate columns.

    Args:
        distmat: ``(num_query, num_candidates)`` distances (numpy array or torch tensor; a tensor stays
            on its device), smaller = more similar.
        q_pids, g_pids: identities of queries / candidates; ``g_pids`` ascending (candidates grouped
            by identity).
        q_camids, g_camids: SYSU camera numbers (1..6) of queries / candidates.
        excluded: boolean ``(num_query, num_candidates)``, True where a query does not see the candidate;
            default SYSU-MM01's rule (:func:`~.metrics.sysu_excluded` of the camera numbers). LLCM passes
            its own (:func:`~.llcm_protocol.llcm_excluded`).
    """

    def __init__(self, distmat, q_pids, g_pids, q_camids, g_camids, excluded=None):
        distmat = torch.as_tensor(distmat, dtype=torch.float32)
        q_pids, g_pids = np.asarray(q_pids).reshape(-1), np.asarray(g_pids).reshape(-1)
        if distmat.ndim != 2 or distmat.shape != (len(q_pids), len(g_pids)) or not len(g_pids):
            raise InputError(f"distmat: expected (queries, candidates) = ({len(q_pids)}, {len(g_pids)}) with at "
                             f"least one candidate, got {tuple(distmat.shape)}")
        if np.any(np.diff(g_pids) < 0):
            raise InputError("g_pids: expected the candidates sorted by identity (ascending)")
        identities, self._g_labels = np.unique(g_pids, return_inverse=True)
        if excluded is None:
            excluded = sysu_excluded(q_camids, g_camids)
        excluded = torch.as_tensor(np.asarray(excluded, dtype=bool), device=distmat.device)
        if excluded.shape != distmat.shape:
            raise InputError(f"excluded: expected shape {tuple(distmat.shape)}, got {tuple(excluded.shape)}")
        bins, pivot_columns = place_candidates(distmat, *pivot_blocks(identities, self._g_labels, q_pids))
        self._num_bins = pivot_columns.shape[1] + 2  # bins 0..max pivots, then one for the invisible candidates
        bins.masked_fill_(excluded, self._num_bins - 1)
        # a pivot the query does not see is no true match: it becomes padding (padding stays padding)
        invisible = excluded.gather(1, pivot_columns.clamp(max=len(g_pids) - 1))
        self._pivot_columns = pivot_columns.masked_fill_(invisible, len(g_pids))
        self._cells = histogram_cells(bins, self._num_bins)

    @property
    def num_candidates(self):
        return len(self._g_labels)

    def score(self, galleries, max_rank=20):
        """:func:`~.metrics.eval_sysu`'s ``(cmc, mAP, mINP)`` of each gallery, a 1-D array of candidate
        columns (each at most once; its order does not matter)."""
        galleries = [checked_gallery(gallery, self.num_candidates, t) for t, gallery in enumerate(galleries)]
        tables = [grouped_by_identity(self._g_labels, gallery, fill=self.num_candidates) for gallery in galleries]
        # one buffer for every gallery's cells: large temporary arrays cost more to allocate than to fill
        buffer = torch.empty(max(table.size for table in tables) * self._cells.shape[1], dtype=self._cells.dtype,
                             device=self._cells.device)
        return [self._score_gallery(gallery, table, buffer, max_rank) for gallery, table in zip(galleries, tables)]

    def _score_gallery(self, gallery, table, buffer, max_rank):
        """``(cmc, mAP, mINP)`` of one gallery; ``table``: its columns by identity (:func:`grouped_by_identity`),
        ``buffer``: room for the cells of ``table``'s images."""
        device, num_q = self._cells.device, self._cells.shape[1]
        table = torch.as_tensor(table, device=device)
        cells = torch.index_select(self._cells, 0, table.view(-1), out=buffer[:table.numel() * num_q].view(-1, num_q))
        is_member = torch.zeros(self.num_candidates + 1, dtype=torch.bool, device=device)
        is_member[torch.as_tensor(gallery, device=device)] = True
        hits = is_member[self._pivot_columns]  # (query, pivot): the pivot is a visible true match
        aps, inps = precision_stats(hits, self._images_up_to(cells))
        # the cell of the first true match's bin (argmax: the first maximum)
        first_hit_cells = hits.int().argmax(1) * num_q + torch.arange(num_q, device=device)
        first_cells = cells.view(*table.shape, num_q).amin(1)  # (identity, query): its earliest visible image
        ranks = (first_cells <= first_hit_cells).sum(0) - 1  # the query's own identity counts itself
        return summarise_queries(*(x.cpu().numpy() for x in (ranks, aps, inps, hits.any(1))), max_rank)

    def _images_up_to(self, cells):
        """(bin, query): the images of ``cells`` ((image, query) histogram cells) in that bin or an earlier one."""
        counts = torch.bincount(cells.view(-1), minlength=self._num_bins * cells.shape[1])
        return counts.view(self._num_bins, cells.shape[1]).cumsum(0)


def pivot_blocks(identities, g_labels, q_pids):
    """Per query, the first and the end column of its pivots (0, 0 for an identity with no candidate)."""
    block_starts = np.searchsorted(g_labels, np.arange(len(identities) + 1))
    labels = np.searchsorted(identities, q_pids).clip(max=len(identities) - 1)
    known = identities[labels] == q_pids
    return np.where(known, block_starts[labels], 0), np.where(known, block_starts[labels + 1], 0)


def place_candidates(distmat, starts, stops):
    """``(bins, pivot_columns)``: each candidate's bin per query (int32), and each query's pivot columns
    by rank, padded with ``num_candidates``; a query's pivots are its columns ``starts:stops``. Ties
    between a pivot and another candidate go to the lower column."""
    num_g, device = distmat.shape[1], distmat.device
    starts, stops = torch.as_tensor(starts, device=device), torch.as_tensor(stops, device=device)
    slots = torch.arange(max(1, int((stops - starts).max())), device=device)
    real = slots < (stops - starts)[:, None]
    columns = torch.where(real, starts[:, None] + slots, num_g)
    inf = distmat.new_tensor(float("inf"))
    pivot_distances = distmat.gather(1, columns.clamp(max=num_g - 1)).masked_fill_(~real, inf)
    pivots, ranked = torch.sort(pivot_distances, dim=1, stable=True)  # the padding, at infinity, comes last
    pivot_columns = columns.gather(1, ranked)
    # past a query's pivot columns a tie puts the pivot first: search for the next float up there
    after = torch.arange(num_g, device=device) >= stops[:, None]
    bins = torch.searchsorted(pivots, torch.where(after, torch.nextafter(distmat, inf), distmat), out_int32=True)
    rows, ranks = real.nonzero(as_tuple=True)  # real slots come first in both orders
    bins[rows, pivot_columns[rows, ranks]] = ranks.int()  # a pivot's bin is its rank
    return bins, pivot_columns


def histogram_cells(bins, num_bins):
    """``(candidate + 1, query)``: ``bin * num_query + query``, the cell of a (bin, query) histogram that the
    candidate falls in; the last row, the padding column, lies in the invisible bin."""
    num_q = bins.shape[0]
    dtype = torch.int32 if num_bins * num_q < 2**31 else torch.int64  # int32: quick to gather, and to take minima of
    cells = torch.empty(bins.shape[1] + 1, num_q, dtype=dtype, device=bins.device)
    cells[:-1] = bins.t()
    cells[-1] = num_bins - 1
    return cells.mul_(num_q).add_(torch.arange(num_q, dtype=dtype, device=bins.device))


def precision_stats(hits, seen):
    """Per query, AP and INP from its true matches (``hits``, (query, pivot), by rank) and ``seen``
    ((pivot, query)), the gallery's images it sees up to each pivot."""
    rows, pivots = hits.nonzero(as_tuple=True)  # row by row: each query's matches in ranked order
    num_hits = torch.bincount(rows, minlength=len(hits))
    number = torch.arange(len(rows), device=rows.device) - (num_hits.cumsum(0) - num_hits)[rows] + 1
    position = seen[pivots, rows].double()  # the match's 1-based position in the gallery
    aps = torch.zeros(len(hits), dtype=torch.float64, device=rows.device).index_add_(0, rows, number / position)
    last = torch.zeros_like(aps).scatter_reduce_(0, rows, position, reduce="amax")
    return aps / num_hits.clamp_min(1), num_hits / last.clamp_min(1)


def grouped_by_identity(labels, gallery, fill):
    """``(identities in the gallery, most images of one)``: the gallery's columns, a row per identity,
    padded with ``fill``."""
    gallery = gallery[np.argsort(labels[gallery], kind="stable")]
    gallery_labels = labels[gallery]
    starts = np.flatnonzero(np.r_[True, gallery_labels[1:] != gallery_labels[:-1]])
    counts = np.diff(np.r_[starts, len(gallery)])
    table = np.full((len(starts), counts.max()), fill, dtype=np.int64)
    table[np.repeat(np.arange(len(starts)), counts), np.arange(len(gallery)) - np.repeat(starts, counts)] = gallery
    return table


def checked_gallery(gallery, num_candidates, index):
    """``gallery`` as int64 columns, or an InputError naming the gallery's index."""
    gallery = np.asarray(gallery)
    if gallery.ndim != 1 or len(gallery) == 0 or not np.issubdtype(gallery.dtype, np.integer):
        raise InputError(f"gallery {index}: expected a non-empty 1-D array of candidate columns, got {gallery!r:.80}")
    if gallery.min() < 0 or gallery.max() >= num_candidates or len(np.unique(gallery)) != len(gallery):
        raise InputError(f"gallery {index}: expected distinct candidate columns in 0..{num_candidates - 1}")
    return gallery.astype(np.int64)
