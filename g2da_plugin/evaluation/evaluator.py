"""FastReID evaluator for the cross-modality protocols of SYSU-MM01, RegDB and LLCM."""

import itertools
import logging
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import torch
from tabulate import tabulate

from fastreid.evaluation.evaluator import DatasetEvaluator
from fastreid.utils import comm

from ..data.datasets.modality import IR, RGB
from ..utils.errors import InputError
from .llcm_protocol import llcm_trial_scores
from .metrics import check_metric, distance_matrix, eval_regdb, eval_sysu
from .postprocess import PLAIN, ROC_METRICS, PostProcess, tpr_at_fpr
from .ranking import SysuRanking
from .sysu_protocol import draw_sysu_gallery, sysu_gallery, sysu_gallery_folders, sysu_release_permutations

logger = logging.getLogger(__name__)

METRICS = ("R1", "R5", "R10", "R20", "mAP", "mINP")


class ExtractedFeatures(NamedTuple):
    """Every extracted test image: feature, identity, camera, modality (numpy arrays) and path."""

    feats: np.ndarray
    pids: np.ndarray
    camids: np.ndarray
    modalities: np.ndarray
    paths: list

    def subset(self, index):
        """The images picked by a boolean mask or an array of indices, in that order."""
        index = np.asarray(index)
        index = np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64)
        return ExtractedFeatures(self.feats[index], self.pids[index], self.camids[index], self.modalities[index],
                            [self.paths[i] for i in index])


def path_columns(paths):
    """``{path: column}`` of a list of image paths."""
    return {path: j for j, path in enumerate(paths)}


def gallery_columns(column_of_path, gallery):
    """The columns (``column_of_path``) of a gallery's ``(img_path, pid, camid)`` images."""
    missing = [p for p, _, _ in gallery if p not in column_of_path]
    if missing:
        raise InputError(f"gallery image {missing[0]} (and {len(missing) - 1} more) has no "
                         f"extracted feature: the test set and the gallery draw disagree")
    return np.array([column_of_path[p] for p, _, _ in gallery], dtype=np.int64)


def sysu_gallery_columns(rgb_paths, dataset_root, mode, shots, trial, source="community"):
    """The columns of the RGB test images (``rgb_paths``) that make up one :func:`sysu_gallery` draw."""
    return gallery_columns(path_columns(rgb_paths),
                           sysu_gallery(dataset_root, mode=mode, shots=shots, trial=trial, source=source))


def rank_sysu_candidates(query, rgb, metric, device=None):
    """Every IR query ranked once against every RGB test image: one distance matrix, on ``device``
    (default: the CPU), and one :class:`~.ranking.SysuRanking` of it.

    ``query`` and ``rgb`` are ExtractedFeatures. Returns ``(ranking, column_of_path)``: the ranking and
    its column of each RGB image path.
    """
    rgb = rgb.subset(np.argsort(rgb.pids, kind="stable"))  # by identity, as the draws are: ties fall as in eval_sysu
    distmat = distance_matrix(query.feats, rgb.feats, metric, device)
    return SysuRanking(distmat, query.pids, rgb.pids, query.camids, rgb.camids), path_columns(rgb.paths)


def sysu_draws(column_of_path, folders, shots, trials, release=None):
    """The columns (``column_of_path``) of each gallery draw ``0 .. trials - 1`` from ``folders``
    (:func:`sysu_gallery_folders`); ``release``: the release's draws (:func:`sysu_release_permutations`),
    None for the community's."""
    return [gallery_columns(column_of_path, draw_sysu_gallery(folders, shots, trial, release))
            for trial in range(trials)]


def sysu_trial_scores(ranking, column_of_path, folders, shots, trials, release=None):
    """:func:`~.metrics.eval_sysu`'s ``(cmc, mAP, mINP)`` for each gallery draw (:func:`sysu_draws`), all scored
    on one ``ranking`` (:func:`rank_sysu_candidates`)."""
    return ranking.score(sysu_draws(column_of_path, folders, shots, trials, release))


