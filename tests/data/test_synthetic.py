"""The synthetic SYSU-MM01 / RegDB generator: layouts the real loaders expect, exact keypoints,
modality properties, determinism, idempotence, and an identity signal that crosses cameras."""

import importlib.util
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import loadmat

from g2da_plugin.data.keypoints_io import load_keypoints, save_keypoints
from g2da_plugin.data.synthetic import (
    MARKER_FILENAME, make_synthetic_regdb, make_synthetic_sysu, render_regdb_sample, render_sysu_sample,
)
from g2da_plugin.data.synthetic.colours import WARDROBE, WARDROBE_JITTER
from g2da_plugin.data.synthetic.identities import draw_identity
from g2da_plugin.data.synthetic.materials import BACKGROUND, OCCLUDER, TOP_A
from g2da_plugin.data.synthetic.random_streams import random_stream
from g2da_plugin.evaluation import sysu_gallery

REPO = Path(__file__).resolve().parents[2]

# Written out here rather than imported, so a wrong order in the module is caught.
COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
              "left_knee", "right_knee", "left_ankle", "right_ankle"]
RGB_CAMS, IR_CAMS = {"cam1", "cam2", "cam4", "cam5"}, {"cam3", "cam6"}
SYSU_SIZES = dict(num_train_ids=3, num_val_ids=1, num_test_ids=2, images_per_cam=(1, 3))
REGDB_SIZES = dict(num_ids=4, images_per_modality=2)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    make_synthetic_sysu(root, seed=0, **SYSU_SIZES)
    make_synthetic_regdb(root, seed=0, **REGDB_SIZES)
    return root


def image_files(folder):
    """Image paths relative to ``folder``, POSIX separators."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.suffix in (".jpg", ".bmp"))


def all_files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


def read_ids(path):
    lines = Path(path).read_text().splitlines()
    assert len(lines) == 1
    return [int(token) for token in lines[0].split(",")]


def test_sysu_split_files_partition_the_ids(root):
    splits = {name: read_ids(root / "SYSU-MM01" / "exp" / f"{name}_id.txt") for name in ("train", "val", "test")}
    assert [len(splits[name]) for name in ("train", "val", "test")] == [3, 1, 2]
    every = splits["train"] + splits["val"] + splits["test"]
    assert sorted(every) == [1, 2, 3, 4, 5, 6]


def test_sysu_layout(root):
    dataset = root / "SYSU-MM01"
    cams = sorted(p.name for p in dataset.iterdir() if p.is_dir() and p.name != "exp")
    assert set(cams) <= RGB_CAMS | IR_CAMS
    cameras_of = {}
    sizes = {}
    for cam in cams:
        for pid_dir in (dataset / cam).iterdir():
            assert re.fullmatch(r"\d{4}", pid_dir.name)
            pid = int(pid_dir.name)
            assert 1 <= pid <= 6
            cameras_of.setdefault(pid, set()).add(cam)
            names = sorted(p.name for p in pid_dir.iterdir())
            assert 1 <= len(names) <= 3
            assert names == [f"{i:04d}.jpg" for i in range(1, len(names) + 1)]
            for name in names:
                with Image.open(pid_dir / name) as image:
                    assert image.format == "JPEG"
                    assert image.mode == ("L" if cam in IR_CAMS else "RGB")
                    sizes.setdefault(cam, set()).add(image.size)
    assert sorted(cameras_of) == [1, 2, 3, 4, 5, 6]
    for pid, cameras in cameras_of.items():
        assert cameras & {"cam1", "cam2"} and cameras & {"cam4", "cam5"} and cameras & IR_CAMS, (pid, cameras)
    assert all(len(s) == 1 for s in sizes.values())        # one image size per camera ...
    assert len(set().union(*sizes.values())) > 1            # ... but not the same for all cameras


def test_sysu_release_gallery_draws_cover_every_folder(root):
    """exp/rand_perm_cam.mat as the release's MATLAB code indexes it, rand_perm_cam{c}{p}(t, :): per camera and
    identity, 10 rows, each a permutation of the numbers of the folder's images (none where it has no folder)."""
    dataset = root / "SYSU-MM01"
    table = loadmat(dataset / "exp" / "rand_perm_cam.mat")["rand_perm_cam"]
    assert table.shape == (6, 1)
    shuffled = 0
    for cam in range(1, 7):
        identities = table[cam - 1][0]
        assert identities.shape == (6, 1)
        for pid in range(1, 7):
            folder = dataset / f"cam{cam}" / f"{pid:04d}"
            count = len(list(folder.iterdir())) if folder.is_dir() else 0
            rows = identities[pid - 1][0]
            assert rows.shape == (10, count), (cam, pid)
            assert all(sorted(row) == list(range(1, count + 1)) for row in rows), (cam, pid)
            shuffled += len({tuple(row) for row in rows}) > 1
    assert shuffled > 0  # the trials draw different images
    gallery = sysu_gallery(str(dataset), mode="all", shots=3, trial=9, source="release")
    assert gallery and all(Path(path).is_file() for path, _, _ in gallery)


