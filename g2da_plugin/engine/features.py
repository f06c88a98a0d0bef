"""Embed images with a trained model: the library of ``tools/extract_features.py`` (FastReID's ``demo/demo.py``).

The images are a folder or a glob pattern (one modality, no identities) or a split of a registered dataset;
they go through the test loader's own path (:func:`~g2da_plugin.data.build.build_cross_modality_test_set`:
resize to ``INPUT.SIZE_TEST``, uint8, keypoints scaled with the image) and the model's eval-mode forward
(its normalisation; FastReID's ``inference_on_dataset``, so ``TEST.FLIP.ENABLED`` is honoured as in
evaluation). Names, and the keys of a keypoints file, are the images' paths relative to the input folder
(a glob's: the folder before its first wildcard) or to the dataset folder, as in the datasets' own files.
"""

import glob
import logging
import os
import re
import types

import faiss
import numpy as np
import torch
from fastreid.evaluation import inference_on_dataset
from fastreid.evaluation.evaluator import DatasetEvaluator

from ..data.build import (build_cross_modality_test_set, cross_modality_test_loader, keypoints_file, load_dataset,
                          relative_key)
from ..data.datasets.modality import NAMES as MODALITY_NAMES
from ..evaluation.metrics import check_metric
from ..utils.errors import InputError, MissingInputError
from ..utils.file_io import atomic_write
from .defaults import load_trained_model

__all__ = ["FORMATS", "IMAGE_EXTENSIONS", "SPLITS", "ImageSet", "dataset_split", "embed",
           "extract_features", "folder_images", "write_features"]

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
SPLITS = ("query", "gallery", "train")
FORMATS = ("npz", "faiss")
#: FastReID's "unknown" identity and camera, for images outside a dataset
UNKNOWN = -1
_WILDCARD = re.compile(r"[*?[]")


class ImageSet(types.SimpleNamespace):
    """Images to embed: ``dataset_root`` (the folder names and keypoint keys are relative to), ``items``
    ``[(path, pid, camid, modality)]`` and ``labelled`` (pids and camids are known)."""


def _is_image(path):
    return os.path.isfile(path) and path.lower().endswith(IMAGE_EXTENSIONS)


def folder_images(pattern, modality):
    """The :class:`ImageSet` of a folder (every image under it) or a glob pattern (``**`` recursive), all of
    ``modality`` (0 RGB, 1 IR)."""
    if os.path.isdir(pattern):
        root = pattern
        paths = [os.path.join(folder, name) for folder, _, names in os.walk(pattern) for name in names]
    else:
        root = os.path.dirname(pattern)
        while _WILDCARD.search(root):
            root = os.path.dirname(root)
        if not _WILDCARD.search(pattern) and not os.path.exists(pattern):
            raise MissingInputError(f"--input {pattern}: no such folder or file")
        paths = glob.glob(pattern, recursive=True)
    paths = sorted(path for path in paths if _is_image(path))
    if not paths:
        raise InputError(f"--input {pattern}: no image ({', '.join(IMAGE_EXTENSIONS)}) there")
    return ImageSet(dataset_root=os.path.abspath(root or "."), labelled=False,
                    items=[(os.path.abspath(path), UNKNOWN, UNKNOWN, modality) for path in paths])


def dataset_split(cfg, name, split):
    """The :class:`ImageSet` of ``split`` ("query", "gallery", "train") of the registered dataset ``name``."""
    if split not in SPLITS:
        raise InputError(f"--split must be one of {SPLITS}, got {split!r}")
    data = load_dataset(cfg, name)
    if not hasattr(data, "dataset_root"):
        raise InputError(f"{name} is not one of the plug-in's cross-modality datasets (e.g. SYSUMM01_CM, RegDB_CM)")
    return ImageSet(dataset_root=os.path.abspath(data.dataset_root), items=list(getattr(data, split)), labelled=True)


def _needs_keypoints(model):
    """The pose models in cached mode read each image's keypoints from the batch (online ones estimate them)."""
    return getattr(model, "pose_mode", None) == "cached"


def keypoints_cfg(cfg, model, images, keypoints=None):
    """``cfg`` with ``INPUT.KEYPOINTS`` set for ``model``: on, from ``keypoints`` (a file) or the dataset's
    own file, when the model needs them; off otherwise."""
    cfg = cfg.clone()
    cfg.defrost()
    needed = _needs_keypoints(model)
    cfg.INPUT.KEYPOINTS.ENABLED = needed
    if not needed:
        if keypoints:
            logger.warning("--keypoints %s is not used: %s (MODEL.POSE.MODE %s) takes no keypoints", keypoints,
                           type(model).__name__, getattr(model, "pose_mode", "-"))
        return cfg
    if keypoints:
        if not os.path.isfile(keypoints):
            raise MissingInputError(f"--keypoints {keypoints}: no such file")
        cfg.INPUT.KEYPOINTS.FILE = os.path.abspath(keypoints)
    elif not images.labelled:
        raise InputError(f"{type(model).__name__} (MODEL.POSE.MODE cached) pools its parts at each image's keypoints: "
                         f"name their file with --keypoints FILE (keys: the image paths relative to "
                         f"{images.dataset_root}), or estimate them with MODEL.POSE.MODE online")
    logger.info("keypoints from %s", keypoints_file(cfg, images))
    return cfg