def gallery_scores(query, gallery, metric, post=PLAIN, device=None, sysu=False):
    """:func:`summarize` of one gallery (``sysu``: :func:`~.metrics.eval_sysu`, else RegDB's
    :func:`~.metrics.eval_regdb`) from distances of its own (:meth:`~.postprocess.PostProcess.distances`),
    with ``post.roc`` also its TPR at each FPR (:func:`~.postprocess.tpr_at_fpr`)."""
    distmat = post.distances(query.feats, gallery.feats, metric, device)
    if sysu:
        scores = summarize(*eval_sysu(distmat, query.pids, gallery.pids, query.camids, gallery.camids))
    else:
        scores = summarize(*eval_regdb(distmat, query.pids, gallery.pids))
    if post.roc:
        scores.update(tpr_at_fpr(distmat, query.pids, gallery.pids, query.camids, gallery.camids, sysu=sysu))
    return scores


def sysu_protocol_results(query, rgb, folders_by_mode, shots_settings, trials, metric, device=None, release=None,
                          post=PLAIN):
    """SYSU-MM01's results ``{<mode>-<single|multi>/<metric>[_std]: percent}`` of the IR ``query`` against the
    draws from the ``rgb`` test images; ``folders_by_mode``: ``{mode: sysu_gallery_folders}``; ``release`` as
    :func:`sysu_draws` takes it. Plain distances rank the queries once against every ``rgb`` image; with
    ``post``-processing (:class:`~.postprocess.PostProcess`) each draw is scored from distances of its own."""
    if post.per_gallery:
        column_of_path = path_columns(rgb.paths)
    else:
        ranking, column_of_path = rank_sysu_candidates(query, rgb, metric, device)
    results = OrderedDict()
    for mode, shots in itertools.product(folders_by_mode, shots_settings):
        draws = sysu_draws(column_of_path, folders_by_mode[mode], shots, trials, release)
        if post.per_gallery:
            runs = [gallery_scores(query, rgb.subset(columns), metric, post, device, sysu=True) for columns in draws]
        else:
            runs = [summarize(*scores) for scores in ranking.score(draws)]
        setting = f"{mode}-{'single' if shots == 1 else 'multi'}"
        results.update({f"{setting}/{k}": v for k, v in mean_and_std(runs).items()})
    return results


def summarize(cmc, mAP, mINP):
    """Percentages of one evaluation: R1/5/10/20 from the CMC curve, mAP, mINP."""
    return {"R1": cmc[0], "R5": cmc[4], "R10": cmc[9], "R20": cmc[19], "mAP": mAP, "mINP": mINP}


def mean_and_std(runs):
    """``{metric: mean, metric_std: std}`` in percent over a list of :func:`summarize` dicts (and the
    TPRs :func:`gallery_scores` adds)."""
    out = OrderedDict()
    for m in runs[0]:
        values = 100.0 * np.array([r[m] for r in runs], dtype=np.float64)
        out[m] = float(values.mean())
        out[m + "_std"] = float(values.std())
    return out


def protocol_table(results):
    """Markdown table of ``{setting: {metric: value}}`` as produced by the evaluator."""
    settings = dict.fromkeys(k.split("/")[0] for k in results if "/" in k)  # in order of appearance
    columns = [*METRICS, *(m for m in ROC_METRICS if any(f"{s}/{m}" in results for s in settings))]
    rows = []
    for s in settings:
        cells = []
        for m in columns:
            value = results[f"{s}/{m}"]
            std = results.get(f"{s}/{m}_std")
            cells.append(f"{value:.2f}" if std is None else f"{value:.2f} ± {std:.2f}")
        rows.append([s] + cells)
    return tabulate(rows, headers=["setting", *columns], tablefmt="pipe")


