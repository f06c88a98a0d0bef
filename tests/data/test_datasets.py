"""The datasets: SYSU-MM01's and RegDB's layout readers (read_sysu_ids, regdb_split), the registered
SYSUMM01_CM and RegDB_CM on the synthetic data and their errors, and the CrossModalityDataset that
serves their images (modalities, IR as 3 channels, keypoints and the missing-keypoints policies)."""

import logging
import os
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import g2da_plugin  # noqa: F401  (fastreid compatibility fixes, registries)
from fastreid.data.datasets import DATASET_REGISTRY
from g2da_plugin.data.dataset import CrossModalityDataset, MissingKeypointsError
from g2da_plugin.data.datasets import IR, RGB, RegDB_CM, SYSUMM01_CM
from g2da_plugin.data.datasets.regdb import regdb_split
from g2da_plugin.data.datasets.sysu_mm01 import read_sysu_ids
from g2da_plugin.data.keypoint_geometry import MEAN_POSE
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.data.transforms import build_joint_transforms
from tests.helpers import make_cfg


@pytest.fixture(scope="module")
def regdb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("regdb")
    make_synthetic_regdb(str(root), num_ids=6, images_per_modality=2, seed=1)
    return str(root)


def ids_in(path):
    return {int(t) for t in open(path).read().replace(",", " ").split()}


def images_on_disk(sysu, ids, cameras):
    """``(path, pid, cam)`` of every image of ``ids`` under ``cameras``: ids ascending, then cameras, then names."""
    return [(os.path.join(sysu, f"cam{cam}", f"{pid:04d}", name), pid, cam)
            for pid in sorted(ids) for cam in cameras
            if os.path.isdir(os.path.join(sysu, f"cam{cam}", f"{pid:04d}"))
            for name in sorted(os.listdir(os.path.join(sysu, f"cam{cam}", f"{pid:04d}")))]


def list_file(regdb, split, modality, trial):
    """The ``(full path, label)`` lines of a RegDB list, read directly."""
    with open(os.path.join(regdb, "idx", f"{split}_{modality}_{trial}.txt")) as handle:
        return [(os.path.join(regdb, path), int(label)) for path, label in (line.split() for line in handle)]


# --------------------------------------------------------------------------------------------
# SYSU-MM01 identity lists
# --------------------------------------------------------------------------------------------
def write_id_file(root, text, split="test"):
    (root / "exp").mkdir(exist_ok=True)
    (root / "exp" / f"{split}_id.txt").write_text(text)


def test_read_sysu_ids_sorts_the_release_line_and_accepts_whitespace_and_several_lines(tmp_path):
    write_id_file(tmp_path, "12,3,1\n")
    assert read_sysu_ids(str(tmp_path)) == [1, 3, 12]
    write_id_file(tmp_path, "3\n12 ,\n 1\n")
    assert read_sysu_ids(str(tmp_path)) == [1, 3, 12]
    write_id_file(tmp_path, "7,5", split="val")
    assert read_sysu_ids(str(tmp_path), "val") == [5, 7]


@pytest.mark.parametrize("text, message", [
    ("1,x,3", r"test_id\.txt: expected comma-separated integers"),
    ("1,3,1", r"test_id\.txt lists an identity more than once"),
    (" ,\n", r"test_id\.txt lists no identity"),
])
def test_read_sysu_ids_refuses_malformed_lists(tmp_path, text, message):
    write_id_file(tmp_path, text)
    with pytest.raises(ValueError, match=message):
        read_sysu_ids(str(tmp_path))


def test_read_sysu_ids_names_the_missing_folder_or_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"root folder not found: {tmp_path / 'nowhere'}"):
        read_sysu_ids(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=r"train identity list not found: .*exp.train_id\.txt"):
        read_sysu_ids(str(tmp_path), "train")


# --------------------------------------------------------------------------------------------
# RegDB lists
# --------------------------------------------------------------------------------------------
def write_regdb_list(root, name, text):
    (root / "idx").mkdir(exist_ok=True)
    (root / "idx" / name).write_text(text)


