"""FastReID evaluator for the cross-modality protocols of SYSU-MM01 and RegDB."""

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
from .metrics import eval_regdb, eval_sysu, pairwise_distance
from .sysu_protocol import sysu_gallery

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


def sysu_gallery_columns(rgb_paths, dataset_root, mode, shots, trial):
    """The columns of the RGB test images (``rgb_paths``) that make up one :func:`sysu_gallery` draw."""
    column = {path: j for j, path in enumerate(rgb_paths)}
    gallery = sysu_gallery(dataset_root, mode=mode, shots=shots, trial=trial)
    missing = [p for p, _, _ in gallery if p not in column]
    if missing:
        raise InputError(f"gallery image {missing[0]} (and {len(missing) - 1} more) has no "
                       f"extracted feature: the test set and the gallery draw disagree")
    return np.array([column[p] for p, _, _ in gallery], dtype=np.int64)


def sysu_trial_scores(distmat, query, rgb, dataset_root, mode, shots, trials):
    """:func:`eval_sysu`'s ``(cmc, mAP, mINP)`` for each gallery draw ``0 .. trials - 1``.

    ``distmat`` is (queries, all RGB test images); ``query`` and ``rgb`` are their ExtractedFeatures.
    """
    runs = []
    for trial in range(trials):
        cols = sysu_gallery_columns(rgb.paths, dataset_root, mode, shots, trial)
        runs.append(eval_sysu(distmat[:, cols], query.pids, rgb.pids[cols], query.camids, rgb.camids[cols]))
    return runs


def summarize(cmc, mAP, mINP):
    """Percentages of one evaluation: R1/5/10/20 from the CMC curve, mAP, mINP."""
    return {"R1": cmc[0], "R5": cmc[4], "R10": cmc[9], "R20": cmc[19], "mAP": mAP, "mINP": mINP}


def mean_and_std(runs):
    """``{metric: mean, metric_std: std}`` in percent over a list of :func:`summarize` dicts."""
    out = OrderedDict()
    for m in METRICS:
        values = 100.0 * np.array([r[m] for r in runs], dtype=np.float64)
        out[m] = float(values.mean())
        out[m + "_std"] = float(values.std())
    return out


def protocol_table(results):
    """Markdown table of ``{setting: {metric: value}}`` as produced by the evaluator."""
    settings = dict.fromkeys(k.split("/")[0] for k in results if "/" in k)  # in order of appearance
    rows = []
    for s in settings:
        cells = []
        for m in METRICS:
            value = results[f"{s}/{m}"]
            std = results.get(f"{s}/{m}_std")
            cells.append(f"{value:.2f}" if std is None else f"{value:.2f} ± {std:.2f}")
        rows.append([s] + cells)
    return tabulate(rows, headers=["setting", *METRICS], tablefmt="pipe")


class CrossModalityEvaluator(DatasetEvaluator):
    """Extracts every test feature once, then scores the dataset's protocol on the main process.

    SYSU-MM01 (``protocol="sysu"``): queries are the IR images; the protocol's galleries (all /
    indoor search, single / multi-shot, ``TEST.SYSU.TRIALS`` random draws by
    :func:`sysu_gallery`) are picked from the features of all RGB test images. Reports the mean and
    standard deviation over trials, in percent, as ``<mode>-<single|multi>/<metric>[_std]``.
    RegDB (``protocol="regdb"``): ``v2t/<metric>`` (visible queries, thermal gallery) and ``t2v``.
    ``metric`` (read by FastReID's best-checkpoint hook) is (R1 + mAP) / 2 of the first setting.
    """

    def __init__(self, cfg, protocol, dataset_root=None):
        if protocol not in ("sysu", "regdb"):
            raise InputError(f"unknown protocol {protocol!r}: expected 'sysu' or 'regdb'")
        self.protocol = protocol
        self.dataset_root = dataset_root
        self.metric = cfg.TEST.METRIC
        self.sysu_cfg = cfg.TEST.SYSU
        self._predictions = []

    def reset(self):
        self._predictions = []

    def process(self, inputs, outputs):
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
        else:
            results = self._evaluate_regdb(rgb, ir)
        first = next(iter(results)).split("/")[0]
        results["metric"] = (results[f"{first}/R1"] + results[f"{first}/mAP"]) / 2
        logger.info("Cross-modality results (%s, %%):\n%s", self.protocol, protocol_table(results))
        return results

    def _evaluate_sysu(self, query, rgb):
        distmat = pairwise_distance(query.feats, rgb.feats, self.metric)
        results = OrderedDict()
        for mode, shots in itertools.product(self.sysu_cfg.MODES, self.sysu_cfg.SHOTS):
            runs = [summarize(*scores) for scores in
                    sysu_trial_scores(distmat, query, rgb, self.dataset_root, mode, shots, self.sysu_cfg.TRIALS)]
            setting = f"{mode}-{'single' if shots == 1 else 'multi'}"
            results.update({f"{setting}/{k}": v for k, v in mean_and_std(runs).items()})
        return results

    def _evaluate_regdb(self, visible, thermal):
        results = OrderedDict()
        for setting, (query, gallery) in (("v2t", (visible, thermal)), ("t2v", (thermal, visible))):
            scores = summarize(*eval_regdb(pairwise_distance(query.feats, gallery.feats, self.metric),
                                           query.pids, gallery.pids))
            results.update({f"{setting}/{k}": 100.0 * v for k, v in scores.items()})
        return results
