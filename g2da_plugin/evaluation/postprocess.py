"""FastReID's test-time keys on the cross-modality protocols: query expansion (``TEST.AQE``), k-reciprocal
re-ranking (``TEST.RERANK``) and TPR at fixed FPRs (``TEST.ROC``), applied to each gallery (each SYSU-MM01
draw, RegDB's gallery) on its own, as FastReID's ReidEvaluator applies them to its one gallery.

* AQE: FastReID's :func:`~fastreid.evaluation.query_expansion.aqe` on the queries and the gallery's
  images together, then the ``TEST.METRIC`` distances of the expanded features.
* Re-ranking: FastReID's classic numpy :func:`~fastreid.evaluation.rerank.re_ranking` (Zhong et al.,
  CVPR 2017, the authors' code) of the gallery's q-g, q-q and g-g distances, on the CPU. FastReID's
  ReidEvaluator uses ``build_dist(..., "jaccard")`` instead, which moves the features to CUDA and
  searches them with faiss on the GPU. ``re_ranking`` squares its input and scales each row by its
  largest value, so it is given Euclidean distances: with ``TEST.METRIC euclidean`` the features'
  L2 distance, with ``cosine`` the L2 distance of the unit vectors, ``sqrt(2 (1 - cos))``, whose square
  scaled per row is the cosine distance scaled per row. (FastReID fed it ``1 - cos`` itself until
  November 2020, which it then squared.) Re-ranking after AQE uses the expanded features, as FastReID.
* ROC: FastReID's :func:`~fastreid.evaluation.roc.evaluate_roc` pairs every query with the gallery
  images it may see (SYSU-MM01: not the cam2 images for a cam3 query; FastReID's own rule, dropping
  same identity and camera, removes nothing across modalities), on the final distances. A pair of one
  identity is a positive and accepted when its distance is at most a threshold; ``TPR@FPR=x`` is the
  largest share of positive pairs accepted while at most a share ``x`` of the other pairs are. FastReID's
  ReidEvaluator hands ``evaluate_roc``'s labels (0 = same identity) to ``roc_curve`` as they are, so its
  "TPR" is the share of other-identity pairs rejected (JDAI-CV/fast-reid#168), and it reads the curve's
  nearest point, which may lie above ``x``.

Every other key under FastReID's ``cfg.TEST`` is honoured elsewhere: ``METRIC`` by
:func:`~.metrics.distance_matrix`, ``IMS_PER_BATCH`` by the test loader, ``EVAL_PERIOD`` and
``PRECISE_BN`` by FastReID's hooks, which :class:`~g2da_plugin.engine.G2DATrainer` keeps, ``FLIP`` by
``inference_on_dataset(flip_test=...)`` in ``G2DATrainer.test``.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch
from sklearn.metrics import roc_curve

from fastreid.evaluation.query_expansion import aqe
from fastreid.evaluation.rerank import re_ranking

from ..utils.errors import InputError
from .metrics import distance_matrix, sysu_excluded

__all__ = ["PostProcess", "PLAIN", "ROC_METRICS", "tpr_at_fpr"]

#: ``TEST.ROC``'s operating points: (the key's spelling, the FPR).
FPR_TARGETS = (("1e-4", 1e-4), ("1e-3", 1e-3), ("1e-2", 1e-2), ("1e-1", 1e-1))
#: ``TEST.ROC``'s result keys, after ``<setting>/``.
ROC_METRICS = tuple(f"TPR@FPR={label}" for label, _ in FPR_TARGETS)


@dataclass(frozen=True)
class PostProcess:
    """What ``TEST.AQE``, ``TEST.RERANK`` and ``TEST.ROC`` ask for: ``aqe`` = (QE_TIME, QE_K, ALPHA) or
    None, ``rerank`` = (K1, K2, LAMBDA) or None, ``roc``."""

    aqe: Optional[Tuple[int, int, float]] = None
    rerank: Optional[Tuple[int, int, float]] = None
    roc: bool = False

    @classmethod
    def from_cfg(cls, cfg):
        """The config's post-processing; a value FastReID's functions would fail on, or silently not
        apply, stops the run with one line naming the key."""
        test = cfg.TEST
        counts = []
        if test.AQE.ENABLED:
            counts += [("AQE.QE_TIME", test.AQE.QE_TIME), ("AQE.QE_K", test.AQE.QE_K)]
        if test.RERANK.ENABLED:
            counts += [("RERANK.K1", test.RERANK.K1), ("RERANK.K2", test.RERANK.K2)]
        for key, value in counts:
            if value < 1:
                raise InputError(f"TEST.{key} must be at least 1, got {value}")
        if test.RERANK.ENABLED and not 0.0 <= test.RERANK.LAMBDA <= 1.0:
            raise InputError(f"TEST.RERANK.LAMBDA (the original distance's weight) must lie in [0, 1], "
                             f"got {test.RERANK.LAMBDA}")
        return cls(aqe=(test.AQE.QE_TIME, test.AQE.QE_K, float(test.AQE.ALPHA)) if test.AQE.ENABLED else None,
                   rerank=(test.RERANK.K1, test.RERANK.K2, float(test.RERANK.LAMBDA)) if test.RERANK.ENABLED else None,
                   roc=bool(test.ROC.ENABLED))

    @property
    def labels(self):
        """What changed the distances, in the order applied, e.g. ``["rerank(k1=20,k2=6,lambda=0.3)"]``;
        empty for plain distances. ``results.json`` and the tables carry it."""
        labels = []
        if self.aqe:
            labels.append("aqe(qe_time={},qe_k={},alpha={:g})".format(*self.aqe))
        if self.rerank:
            labels.append("rerank(k1={},k2={},lambda={:g})".format(*self.rerank))
        return labels

    @property
    def per_gallery(self):
        """True when each gallery needs distances of its own (AQE and re-ranking change them with the
        gallery; ROC reads them), rather than one ranking shared by the draws."""
        return bool(self.aqe or self.rerank or self.roc)

    def distances(self, query_feats, gallery_feats, metric, device=None):
        """``(num_query, num_gallery)`` numpy distances of one gallery: ``metric``'s (on ``device``), after AQE
        and re-ranking when asked for."""
        if self.aqe:
            query_feats, gallery_feats = expanded(query_feats, gallery_feats, *self.aqe)
        if self.rerank:
            return reranked(query_feats, gallery_feats, metric, *self.rerank, device=device)
        return distance_matrix(query_feats, gallery_feats, metric, device).cpu().numpy()


#: No post-processing: the distances of ``TEST.METRIC``.
PLAIN = PostProcess()


def expanded(query_feats, gallery_feats, qe_time, qe_k, alpha):
    """FastReID's :func:`aqe` of one gallery's queries and images (numpy in, numpy out)."""
    total = len(query_feats) + len(gallery_feats)
    if qe_k >= total:  # aqe's argpartition needs more images than neighbours
        raise InputError(f"TEST.AQE.QE_K {qe_k} must be smaller than the queries and gallery images together "
                         f"({total})")
    query, gallery = aqe(torch.as_tensor(query_feats, dtype=torch.float32),
                         torch.as_tensor(gallery_feats, dtype=torch.float32), qe_time, qe_k, alpha)
    return query.numpy(), gallery.numpy()


def reranked(query_feats, gallery_feats, metric, k1, k2, lambda_value, device=None):
    """FastReID's :func:`re_ranking` of one gallery, from the Euclidean distances it expects (module
    docstring); the distances are computed on ``device``, the re-ranking runs on the CPU."""
    feats = torch.cat([torch.as_tensor(query_feats), torch.as_tensor(gallery_feats)])
    dist = distance_matrix(feats, feats, metric, device)
    if metric == "cosine":
        dist = (2.0 * dist).clamp_min(0.0).sqrt()
    # an image is its own first neighbour: rounding must not put another one before it
    dist = dist.fill_diagonal_(0.0).cpu().numpy()
    num_query = len(query_feats)
    return re_ranking(dist[:num_query, num_query:], dist[:num_query, :num_query], dist[num_query:, num_query:],
                      k1, k2, lambda_value)


def tpr_at_fpr(distmat, q_pids, g_pids, q_camids, g_camids, sysu=False):
    """``{"TPR@FPR=<x>": fraction}`` of one gallery (module docstring); ``sysu``: leave out the pairs
    SYSU-MM01's protocol does not count (:func:`~.metrics.sysu_excluded`)."""
    # imported here: the module warns at import when its Cython build is missing, and only ROC needs it
    from fastreid.evaluation.roc import evaluate_roc

    distmat = np.asarray(distmat, dtype=np.float32)
    q_pids, g_pids, q_camids, g_camids = (np.asarray(a, dtype=np.int64) for a in (q_pids, g_pids, q_camids, g_camids))
    # SYSU-MM01's exclusion depends on the query's camera only: one evaluate_roc per query camera
    if sysu:
        groups = [(q_camids == cam, ~sysu_excluded([cam], g_camids)[0]) for cam in np.unique(q_camids)]
    else:
        groups = [(slice(None), slice(None))]
    distances, labels = zip(*(evaluate_roc(distmat[rows][:, cols], q_pids[rows], g_pids[cols], q_camids[rows],
                                           g_camids[cols]) for rows, cols in groups))
    fpr, tpr, _ = roc_curve(np.concatenate(labels) == 0, -np.concatenate(distances), drop_intermediate=False)
    # fpr ascends: the last point at or below each target has the largest TPR there
    return {key: float(tpr[np.searchsorted(fpr, target, side="right") - 1])
            for key, (_, target) in zip(ROC_METRICS, FPR_TARGETS)}