def test_regdb_layout_and_trials(root):
    dataset = root / "RegDB"
    splits = set()
    for trial in range(1, 11):
        ids = {}
        for split in ("train", "test"):
            for modality, prefix in (("visible", "v"), ("thermal", "t")):
                labels = []
                for line in (dataset / "idx" / f"{split}_{modality}_{trial}.txt").read_text().splitlines():
                    relative, label = line.split(" ")
                    expected = rf"{modality.capitalize()}/{label}/{prefix}_{int(label):04d}_0[12]\.bmp"
                    assert re.fullmatch(expected, relative)
                    assert (dataset / relative).is_file()
                    labels.append(int(label))
                assert set(Counter(labels).values()) == {2}   # images_per_modality lines per id
                ids[split, modality] = set(labels)
        assert ids["train", "visible"] == ids["train", "thermal"]
        assert ids["test", "visible"] == ids["test", "thermal"]
        assert len(ids["train", "visible"]) == 2 and ids["train", "visible"] | ids["test", "visible"] == {1, 2, 3, 4}
        splits.add(frozenset(ids["train", "visible"]))
    assert len(splits) > 1
    for relative in image_files(dataset):
        with Image.open(dataset / relative) as image:
            assert image.format == "BMP" and image.size == (64, 128)
            assert image.mode == ("RGB" if relative.startswith("Visible/") else "L")


@pytest.mark.parametrize("name", ["SYSU-MM01", "RegDB"])
def test_keypoints_file_covers_every_image(root, name):
    dataset = root / name
    raw = json.loads((dataset / "keypoints.json").read_text())
    assert (raw["format"], raw["version"], raw["source"]) == ("g2da-keypoints", 1, "synthetic-ground-truth")
    assert raw["keypoint_names"] == COCO_NAMES
    keypoints = load_keypoints(dataset / "keypoints.json")
    assert sorted(keypoints) == image_files(dataset)
    for relative, points in keypoints.items():
        assert points.shape == (17, 3)
        assert set(np.unique(points[:, 2])) <= {0.0, 1.0}
        with Image.open(dataset / relative) as image:
            width, height = image.size
        x, y, v = points.T
        inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
        assert not (v.astype(bool) & ~inside).any(), relative   # visible implies inside the image
        assert v[5:].sum() >= 4, relative                        # the body is mostly in view


def test_ir_images_have_no_colour_and_rgb_images_do(root):
    for dataset in (root / "SYSU-MM01", root / "RegDB"):
        for relative in image_files(dataset):
            with Image.open(dataset / relative) as image:
                pixels = np.asarray(image.convert("RGB"), dtype=int)
                infrared = image.mode == "L"
            spread = pixels.max(axis=2) - pixels.min(axis=2)
            if infrared:
                assert relative.split("/")[0] in IR_CAMS | {"Thermal"}
                assert spread.max() == 0
            else:
                assert spread.mean() > 10, relative