def test_regdb_split_parses_lines(tmp_path):
    write_regdb_list(tmp_path, "test_visible_3.txt",
                     "Visible/1/female_back_v_06166_1.bmp 0\n\nVisible/2/male_x.bmp 1\n")
    assert regdb_split(str(tmp_path), np.int64(3)) == [
        (os.path.join(str(tmp_path), "Visible/1/female_back_v_06166_1.bmp"), 0),
        (os.path.join(str(tmp_path), "Visible/2/male_x.bmp"), 1),
    ]
    write_regdb_list(tmp_path, "train_thermal_10.txt", "Thermal/5/a.bmp 4\n")
    assert regdb_split(str(tmp_path), 10, split="train", modality="thermal") == [
        (os.path.join(str(tmp_path), "Thermal/5/a.bmp"), 4)]


def test_regdb_split_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"idx.test_thermal_2\.txt"):
        regdb_split(str(tmp_path), 2, modality="thermal")
    write_regdb_list(tmp_path, "test_visible_1.txt", "a.bmp 0\nb.bmp\n")
    with pytest.raises(ValueError, match=r"test_visible_1\.txt, line 2"):
        regdb_split(str(tmp_path), 1)
    write_regdb_list(tmp_path, "test_visible_1.txt", "a.bmp zero\n")
    with pytest.raises(ValueError, match="line 1"):
        regdb_split(str(tmp_path), 1)
    for trial in (0, 11, "1", True):
        with pytest.raises(ValueError, match="trial"):
            regdb_split(str(tmp_path), trial)
    with pytest.raises(ValueError, match="split"):
        regdb_split(str(tmp_path), 1, split="val")
    with pytest.raises(ValueError, match="modality"):
        regdb_split(str(tmp_path), 1, modality="infrared")


# --------------------------------------------------------------------------------------------
# The registered datasets
# --------------------------------------------------------------------------------------------
def test_registered_next_to_fastreids_own_and_naming_their_protocol():
    assert DATASET_REGISTRY.get("SYSU_mm") is not SYSUMM01_CM  # FastReID's RGB-only SYSU stays
    assert DATASET_REGISTRY.get("SYSUMM01_CM") is SYSUMM01_CM and DATASET_REGISTRY.get("RegDB_CM") is RegDB_CM
    assert (SYSUMM01_CM.protocol, RegDB_CM.protocol) == ("sysu", "regdb")


def test_sysu_train_is_train_plus_val_both_modalities(synthetic_root):
    sysu = os.path.join(synthetic_root, "SYSU-MM01")
    data = SYSUMM01_CM(root=synthetic_root)
    train_ids = ids_in(os.path.join(sysu, "exp", "train_id.txt")) | ids_in(os.path.join(sysu, "exp", "val_id.txt"))
    assert data.train == [(path, f"sysumm01_{pid}", f"sysumm01_{cam}", IR if cam in (3, 6) else RGB)
                          for path, pid, cam in images_on_disk(sysu, train_ids, range(1, 7))]
    assert {pid for _, pid, _, _ in data.train} == {f"sysumm01_{pid}" for pid in train_ids}


def test_sysu_queries_are_every_ir_and_gallery_every_rgb_image_of_the_test_ids(synthetic_root):
    sysu = os.path.join(synthetic_root, "SYSU-MM01")
    data = SYSUMM01_CM(root=synthetic_root)
    test_ids = ids_in(os.path.join(sysu, "exp", "test_id.txt"))
    assert data.query == [(path, pid, cam, IR) for path, pid, cam in images_on_disk(sysu, test_ids, (3, 6))]
    assert data.gallery == [(path, pid, cam, RGB) for path, pid, cam in images_on_disk(sysu, test_ids, (1, 2, 4, 5))]
    assert data.dataset_root == sysu


@pytest.mark.parametrize("trial", [1, 7])
def test_regdb_trial_is_its_list_files(regdb_root, trial):
    regdb = os.path.join(regdb_root, "RegDB")
    data = RegDB_CM(root=regdb_root, trial=trial)
    assert data.train == (
        [(path, f"regdb_{label}", "regdb_1", RGB) for path, label in list_file(regdb, "train", "visible", trial)]
        + [(path, f"regdb_{label}", "regdb_2", IR) for path, label in list_file(regdb, "train", "thermal", trial)])
    assert data.query == [(path, label, 1, RGB) for path, label in list_file(regdb, "test", "visible", trial)]
    assert data.gallery == [(path, label, 2, IR) for path, label in list_file(regdb, "test", "thermal", trial)]
    train_ids = {pid for _, pid, _, _ in data.train}
    test_ids = {pid for _, pid, _, _ in data.query}
    assert len(train_ids) == len(test_ids) == 3 and not {f"regdb_{pid}" for pid in test_ids} & train_ids


