"""The registered SYSU-MM01 and RegDB loaders on the synthetic data, and their errors."""

import os
import shutil

import pytest

import g2da_plugin  # noqa: F401
from fastreid.data.datasets import DATASET_REGISTRY
from g2da_plugin.data import CrossModalityDataset
from g2da_plugin.data.datasets import IR, RGB
from g2da_plugin.data.synthetic import make_synthetic_regdb, make_synthetic_sysu


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    make_synthetic_sysu(str(root), num_train_ids=3, num_val_ids=2, num_test_ids=3, images_per_cam=(1, 2), seed=1)
    make_synthetic_regdb(str(root), num_ids=6, images_per_modality=2, seed=1)
    return str(root)


def ids_in(path):
    return {int(t) for t in open(path).read().replace(",", " ").split()}


def test_names_do_not_clash_with_fastreid():
    assert "SYSU_mm" in DATASET_REGISTRY._obj_map
    assert {"SYSUMM01_CM", "RegDB_CM"} <= set(DATASET_REGISTRY._obj_map)


def test_sysu_train_is_train_plus_val_both_modalities(root):
    sysu = os.path.join(root, "SYSU-MM01")
    data = DATASET_REGISTRY.get("SYSUMM01_CM")(root=root)
    expected_ids = ids_in(os.path.join(sysu, "exp", "train_id.txt")) | ids_in(os.path.join(sysu, "exp", "val_id.txt"))
    on_disk = sorted(
        os.path.join(sysu, f"cam{c}", f"{pid:04d}", f)
        for c in range(1, 7) for pid in expected_ids
        if os.path.isdir(os.path.join(sysu, f"cam{c}", f"{pid:04d}"))
        for f in os.listdir(os.path.join(sysu, f"cam{c}", f"{pid:04d}")))
    assert sorted(path for path, *_ in data.train) == on_disk
    assert {int(pid.split("_")[1]) for _, pid, _, _ in data.train} == expected_ids
    for path, _, camid, modality in data.train:
        cam = int(path.split(os.sep)[-3][3:])
        assert camid == f"sysumm01_{cam}"
        assert modality == (IR if cam in (3, 6) else RGB)


def test_sysu_test_queries_are_ir_and_gallery_rgb_of_test_ids(root):
    data = DATASET_REGISTRY.get("SYSUMM01_CM")(root=root)
    test_ids = ids_in(os.path.join(root, "SYSU-MM01", "exp", "test_id.txt"))
    assert {pid for _, pid, _, _ in data.query} == test_ids
    assert {cam for _, _, cam, _ in data.query} <= {3, 6} and {m for *_, m in data.query} == {IR}
    assert {cam for _, _, cam, _ in data.gallery} <= {1, 2, 4, 5} and {m for *_, m in data.gallery} == {RGB}


def test_samples_carry_modality_and_three_channels(root):
    data = DATASET_REGISTRY.get("SYSUMM01_CM")(root=root)
    dataset = CrossModalityDataset(data.query[:1] + data.gallery[:1], transform=None, relabel=False)
    ir, rgb = dataset[0], dataset[1]
    assert ir["modalities"] == IR and rgb["modalities"] == RGB
    assert ir["images"].mode == "RGB" and rgb["images"].mode == "RGB"


def test_regdb_trial_split(root):
    for trial in (1, 7):
        data = DATASET_REGISTRY.get("RegDB_CM")(root=root, trial=trial)
        train_ids = {int(pid.split("_")[1]) for _, pid, _, _ in data.train}
        test_ids = {pid for _, pid, _, _ in data.query}
        assert len(train_ids) == len(test_ids) == 3 and not train_ids & test_ids
        assert {m for *_, m in data.train} == {RGB, IR}
        assert {m for *_, m in data.query} == {RGB} and {m for *_, m in data.gallery} == {IR}
        assert {pid for _, pid, _, _ in data.gallery} == test_ids
    with pytest.raises(ValueError, match="REGDB_TRIAL"):
        DATASET_REGISTRY.get("RegDB_CM")(root=root, trial=11)


def test_missing_root_names_the_expected_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "SYSU-MM01")):
        DATASET_REGISTRY.get("SYSUMM01_CM")(root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "RegDB")):
        DATASET_REGISTRY.get("RegDB_CM")(root=str(tmp_path))


def test_missing_split_file_and_image_are_named(root, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(root, broken)
    os.remove(broken / "SYSU-MM01" / "exp" / "val_id.txt")
    with pytest.raises(FileNotFoundError, match="val_id.txt"):
        DATASET_REGISTRY.get("SYSUMM01_CM")(root=str(broken))

    split = broken / "RegDB" / "idx" / "test_thermal_2.txt"
    first_image = split.read_text().split()[0]
    os.remove(broken / "RegDB" / first_image)
    with pytest.raises(FileNotFoundError, match=first_image):
        DATASET_REGISTRY.get("RegDB_CM")(root=str(broken), trial=2)
    split.write_text("just-one-field\n")
    with pytest.raises(ValueError, match="test_thermal_2.txt, line 1"):
        DATASET_REGISTRY.get("RegDB_CM")(root=str(broken), trial=2)


@pytest.mark.parametrize("with_keypoints", [False, True])
def test_grayscale_augmentation_removes_the_hue_of_rgb_training_images(root, with_keypoints):
    from fastreid.config import get_cfg
    from g2da_plugin.config import add_g2da_config
    from g2da_plugin.data.build import build_cross_modality_train_set

    cfg = add_g2da_config(get_cfg())
    cfg.DATASETS.ROOT = root
    cfg.DATASETS.NAMES = ("SYSUMM01_CM",)
    cfg.INPUT.SIZE_TRAIN = [32, 16]
    cfg.INPUT.KEYPOINTS.ENABLED = with_keypoints
    rgb_index = next(i for i, item in enumerate(DATASET_REGISTRY.get("SYSUMM01_CM")(root=root).train) if item[3] == RGB)

    def channels_equal(prob):
        cfg.INPUT.GRAYSCALE.ENABLED = prob > 0
        cfg.INPUT.GRAYSCALE.PROB = prob
        image = build_cross_modality_train_set(cfg)[rgb_index]["images"]
        return bool((image[0] == image[1]).all() and (image[1] == image[2]).all())

    assert channels_equal(1.0)
    assert not channels_equal(0.0)
