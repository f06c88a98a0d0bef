"""Tests of g2da_plugin/evaluation/sysu_protocol.py on tiny fake SYSU-MM01 / RegDB trees."""

import os
import random
from pathlib import Path

import numpy as np
import pytest

from g2da_plugin.evaluation import sysu_protocol as protocol

# Fake SYSU-MM01 layout: {camera: {pid: number of images}}. Identity 2 is not a test id;
# identity 3 has no cam2 / cam6 folder, identity 12 no cam4 / cam5 folder.
_LAYOUT = {
    1: {1: 3, 2: 2, 3: 1, 12: 4},
    2: {1: 2, 2: 3, 12: 12},
    3: {1: 2, 3: 3, 12: 1},
    4: {1: 5, 3: 5},
    5: {1: 4, 3: 2},
    6: {1: 3, 2: 2},
}
_TEST_IDS_LINE = "12,3,1"  # the release's format: one comma-separated line, any order


@pytest.fixture
def sysu_root(tmp_path):
    root = tmp_path / "SYSU-MM01"
    for cam, identities in _LAYOUT.items():
        for pid, count in identities.items():
            folder = root / f"cam{cam}" / f"{pid:04d}"
            folder.mkdir(parents=True)
            # created in reverse order so that a missing sort would show
            for index in reversed(range(1, count + 1)):
                (folder / f"{index:04d}.jpg").touch()
    (root / "exp").mkdir()
    (root / "exp" / "test_id.txt").write_text(_TEST_IDS_LINE + "\n")
    return str(root)


def _community_gallery(data_path, mode, trial):
    """The community draw as the protocol specifies it: random.seed(trial), ids ascending, cameras
    in order, random.choice over the sorted listing of each existing folder."""
    random.seed(trial)
    rgb_cameras = ["cam1", "cam2", "cam4", "cam5"] if mode == "all" else ["cam1", "cam2"]
    with open(os.path.join(data_path, "exp/test_id.txt")) as file:
        ids = file.read().splitlines()
        ids = [int(y) for y in ids[0].split(",")]
        ids = ["%04d" % x for x in ids]
    files_rgb = []
    for pid in sorted(ids):
        for cam in rgb_cameras:
            img_dir = os.path.join(data_path, cam, pid)
            if os.path.isdir(img_dir):
                new_files = sorted([img_dir + "/" + i for i in os.listdir(img_dir)])
                files_rgb.append(random.choice(new_files))
    return [(p, int(p[-13:-9]), int(p[-15])) for p in files_rgb]


def test_private_random_instance_matches_seeded_module_functions():
    population = list(range(37))
    for trial in range(10):
        random.seed(trial)
        expected = [random.choice(population) for _ in range(20)] + [
            random.sample(population, 10)]
        rng = random.Random(trial)
        got = [rng.choice(population) for _ in range(20)] + [rng.sample(population, 10)]
        assert got == expected


@pytest.mark.parametrize("mode", ["all", "indoor"])
@pytest.mark.parametrize("trial", range(10))
def test_single_shot_gallery_is_the_community_draw(sysu_root, mode, trial):
    assert protocol.sysu_gallery(sysu_root, mode=mode, trial=trial) == _community_gallery(
        sysu_root, mode, trial)


def test_gallery_cameras_and_missing_folders(sysu_root):
    gallery = protocol.sysu_gallery(sysu_root, mode="all", trial=0)
    # one image per existing (test id, RGB camera) folder, ids ascending then cameras in order
    assert [(pid, cam) for _, pid, cam in gallery] == [
        (1, 1), (1, 2), (1, 4), (1, 5), (3, 1), (3, 4), (3, 5), (12, 1), (12, 2)]
    indoor = protocol.sysu_gallery(sysu_root, mode="indoor", trial=0)
    assert [(pid, cam) for _, pid, cam in indoor] == [(1, 1), (1, 2), (3, 1), (12, 1), (12, 2)]
    for path, pid, cam in gallery:
        assert os.path.dirname(path) == os.path.join(sysu_root, f"cam{cam}", f"{pid:04d}")
        assert os.path.isfile(path)


def test_gallery_draw_changes_with_trial_and_leaves_global_random_alone(sysu_root):
    random.seed(123)
    state = random.getstate()
    draws = {tuple(protocol.sysu_gallery(sysu_root, trial=t)) for t in range(10)}
    assert len(draws) > 1
    assert random.getstate() == state


def test_multi_shot_gallery(sysu_root):
    gallery = protocol.sysu_gallery(sysu_root, mode="all", shots=10, trial=4)
    # the plug-in's convention: same loop, rng.sample(files, min(10, len(files)))
    rng = random.Random(4)
    expected = []
    for pid in (1, 3, 12):
        for cam in (1, 2, 4, 5):
            count = _LAYOUT[cam].get(pid)
            if count is None:
                continue
            folder = os.path.join(sysu_root, f"cam{cam}", f"{pid:04d}")
            names = [f"{i:04d}.jpg" for i in range(1, count + 1)]
            expected += [(os.path.join(folder, n), pid, cam)
                         for n in rng.sample(names, min(10, count))]
    assert gallery == expected
    # folders with fewer than 10 images give all of them; the 12-image folder gives 10
    per_folder = {}
    for path, pid, cam in gallery:
        per_folder.setdefault((pid, cam), set()).add(path)
    assert {key: len(paths) for key, paths in per_folder.items()} == {
        (pid, cam): min(10, _LAYOUT[cam][pid])
        for cam in (1, 2, 4, 5) for pid in (1, 3, 12) if pid in _LAYOUT[cam]}


