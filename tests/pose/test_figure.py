"""The Fig. 3 picture (g2da_plugin.pose.figure): which images are RGB or IR and whose they are, what
one cell shows, and the whole figure on synthetic RegDB."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from g2da_plugin.data.datasets import IR, RGB
from g2da_plugin.data.keypoints_io import load_keypoints, save_keypoints
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.pose.figure import (CELL_HEIGHT, draw_cell, folder_modalities, keypoints_figure,
                                     modality_and_identity)

ORANGE, BLUE, GREEN, GREY, WHITE = (255, 140, 0), (30, 144, 255), (50, 205, 50), (128, 128, 128), (255, 255, 255)


@pytest.fixture(scope="module")
def regdb(tmp_path_factory):
    return Path(make_synthetic_regdb(tmp_path_factory.mktemp("regdb"), num_ids=4, images_per_modality=1))


def test_sysu_modality_comes_from_the_dataset(synthetic_root):
    folder = os.path.join(synthetic_root, "SYSU-MM01")
    modalities = folder_modalities(folder)
    files = sorted(p.relative_to(folder).as_posix() for p in Path(folder).glob("cam*/*/*"))
    assert sorted(modalities) == files
    for key, modality in modalities.items():
        assert modality == (IR if key.split("/")[0] in ("cam3", "cam6") else RGB), key
    assert modality_and_identity("cam6/0002/0001.jpg", folder, modalities) == (IR, "0002")
    assert modality_and_identity("cam4/0002/0001.jpg", folder, modalities) == (RGB, "0002")


def test_regdb_modality_comes_from_the_dataset(regdb):
    modalities = folder_modalities(regdb)
    assert len(modalities) == 8
    assert {m for key, m in modalities.items() if key.startswith("Thermal/")} == {IR}
    assert {m for key, m in modalities.items() if key.startswith("Visible/")} == {RGB}
    assert modality_and_identity("Thermal/3/t_0003_01.bmp", regdb, modalities) == (IR, "3")


def test_elsewhere_a_single_channel_image_is_ir(tmp_path):
    (tmp_path / "7").mkdir()
    Image.new("L", (8, 16)).save(tmp_path / "7" / "a.png")
    Image.new("RGB", (8, 16)).save(tmp_path / "7" / "b.png")
    assert folder_modalities(tmp_path) == {}
    assert modality_and_identity("7/a.png", tmp_path, {}) == (IR, "7")
    assert modality_and_identity("7/b.png", tmp_path, {}) == (RGB, "7")


def test_a_cell_shows_keypoints_limbs_and_truth(tmp_path):
    path = tmp_path / "crop.png"
    Image.new("RGB", (64, 128), (0, 0, 0)).save(path)   # drawn 3x larger: 192 x 384
    keypoints = np.zeros((17, 3), np.float32)
    keypoints[:, :2] = [4, 4]
    keypoints[9] = [10, 20, 0.9]    # left wrist
    keypoints[7] = [10, 60, 0.9]    # left elbow: the limb 7-9 runs from (30, 180) to (30, 60)
    keypoints[10] = [50, 20, 0.8]   # right wrist
    keypoints[0] = [32, 100, 0.1]   # nose, below --min-score: a grey cross
    keypoints[11] = [20, 80, 1]     # left and right hip: the limb 11-12, across the body
    keypoints[12] = [44, 80, 1]
    truth = np.zeros((17, 3), np.float32)
    truth[5] = [40, 110, 1]         # a true left shoulder
    cell = draw_cell(path, keypoints, truth, min_score=0.3)
    assert cell.size == (192, CELL_HEIGHT)
    assert cell.getpixel((30, 60)) == ORANGE
    assert cell.getpixel((30, 120)) == ORANGE       # on the limb
    assert cell.getpixel((150, 60)) == BLUE
    assert cell.getpixel((96, 240)) == GREEN
    assert cell.getpixel((96, 300)) == GREY
    assert cell.getpixel((120, 330)) == WHITE
    assert cell.getpixel((90, 120)) == (0, 0, 0)    # nothing drawn there


def test_figure_of_rgb_and_ir_pairs(regdb, tmp_path):
    keypoints = regdb / "keypoints.json"
    figure, chosen = keypoints_figure(keypoints, num=3, truth_file=keypoints)
    assert len(chosen) == 3 and set(chosen) <= {"1", "2", "3", "4"}
    # Three columns of 64 x 128 crops drawn 192 wide, with the label column and margins.
    assert figure.size == (44 + 3 * 192 + 4 * 8, 22 + 2 * CELL_HEIGHT + 3 * 8 + 16)
    assert keypoints_figure(keypoints, num=10)[1] == ["1", "2", "3", "4"]

    visible_only = tmp_path / "visible.json"
    table = load_keypoints(keypoints)
    save_keypoints(visible_only, {k: v for k, v in table.items() if k.startswith("Visible/")}, "test")
    with pytest.raises(ValueError, match="no identity has both RGB and IR images"):
        keypoints_figure(visible_only, dataset_dir=regdb)