class _Collector(DatasetEvaluator):
    """``inference_on_dataset``'s evaluator: keeps each batch's embeddings and labels, in order."""

    def reset(self):
        self.batches = []

    def process(self, inputs, outputs):
        labels = {key: inputs[key] for key in ("img_paths", "modalities", "targets", "camids")}
        self.batches.append((outputs.detach().to("cpu", torch.float32), labels))

    def evaluate(self):
        return {}

    def column(self, key):
        # the train split's identities and cameras are strings ("SYSUMM01_CM_12"): the collator keeps a list
        return np.asarray([v for _, inputs in self.batches for v in
                           (inputs[key].tolist() if torch.is_tensor(inputs[key]) else inputs[key])])


def embed(cfg, model, images, keypoints=None):
    """``{"features": (N, d) float32, "names", "modalities"[, "pids", "camids"]}`` of an :class:`ImageSet`
    (numpy arrays, in the set's order; pids and camids only when the set is labelled)."""
    cfg = keypoints_cfg(cfg, model, images, keypoints)
    loader = cross_modality_test_loader(cfg, build_cross_modality_test_set(cfg, images, images.items))
    collector = _Collector()
    inference_on_dataset(model, loader, collector, flip_test=cfg.TEST.FLIP.ENABLED)
    out = {"features": torch.cat([feats for feats, _ in collector.batches]).numpy(),
           "names": np.asarray([relative_key(path, images.dataset_root) for path in collector.column("img_paths")]),
           "modalities": collector.column("modalities").astype(np.int64)}
    if images.labelled:
        out.update(pids=collector.column("targets"), camids=collector.column("camids"))
    return out


def write_features(path, arrays, fmt, metric):
    """``fmt`` "npz": every array in one ``.npz`` at ``path``. "faiss": a flat faiss index of the features at
    ``path``, searched as ``metric`` ranks (cosine: inner products of L2-normalised features; euclidean: L2),
    and the other arrays in ``<path>.npz`` (row i of the index is ``names[i]``)."""
    if fmt == "npz":
        atomic_write(path, lambda f: np.savez(f, **arrays))
        return [path]
    features = np.ascontiguousarray(arrays["features"], dtype=np.float32)
    if metric == "cosine":
        index = faiss.IndexFlatIP(features.shape[1])
        features = features.copy()
        faiss.normalize_L2(features)
    else:
        index = faiss.IndexFlatL2(features.shape[1])
    index.add(features)
    atomic_write(path, lambda f: f.write(faiss.serialize_index(index).tobytes()))
    metadata = {key: value for key, value in arrays.items() if key != "features"}
    atomic_write(path + ".npz", lambda f: np.savez(f, metric=np.asarray(metric), **metadata))
    return [path, path + ".npz"]


def extract_features(cfg, output, *, fmt="npz", input=None, modality=None, dataset=None, split=None,
                     keypoints=None):
    """Embed ``input`` (a folder or glob, all of ``modality`` "rgb" or "ir") or ``dataset``'s ``split`` with
    the trained model of ``cfg`` (``MODEL.WEIGHTS``) and write them to ``output`` (:func:`write_features`).
    Returns the paths written."""
    if (input is None) == (dataset is None):
        raise InputError("name the images with --input DIR|GLOB or with --dataset NAME --split SPLIT")
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "faiss":
        check_metric(cfg.TEST.METRIC)  # the index searches as the metric ranks
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise MissingInputError(f"--output {output}: its folder does not exist")
    if input is not None:
        codes = {name: code for code, name in MODALITY_NAMES.items()}
        if modality not in codes:
            raise InputError(f"--input needs --modality {' or '.join(codes)}: the two-stream model runs each image "
                             f"through its modality's stem")
        images = folder_images(input, codes[modality])
    else:
        if modality is not None:
            raise InputError("--modality is for --input images: a dataset knows each image's modality")
        images = dataset_split(cfg, dataset, split)
    arrays = embed(cfg, load_trained_model(cfg), images, keypoints)
    written = write_features(output, arrays, fmt, cfg.TEST.METRIC)
    logger.info("%d features of %d dimensions -> %s", *arrays["features"].shape, ", ".join(written))
    return written