def test_regdb_trial_must_be_1_to_10(regdb_root):
    for trial in (0, 11, "1"):
        with pytest.raises(ValueError, match="DATASETS.REGDB_TRIAL must be an integer in 1..10"):
            RegDB_CM(root=regdb_root, trial=trial)


def test_missing_root_names_the_expected_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "SYSU-MM01")):
        SYSUMM01_CM(root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "RegDB")):
        RegDB_CM(root=str(tmp_path))


def test_missing_split_file_and_image_are_named(synthetic_root, regdb_root, tmp_path):
    shutil.copytree(os.path.join(synthetic_root, "SYSU-MM01"), tmp_path / "SYSU-MM01")
    shutil.copytree(os.path.join(regdb_root, "RegDB"), tmp_path / "RegDB")
    os.remove(tmp_path / "SYSU-MM01" / "exp" / "val_id.txt")
    with pytest.raises(FileNotFoundError, match="val_id.txt"):
        SYSUMM01_CM(root=str(tmp_path))

    split = tmp_path / "RegDB" / "idx" / "test_thermal_2.txt"
    first_image = split.read_text().split()[0]
    os.remove(tmp_path / "RegDB" / first_image)
    with pytest.raises(FileNotFoundError, match=f"listed in .*test_thermal_2.txt not found: .*{first_image}"):
        RegDB_CM(root=str(tmp_path), trial=2)
    split.write_text("just-one-field\n")
    with pytest.raises(ValueError, match="test_thermal_2.txt, line 1"):
        RegDB_CM(root=str(tmp_path), trial=2)
    split.write_text("\n")
    with pytest.raises(ValueError, match="test_thermal_2.txt lists no image"):
        RegDB_CM(root=str(tmp_path), trial=2)


# --------------------------------------------------------------------------------------------
# CrossModalityDataset
# --------------------------------------------------------------------------------------------
def test_samples_carry_modality_and_ir_as_three_equal_channels(synthetic_root):
    data = SYSUMM01_CM(root=synthetic_root)
    ir_item, rgb_item = data.query[0], data.gallery[0]
    dataset = CrossModalityDataset([ir_item, rgb_item], transform=None, relabel=False)
    ir, rgb = dataset[0], dataset[1]
    assert (ir["modalities"], rgb["modalities"]) == (IR, RGB)
    assert (ir["targets"], ir["camids"], ir["img_paths"]) == (ir_item[1], ir_item[2], ir_item[0])
    assert Image.open(ir_item[0]).mode == "L"
    ir_pixels = np.asarray(ir["images"])
    assert ir["images"].mode == "RGB" and ir_pixels.shape[2] == 3
    for channel in range(3):
        assert np.array_equal(ir_pixels[..., channel], np.asarray(Image.open(ir_item[0])))
    rgb_pixels = np.asarray(rgb["images"]).astype(int)
    assert np.array_equal(rgb_pixels, np.asarray(Image.open(rgb_item[0]).convert("RGB")))
    assert (rgb_pixels[..., 0] != rgb_pixels[..., 1]).any()


def test_training_sets_relabel_identities_and_cameras_to_indices(synthetic_root):
    train = SYSUMM01_CM(root=synthetic_root).train
    dataset = CrossModalityDataset(train, transform=None, relabel=True)
    pids = sorted({pid for _, pid, _, _ in train})
    cams = sorted({cam for _, _, cam, _ in train})
    for index in (0, len(train) - 1):
        sample = dataset[index]
        assert sample["targets"] == pids.index(train[index][1])
        assert sample["camids"] == cams.index(train[index][2])


def write_images(folder, widths, height=70):
    """Gray images of the given widths, as ``(path, pid, camid, modality)`` items."""
    items = []
    for i, width in enumerate(widths):
        path = os.path.join(folder, f"img{i}.png")
        Image.new("RGB", (width, height), (90, 90, 90)).save(path)
        items.append((path, f"d_{i % 2}", "d_c1", i % 2))
    return items