def test_query_is_every_ir_image_in_order(sysu_root):
    queries = protocol.sysu_query(sysu_root, mode="all")
    expected = []
    for pid in (1, 3, 12):
        for cam in (3, 6):
            for index in range(1, _LAYOUT[cam].get(pid, 0) + 1):
                path = os.path.join(sysu_root, f"cam{cam}", f"{pid:04d}", f"{index:04d}.jpg")
                expected.append((path, pid, cam))
    assert queries == expected
    assert protocol.sysu_query(sysu_root, mode="indoor") == expected


def test_test_ids_accept_whitespace_and_several_lines(sysu_root):
    before = protocol.sysu_gallery(sysu_root, trial=2)
    Path(sysu_root, "exp", "test_id.txt").write_text("3\n12 ,\n 1\n")
    assert protocol.read_sysu_ids(sysu_root) == [1, 3, 12]
    assert protocol.sysu_gallery(sysu_root, trial=2) == before


def test_numpy_integer_trial_is_accepted(sysu_root):
    assert protocol.sysu_gallery(sysu_root, trial=np.int64(3)) == protocol.sysu_gallery(
        sysu_root, trial=3)


def test_sysu_errors(sysu_root, tmp_path):
    missing_root = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        protocol.sysu_gallery(missing_root)
    os.remove(os.path.join(sysu_root, "exp", "test_id.txt"))
    with pytest.raises(FileNotFoundError, match=r"exp.test_id\.txt"):
        protocol.sysu_query(sysu_root)
    with pytest.raises(ValueError, match="mode"):
        protocol.sysu_gallery(sysu_root, mode="outdoor")
    with pytest.raises(ValueError, match="mode"):
        protocol.sysu_query(sysu_root, mode="outdoor")
    with pytest.raises(ValueError, match="shots"):
        protocol.sysu_gallery(sysu_root, shots=0)


def test_malformed_test_id_file(sysu_root):
    id_file = Path(sysu_root, "exp", "test_id.txt")
    id_file.write_text("1,x,3")
    with pytest.raises(ValueError, match="test_id.txt"):
        protocol.sysu_gallery(sysu_root)
    id_file.write_text("1,3,1")
    with pytest.raises(ValueError, match="more than once"):
        protocol.sysu_gallery(sysu_root)


def test_empty_gallery_folder_raises(sysu_root):
    empty = Path(sysu_root, "cam4", "0012")
    empty.mkdir()
    with pytest.raises(ValueError, match=r"cam4.0012 is empty"):
        protocol.sysu_gallery(sysu_root)


# --------------------------------------------------------------------------------------------
# RegDB lists
# --------------------------------------------------------------------------------------------
def _write_regdb_list(root, name, text):
    (root / "idx").mkdir(exist_ok=True)
    (root / "idx" / name).write_text(text)


def test_regdb_split_parses_lines(tmp_path):
    _write_regdb_list(tmp_path, "test_visible_3.txt",
                      "Visible/1/female_back_v_06166_1.bmp 0\n\nVisible/2/male_x.bmp 1\n")
    assert protocol.regdb_split(str(tmp_path), np.int64(3)) == [
        (os.path.join(str(tmp_path), "Visible/1/female_back_v_06166_1.bmp"), 0),
        (os.path.join(str(tmp_path), "Visible/2/male_x.bmp"), 1),
    ]
    _write_regdb_list(tmp_path, "train_thermal_10.txt", "Thermal/5/a.bmp 4\n")
    assert protocol.regdb_split(str(tmp_path), 10, split="train", modality="thermal") == [
        (os.path.join(str(tmp_path), "Thermal/5/a.bmp"), 4)]


def test_regdb_split_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"idx.test_thermal_2\.txt"):
        protocol.regdb_split(str(tmp_path), 2, modality="thermal")
    _write_regdb_list(tmp_path, "test_visible_1.txt", "a.bmp 0\nb.bmp\n")
    with pytest.raises(ValueError, match=r"test_visible_1\.txt, line 2"):
        protocol.regdb_split(str(tmp_path), 1)
    _write_regdb_list(tmp_path, "test_visible_1.txt", "a.bmp zero\n")
    with pytest.raises(ValueError, match="line 1"):
        protocol.regdb_split(str(tmp_path), 1)
    for trial in (0, 11, "1"):
        with pytest.raises(ValueError, match="trial"):
            protocol.regdb_split(str(tmp_path), trial)
    with pytest.raises(ValueError, match="split"):
        protocol.regdb_split(str(tmp_path), 1, split="val")
    with pytest.raises(ValueError, match="modality"):
        protocol.regdb_split(str(tmp_path), 1, modality="infrared")