def sampled_renders():
    for pid in range(1, 31):
        for cam in sorted(RGB_CAMS | IR_CAMS):
            yield render_sysu_sample(0, pid, cam, 1)
        for modality in ("Visible", "Thermal"):
            yield render_regdb_sample(0, pid, modality, 1)


def test_keypoints_lie_on_the_drawn_person_unless_flagged():
    seen = {"occluded": 0, "hidden face": 0, "outside": 0}
    for sample in sampled_renders():
        height, width = sample.labels.shape
        for k, (x, y, v) in enumerate(sample.keypoints):
            if not (0 <= x < width and 0 <= y < height):
                assert v == 0
                seen["outside"] += 1
                continue
            label = sample.labels[math.floor(y), math.floor(x)]
            if v == 1:
                assert label not in (BACKGROUND, OCCLUDER), (COCO_NAMES[k], label)
            elif k >= 5:   # body joints are only hidden by occluders
                assert label == OCCLUDER, COCO_NAMES[k]
                seen["occluded"] += 1
            else:
                seen["hidden face"] += 1
    assert all(count > 0 for count in seen.values()), seen   # every case was exercised


def test_person_left_is_on_image_right_when_facing_the_camera():
    """Both ears visible means a frontal or rear view; the nose tells which."""
    seen = {"front": 0, "back": 0}
    for sample in sampled_renders():
        (nose_v, ears_v), shoulders_x = (sample.keypoints[0, 2], sample.keypoints[3:5, 2]), sample.keypoints[5:7, 0]
        if ears_v.all():
            view = "front" if nose_v else "back"
            seen[view] += 1
            left_minus_right = shoulders_x[0] - shoulders_x[1]
            assert left_minus_right > 0 if view == "front" else left_minus_right < 0
    assert seen["front"] > 5 and seen["back"] > 5, seen