def frontal_keypoints(width, height):
    keypoints = np.ones((17, 3), np.float32)
    keypoints[:, 0] = MEAN_POSE[:, 0] * width
    keypoints[:, 1] = MEAN_POSE[:, 1] * height
    return keypoints


TEST_TRANSFORM_CFG = {"INPUT.SIZE_TEST": [64, 32]}


def test_keypoints_follow_the_transform_into_the_samples(tmp_path):
    items = write_images(tmp_path, [30, 40])
    keypoints = {path: frontal_keypoints(width, 70) for (path, *_), width in zip(items, (30, 40))}
    dataset = CrossModalityDataset(items, build_joint_transforms(make_cfg(overrides=TEST_TRANSFORM_CFG), False),
                                   keypoints=keypoints)
    for index, width in enumerate((30, 40)):
        sample = dataset[index]
        assert sample["images"].shape == (3, 64, 32)
        assert sample["keypoints"].dtype == torch.float32
        expected = keypoints[items[index][0]] * np.array([32 / width, 64 / 70, 1], np.float32)
        np.testing.assert_allclose(sample["keypoints"].numpy(), expected, atol=1e-4)


def test_missing_keypoints_error_names_the_image_and_the_file(tmp_path):
    items = write_images(tmp_path, [30, 31, 32])
    keypoints = {items[0][0]: frontal_keypoints(30, 70), items[2][0]: frontal_keypoints(32, 70)}
    transform = build_joint_transforms(make_cfg(overrides=TEST_TRANSFORM_CFG), is_train=False)
    with pytest.raises(MissingKeypointsError, match=r"img1\.png in kp\.json \(1 of 3 images have none\)"):
        CrossModalityDataset(items, transform, keypoints=keypoints, missing="error", keypoints_file="kp.json")


def test_mean_pose_fallback_is_counted_logged_and_scaled_to_the_image(tmp_path, caplog):
    items = write_images(tmp_path, [30, 31, 50])
    keypoints = {items[0][0]: frontal_keypoints(30, 70)}
    transform = build_joint_transforms(make_cfg(overrides=TEST_TRANSFORM_CFG), is_train=False)
    with caplog.at_level(logging.WARNING):
        dataset = CrossModalityDataset(items, transform, keypoints=keypoints, missing="mean_pose",
                                       keypoints_file="kp.json", mean_pose_score=0.5)
    assert dataset.num_mean_pose == 2
    assert "2 of 3 images have no keypoints in kp.json" in caplog.text
    # The mean pose is placed in each image's own pixels, then resized with it to 32 x 64.
    expected = np.stack([MEAN_POSE[:, 0] * 32, MEAN_POSE[:, 1] * 64, np.full(17, 0.5)], axis=1)
    for index in (1, 2):
        np.testing.assert_allclose(dataset[index]["keypoints"].numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(dataset[0]["keypoints"].numpy(), keypoints[items[0][0]] * [32 / 30, 64 / 70, 1],
                               atol=1e-4)


def test_bad_keypoint_arguments_are_refused(tmp_path):
    items = write_images(tmp_path, [30])
    keypoints = {items[0][0]: frontal_keypoints(30, 70)}
    cfg = make_cfg(overrides=TEST_TRANSFORM_CFG)
    joint = build_joint_transforms(cfg, is_train=False)
    with pytest.raises(ValueError, match="INPUT.KEYPOINTS.MISSING must be one of"):
        CrossModalityDataset(items, joint, keypoints=keypoints, missing="skip")
    with pytest.raises(TypeError, match="needs a joint image\\+keypoint transform"):
        CrossModalityDataset(items, lambda image: image, keypoints=keypoints)
    with pytest.raises(ValueError, match="MEAN_POSE_SCORE must lie in"):
        CrossModalityDataset(items, joint, keypoints=keypoints, mean_pose_score=1.5)
    with pytest.raises(ValueError, match=r"expected shape \(17, 3\), got \(16, 3\)"):
        CrossModalityDataset(items, joint, keypoints={items[0][0]: np.zeros((16, 3))})
