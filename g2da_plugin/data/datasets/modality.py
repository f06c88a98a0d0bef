"""Modality codes shared by the datasets, the sampler, the backbone and the evaluator, and the
datasets' checks of a folder and of an integer argument."""

import operator
import os

from ...utils.errors import MissingInputError

RGB = 0  # visible light
IR = 1   # near-infrared (SYSU-MM01) or thermal (RegDB)

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