def block_means(pixels, size=4):
    """Means of size x size blocks: JPEG's error on sensor noise averages out, content does not."""
    height, width = pixels.shape[0] // size * size, pixels.shape[1] // size * size
    pixels = pixels[:height, :width].reshape(height // size, size, width // size, size, -1)
    return pixels.mean(axis=(1, 3))


def test_files_on_disk_are_the_renders(root):
    """Ties the render-level tests to the written files: BMP exactly, JPEG up to compression."""
    regdb = load_keypoints(root / "RegDB" / "keypoints.json")
    for relative in ("Visible/3/v_0003_02.bmp", "Thermal/3/t_0003_02.bmp"):
        sample = render_regdb_sample(0, 3, relative.split("/")[0], 2)
        with Image.open(root / "RegDB" / relative) as image:
            assert np.array_equal(np.asarray(image), np.asarray(sample.image))
        np.testing.assert_allclose(regdb[relative], sample.keypoints, atol=1e-3)
    sysu = load_keypoints(root / "SYSU-MM01" / "keypoints.json")
    for relative in sorted(sysu)[:6]:
        cam, pid, name = relative.split("/")
        sample = render_sysu_sample(0, int(pid), cam, int(name[:4]))
        with Image.open(root / "SYSU-MM01" / relative) as image:
            written, rendered = np.asarray(image, dtype=float), np.asarray(sample.image, dtype=float)
        difference = block_means(written) - block_means(rendered)
        assert np.abs(difference).mean() < 2.5   # JPEG error; another image of the person differs by ~15+
        np.testing.assert_allclose(sysu[relative], sample.keypoints, atol=1e-3)


def test_paired_regdb_images_share_the_pose():
    visible, thermal = render_regdb_sample(0, 2, "Visible", 1), render_regdb_sample(0, 2, "Thermal", 1)
    np.testing.assert_array_equal(visible.keypoints, thermal.keypoints)
    assert visible.image.mode == "RGB" and thermal.image.mode == "L"


def test_same_seed_gives_identical_files_and_another_seed_differs(root, tmp_path):
    again = tmp_path / "again"
    make_synthetic_sysu(again, seed=0, **SYSU_SIZES)
    make_synthetic_regdb(again, seed=0, **REGDB_SIZES)
    for name in ("SYSU-MM01", "RegDB"):
        assert all_files(again / name) == all_files(root / name)
    other = Path(make_synthetic_regdb(tmp_path / "other", seed=1, **REGDB_SIZES))
    first, second = all_files(root / "RegDB"), all_files(other)
    changed = [p for p in image_files(other) if first[p] != second[p]]
    assert len(changed) == len(image_files(other))
    assert first["keypoints.json"] != second["keypoints.json"]


def modification_times(folder):
    return {p: p.stat().st_mtime_ns for p in Path(folder).rglob("*")}


def test_second_call_reuses_the_dataset_and_new_parameters_rebuild_it(tmp_path):
    path = make_synthetic_regdb(tmp_path, seed=0, num_ids=2, images_per_modality=1)
    before = modification_times(path)
    assert make_synthetic_regdb(tmp_path, seed=0, num_ids=2, images_per_modality=1) == path
    assert modification_times(path) == before
    assert make_synthetic_regdb(tmp_path, seed=0, num_ids=2, images_per_modality=2) == path
    assert len(image_files(path)) == 2 * 2 * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["RegDB"]   # no temporary folder left behind


def test_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    real = tmp_path / "SYSU-MM01" / "cam1" / "0001"
    real.mkdir(parents=True)
    (real / "0001.jpg").write_bytes(b"precious")
    with pytest.raises(FileExistsError, match="SYSU-MM01"):
        make_synthetic_sysu(tmp_path, num_train_ids=1, num_val_ids=1, num_test_ids=1)
    assert (real / "0001.jpg").read_bytes() == b"precious"


def valid_document():
    return {"format": "g2da-keypoints", "version": 1, "source": "test", "keypoint_names": list(COCO_NAMES),
            "images": {"cam1/0001/0001.jpg": [[10.5, 20.5, 1.0]] * 17}}


def _set_first_image(document, rows):
    document["images"]["cam1/0001/0001.jpg"] = rows


@pytest.mark.parametrize("break_it, complaint", [
    (None, "not valid JSON"),
    (lambda d: d.update(format="coco"), '"format"'),
    (lambda d: d.update(version=2), '"version"'),
    (lambda d: d.update(keypoint_names=COCO_NAMES[1::-1] + COCO_NAMES[2:]), '"keypoint_names"'),
    (lambda d: d.update(images=[]), '"images"'),
    (lambda d: _set_first_image(d, [[1.0, 2.0, 1.0]] * 16), "17 rows"),
    (lambda d: _set_first_image(d, [[1.0, 2.0, 1.5]] * 17), "[0, 1]"),
    (lambda d: _set_first_image(d, [["1", 2.0, 1.0]] * 17), "numbers"),
    (lambda d: _set_first_image(d, [[1.0, 2.0]] + [[1.0, 2.0, 1.0]] * 16), "unequal"),
    (lambda d: d["images"].update({"C:\\img.jpg": [[1.0, 2.0, 1.0]] * 17}), "relative POSIX"),
])
def test_load_keypoints_rejects_malformed_files(tmp_path, break_it, complaint):
    path = tmp_path / "keypoints.json"
    if break_it is None:
        path.write_text('{"format": "g2da-keypoints", ')
    else:
        document = valid_document()
        break_it(document)
        path.write_text(json.dumps(document))
    with pytest.raises(ValueError) as error:
        load_keypoints(path)
    assert str(path) in str(error.value) and complaint in str(error.value)


def test_valid_document_loads(tmp_path):
    path = tmp_path / "keypoints.json"
    path.write_text(json.dumps(valid_document()))
    assert load_keypoints(path)["cam1/0001/0001.jpg"].shape == (17, 3)


def test_save_keypoints_round_trips_and_replaces_atomically(tmp_path):
    path = tmp_path / "keypoints.json"
    rng = np.random.default_rng(0)
    points = {f"cam{i}/0001/0001.jpg": np.c_[rng.uniform(0, 100, (17, 2)), rng.random(17)] for i in (2, 1)}
    save_keypoints(path, points, source="pose-model-x")
    loaded = load_keypoints(path)
    assert sorted(loaded) == sorted(points)
    for key in points:
        np.testing.assert_allclose(loaded[key], points[key], atol=6e-4)
    assert json.loads(path.read_text())["source"] == "pose-model-x"
    with pytest.raises(ValueError, match="17 rows"):
        save_keypoints(path, {"a.jpg": np.zeros((16, 3))}, source="x")
    assert sorted(load_keypoints(path)) == sorted(points)          # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["keypoints.json"]


def torso_mean(sample):
    """Mean pixel of a box on the chest, between the shoulders and the hips, found by the keypoints."""
    shoulders, hips = sample.keypoints[5:7, :2], sample.keypoints[11:13, :2]
    centre = np.r_[shoulders[:, 0], hips[:, 0]].mean()
    half = max(2.0, 0.25 * abs(shoulders[0, 0] - shoulders[1, 0]))
    top, bottom = shoulders[:, 1].mean(), hips[:, 1].mean()
    pixels = np.asarray(sample.image, dtype=float)[int(top + 0.2 * (bottom - top)):int(bottom),
                                                   int(centre - half):int(centre + half) + 1]
    return pixels.reshape(-1, pixels.shape[2] if pixels.ndim == 3 else 1).mean(axis=0)


@pytest.mark.parametrize("cameras", [("cam1", "cam4"), ("cam2", "cam5"), ("cam3", "cam6")])
def test_identity_shows_across_cameras(cameras):
    """The same person's torso looks more alike in two cameras than two different people's do."""
    pids = range(1, 21)
    first = np.array([torso_mean(render_sysu_sample(0, pid, cameras[0], 1)) for pid in pids])
    second = np.array([torso_mean(render_sysu_sample(0, pid, cameras[1], 1)) for pid in pids])
    distances = np.linalg.norm(first[:, None] - second[None], axis=2)
    same = np.diag(distances).mean()
    different = distances[~np.eye(len(pids), dtype=bool)].mean()
    assert same < 0.7 * different, (same, different)   # ~1.0 if identity did not carry over


def test_command_line_tool_writes_and_describes_the_datasets(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("make_synthetic_data", REPO / "tools" / "make_synthetic_data.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--output", str(tmp_path), "--seed", "3", "--sysu-train-ids", "2", "--sysu-val-ids", "1",
                      "--sysu-test-ids", "1", "--sysu-images-per-cam", "1", "1", "--regdb-ids", "2",
                      "--regdb-images-per-modality", "1"]) == 0
    output = capsys.readouterr().out
    assert str(tmp_path / "SYSU-MM01") in output and str(tmp_path / "RegDB") in output
    assert re.search(r"test: 1 ids, \d+ RGB \+ \d+ IR images", output)
    assert "Visible: 2 ids, 2 images" in output
    marker = json.loads((tmp_path / "RegDB" / MARKER_FILENAME).read_text())
    assert marker["seed"] == 3 and marker["params"] == {"num_ids": 2, "images_per_modality": 1}


def test_clothing_colours_are_shared_so_colour_alone_does_not_identify():
    """96 people, but their top colours fall into the wardrobe's 10 families: every family is worn by
    several people, and each person's colour stays within the jitter of its family."""
    tops = np.array([draw_identity(random_stream(0, "SYSU-MM01", "identity", pid), pid).rgb[TOP_A]
                     for pid in range(1, 97)])
    nearest = np.linalg.norm(tops[:, None] - WARDROBE[None], axis=2)
    family = nearest.argmin(axis=1)
    assert (nearest.min(axis=1) <= math.sqrt(3) * WARDROBE_JITTER + 1e-9).all()
    counts = Counter(family.tolist())
    assert len(counts) == len(WARDROBE) and min(counts.values()) >= 3, counts
