"""Modality codes shared by the datasets, the sampler, the backbone and the evaluator, and the
datasets' checks of a folder, an integer argument and an image list."""

import operator
import os
import re

from ...utils.errors import InputError, MissingInputError

RGB = 0  # visible light
IR = 1   # near-infrared (SYSU-MM01, LLCM) or thermal (RegDB)

NAMES = {RGB: "rgb", IR: "ir"}


def dataset_folder(root, dataset_dir):
    """``root/dataset_dir``, or FileNotFoundError naming the folder expected and the key to set."""
    folder = os.path.join(root, dataset_dir)
    if not os.path.isdir(folder):
        raise MissingInputError(f"{dataset_dir} not found: expected the folder {os.path.abspath(folder)} "
                                f"(set DATASETS.ROOT to the folder that contains {dataset_dir}/)")
    return folder


def is_integer(value):
    """True for ints and numpy integers, False for bools, floats and strings."""
    if isinstance(value, bool):
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def read_image_list(list_file, root, dataset):
    """``[(root/relative/path, label)]`` of a list file whose non-blank lines are ``relative/path label``
    (RegDB's and LLCM's), in file order; MissingInputError when the file is missing, InputError naming
    the line of a malformed one. ``dataset`` names the dataset in the messages."""
    if not os.path.isfile(list_file):
        raise MissingInputError(f"{dataset} list file not found: {list_file}")
    items = []
    with open(list_file, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2 or not re.fullmatch(r"[+-]?\d+", fields[1]):
                raise InputError(f"{list_file}, line {line_number}: expected 'relative/path label', "
                                 f"got {line.rstrip()!r}")
            items.append((os.path.join(root, fields[0]), int(fields[1])))
    return items


def check_listed_images(items, list_file, dataset):
    """InputError when ``list_file`` listed no image, MissingInputError naming the first listed image
    that is not on disk (and how many more are missing)."""
    if not items:
        raise InputError(f"{list_file} lists no image")
    missing = [path for path, _ in items if not os.path.isfile(path)]
    if missing:
        raise MissingInputError(f"{dataset} image listed in {list_file} not found: {missing[0]}"
                                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
