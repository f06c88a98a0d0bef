"""A dataset folder checked before a long run: split files parse, every image decodes, every image has
finite keypoints, and the counts of identities and images per modality and camera beside the numbers
the releases publish. Users who preprocess SYSU-MM01 differently lose points silently; this tells them."""

import os
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor

from PIL import Image
from tabulate import tabulate

from ..utils.errors import InputError
from .build import keypoints_file, load_dataset, relative_key
from .datasets.modality import IR, NAMES, RGB
from .keypoints_io import load_keypoints

__all__ = ["PUBLISHED", "check_dataset", "dataset_counts", "undecodable_images"]

#: What the releases publish (SYSU-MM01: Wu et al., ICCV 2017, with the community's train + val
#: training set; RegDB: Nguyen et al., Sensors 2017, 412 people x 10 visible + 10 thermal images,
#: half of them for training in every trial).
PUBLISHED = {
    "SYSUMM01_CM": OrderedDict([
        ("training identities", 395), ("training RGB images", 22258), ("training IR images", 11909),
        ("test identities", 96), ("IR queries", 3803),
    ]),
    "RegDB_CM": OrderedDict([
        ("training identities", 206), ("training RGB images", 2060), ("training IR images", 2060),
        ("test identities", 206), ("test visible images", 2060), ("test thermal images", 2060),
    ]),
}


def dataset_counts(dataset):
    """{quantity: count} of a loaded dataset: identities and images per modality, and per camera."""
    train_ids = {item[1] for item in dataset.train}
    counts = OrderedDict([("training identities", len(train_ids))])
    for modality in (RGB, IR):
        counts[f"training {NAMES[modality].upper()} images"] = sum(item[3] == modality for item in dataset.train)
    test = dataset.query + dataset.gallery
    counts["test identities"] = len({item[1] for item in test})
    if dataset.protocol == "sysu":
        counts["IR queries"] = len(dataset.query)
        counts["RGB test images (gallery pool)"] = len(dataset.gallery)
    else:
        counts["test visible images"] = len(dataset.query)
        counts["test thermal images"] = len(dataset.gallery)
    cameras = Counter((NAMES[item[3]].upper(), str(item[2]).split("_")[-1]) for item in dataset.train + test)
    for (modality, camera), count in sorted(cameras.items()):
        counts[f"{modality} images of camera {camera}"] = count
    return counts


def _decode(path):
    try:
        with Image.open(path) as image:
            image.load()
        return None
    except (OSError, ValueError) as e:
        return f"{path}: {e}"


def undecodable_images(paths, workers=4):
    """``"path: error"`` for every image of ``paths`` that does not decode in full."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [error for error in pool.map(_decode, paths) if error is not None]


def _keypoints_problems(cfg, dataset, paths):
    path = keypoints_file(cfg, dataset)
    if not os.path.isfile(path):
        return path, [f"no keypoints file {path} (INPUT.KEYPOINTS.FILE {cfg.INPUT.KEYPOINTS.FILE!r})"]
    try:
        table = load_keypoints(path)  # checks shapes, finiteness and scores
    except InputError as e:
        return path, [str(e)]
    missing = [p for p in paths if relative_key(p, dataset.dataset_root) not in table]
    return path, ([f"{len(missing)} of {len(paths)} images have no keypoints in {path}, e.g. {missing[0]}"]
                  if missing else [])


def check_dataset(cfg, name, workers=4, keypoints=True):
    """Check the registered dataset ``name`` under ``cfg``; returns ``(report text, problems)``.

    Split files that do not parse or a missing folder raise :class:`InputError` (nothing else can be
    checked then); images that do not decode, a keypoints file that is invalid or incomplete, and
    counts that differ from :data:`PUBLISHED` are listed as problems.
    """
    dataset = load_dataset(cfg, name)
    items = dataset.train + dataset.query + dataset.gallery
    paths = sorted({item[0] for item in items})
    problems = undecodable_images(paths, workers)
    lines = [f"{name} in {dataset.dataset_root}: {len(paths)} images, {len(problems)} that do not decode"]
    if keypoints:
        path, keypoint_problems = _keypoints_problems(cfg, dataset, paths)
        lines.append(f"keypoints {path}: " + ("every image has finite keypoints" if not keypoint_problems
                                               else "; ".join(keypoint_problems)))
        problems += keypoint_problems
    published = PUBLISHED.get(name, {})
    rows = []
    for quantity, count in dataset_counts(dataset).items():
        expected = published.get(quantity)
        flag = "" if expected is None or expected == count else "DIFFERS"
        if flag:
            problems.append(f"{quantity}: {count}, the release has {expected}")
        rows.append([quantity, count, "" if expected is None else expected, flag])
    lines.append(tabulate(rows, headers=["quantity", "found", "published", ""], tablefmt="pipe"))
    return "\n".join(lines), problems