class CrossModalityEvaluator(DatasetEvaluator):
    """Extracts every test feature once, then scores the dataset's protocol on the main process.

    SYSU-MM01 (``protocol="sysu"``): queries are the IR images; the protocol's galleries (all /
    indoor search, single / multi-shot, ``TEST.SYSU.TRIALS`` draws by :func:`sysu_gallery` of the
    ``TEST.SYSU.GALLERY`` convention) are picked from the features of all RGB test images, ranked once
    against the queries on the model's device (:func:`rank_sysu_candidates`). Reports the mean and
    standard deviation over trials, in percent, as ``<mode>-<single|multi>/<metric>[_std]``.
    RegDB (``protocol="regdb"``): ``v2t/<metric>`` (visible queries, thermal gallery) and ``t2v``.
    LLCM (``protocol="llcm"``): ``ir2vis/<metric>[_std]`` and ``vis2ir``, over ``TEST.LLCM.TRIALS`` gallery
    draws (:func:`~.llcm_protocol.llcm_trial_scores`).
    ``metric`` (read by FastReID's best-checkpoint hook) is (R1 + mAP) / 2 of the first setting.
    ``TEST.AQE``, ``TEST.RERANK`` and ``TEST.ROC`` (:mod:`.postprocess`) apply to each SYSU-MM01 draw and
    RegDB gallery on its own: SYSU-MM01's draws are then scored from distances of their own, not from
    the one ranking. ROC adds ``<setting>/TPR@FPR=<x>[_std]``, in percent.
    """

    def __init__(self, cfg, protocol, dataset_root=None):
        if protocol not in ("sysu", "regdb", "llcm"):
            raise InputError(f"unknown protocol {protocol!r}: expected 'sysu', 'regdb' or 'llcm'")
        self.protocol = protocol
        self.dataset_root = dataset_root
        check_metric(cfg.TEST.METRIC)  # here, not after training
        self.metric = cfg.TEST.METRIC
        self.post = PostProcess.from_cfg(cfg)
        if protocol == "llcm" and self.post.per_gallery:
            raise InputError("TEST.AQE, TEST.RERANK and TEST.ROC are not applied to LLCM's protocol yet: "
                             "set their ENABLED False")
        self.sysu_cfg = cfg.TEST.SYSU
        self.llcm_trials = cfg.TEST.LLCM.TRIALS
        # read once for all trials, and before any feature is extracted: a missing file stops the run at once
        self.sysu_release = (sysu_release_permutations(dataset_root, cfg.TEST.SYSU.GALLERY) if protocol == "sysu"
                             else None)
        self._predictions = []
        self._device = torch.device("cpu")  # the model's, once process() has seen its outputs

    def reset(self):
        self._predictions = []

    def process(self, inputs, outputs):
        self._device = outputs.device
        self._predictions.append({
            "feats": outputs.detach().to("cpu", torch.float32),
            "pids": inputs["targets"].cpu(),
            "camids": inputs["camids"].cpu(),
            "modalities": inputs["modalities"].cpu(),
            "paths": list(inputs["img_paths"]),
        })

    def features(self):
        """The processed images of every process as :class:`ExtractedFeatures` (None off the main process)."""
        predictions = self._predictions
        if comm.get_world_size() > 1:
            comm.synchronize()
            predictions = list(itertools.chain(*comm.gather(predictions, dst=0)))
            if not comm.is_main_process():
                return None
        return ExtractedFeatures(*(torch.cat([p[k] for p in predictions]).numpy()
                              for k in ("feats", "pids", "camids", "modalities")),
                            paths=list(itertools.chain(*[p["paths"] for p in predictions])))

    def evaluate(self):
        features = self.features()
        if features is None:
            return {}
        ir, rgb = features.subset(features.modalities == IR), features.subset(features.modalities == RGB)
        if self.protocol == "sysu":
            results = self._evaluate_sysu(ir, rgb)
        elif self.protocol == "llcm":
            results = self._evaluate_llcm(ir, rgb)
        else:
            results = self._evaluate_regdb(rgb, ir)
        first = next(iter(results)).split("/")[0]
        results["metric"] = (results[f"{first}/R1"] + results[f"{first}/mAP"]) / 2
        after = f", after {', '.join(self.post.labels)}" if self.post.labels else ""
        logger.info("Cross-modality results (%s, %%%s):\n%s", self.protocol, after, protocol_table(results))
        return results

    def _evaluate_sysu(self, query, rgb):
        folders = {mode: sysu_gallery_folders(self.dataset_root, mode) for mode in self.sysu_cfg.MODES}
        return sysu_protocol_results(query, rgb, folders, self.sysu_cfg.SHOTS, self.sysu_cfg.TRIALS, self.metric,
                                     self._device, self.sysu_release, self.post)

    def _evaluate_llcm(self, ir, rgb):
        scores = llcm_trial_scores(ir, rgb, self.dataset_root, self.llcm_trials, self.metric, self._device)
        return OrderedDict((f"{setting}/{k}", v) for setting, draws in scores.items()
                           for k, v in mean_and_std([summarize(*d) for d in draws]).items())

    def _evaluate_regdb(self, visible, thermal):
        results = OrderedDict()
        for setting, (query, gallery) in (("v2t", (visible, thermal)), ("t2v", (thermal, visible))):
            scores = gallery_scores(query, gallery, self.metric, self.post, self._device)
            results.update({f"{setting}/{k}": 100.0 * v for k, v in scores.items()})
        return results
