"""LLCM (g2da_plugin/data/datasets/llcm.py) read from a hand-built release tree, its one-line errors, the
synthetic look-alike (g2da_plugin/data/synthetic/llcm.py), and a tiny run through train_net."""

import json
import os
from pathlib import Path

import pytest

from g2da_plugin.config import load_config
from g2da_plugin.data.datasets import IR, LLCM_CM, RGB
from g2da_plugin.data.keypoints_io import load_keypoints
from g2da_plugin.data.synthetic import MARKER_FILENAME, describe_llcm, make_synthetic_llcm
from g2da_plugin.engine.train_net import run as train_net
from g2da_plugin.utils.errors import InputError, MissingInputError
from tests.helpers import CONFIGS, ROOT, TINY_TRAINING, command_line

TRAIN_VIS = ["vis/0002/0002_c04_s1_vis.jpg 0", "vis/0002/0002_c01_s2_vis.jpg 0", "vis/0005/0005_c09_s1_vis.jpg 1"]
TRAIN_NIR = ["nir/0005/0005_c02_s1_nir.jpg 1", "nir/0002/0002_c07_s1_nir.jpg 0"]
#: test_{vis,nir}/cam{c}/{pid:04d}/ folders and their files; 9 is not a test identity, and the
#: release has no near-IR cam3 (the DEEN code never reads one).
TEST_FILES = {
    "test_vis": {(1, 3): ["b.jpg", "a.jpg"], (3, 3): ["c.jpg"], (2, 12): ["d.jpg"], (1, 9): ["x.jpg"]},
    "test_nir": {(2, 3): ["e.jpg"], (1, 12): ["g.jpg", "f.jpg"], (3, 12): ["y.jpg"]},
}


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


@pytest.fixture
def llcm_root(tmp_path):
    llcm = tmp_path / "LLCM"
    (llcm / "idx").mkdir(parents=True)
    for name, lines in (("train_vis.txt", TRAIN_VIS), ("train_nir.txt", TRAIN_NIR)):
        (llcm / "idx" / name).write_text("\n".join(lines) + "\n\n")  # a trailing blank line is allowed
        for line in lines:
            touch(llcm / line.split()[0])
    (llcm / "idx" / "test_id.txt").write_text("12,3\n")
    for folder, files in TEST_FILES.items():
        for (cam, pid), names in files.items():
            for name in names:
                touch(llcm / folder / f"cam{cam}" / f"{pid:04d}" / name)
    return tmp_path


def test_reads_the_release_layout(llcm_root):
    data = LLCM_CM(root=str(llcm_root))
    llcm = os.path.join(str(llcm_root), "LLCM")
    assert data.dataset_root == llcm and data.protocol == "llcm"
    assert data.train == (
        [(os.path.join(llcm, line.split()[0]), f"llcm_{line.split()[1]}", "llcm_rgb", RGB) for line in TRAIN_VIS]
        + [(os.path.join(llcm, line.split()[0]), f"llcm_{line.split()[1]}", "llcm_ir", IR) for line in TRAIN_NIR])

    def image(folder, cam, pid, name, modality):
        return os.path.join(llcm, folder, f"cam{cam}", f"{pid:04d}", name), pid, cam, modality

    # identities ascending, then cameras, then file names sorted
    assert data.query == [image("test_vis", 1, 3, "a.jpg", RGB), image("test_vis", 1, 3, "b.jpg", RGB),
                          image("test_vis", 3, 3, "c.jpg", RGB), image("test_vis", 2, 12, "d.jpg", RGB)]
    assert data.gallery == [image("test_nir", 2, 3, "e.jpg", IR), image("test_nir", 1, 12, "f.jpg", IR),
                            image("test_nir", 1, 12, "g.jpg", IR)]


@pytest.mark.parametrize("break_it, error, message", [
    (lambda llcm: os.rename(llcm, llcm.parent / "elsewhere"), MissingInputError, r"LLCM not found: .*LLCM"),
    (lambda llcm: os.remove(llcm / "idx" / "train_nir.txt"), MissingInputError,
     r"LLCM list file not found: .*idx/train_nir\.txt"),
    (lambda llcm: os.remove(llcm / "idx" / "test_id.txt"), MissingInputError,
     r"LLCM test identity list not found: .*idx/test_id\.txt"),
    (lambda llcm: os.rename(llcm / "test_nir", llcm / "nir_test"), MissingInputError,
     r"LLCM test folder not found: .*LLCM/test_nir$"),
    (lambda llcm: os.remove(llcm / TRAIN_VIS[1].split()[0]), MissingInputError,
     r"LLCM image listed in .*train_vis\.txt not found: .*0002_c01_s2_vis\.jpg$"),
    (lambda llcm: (llcm / "idx" / "train_vis.txt").write_text("vis/0002/0002_c04_s1_vis.jpg\n"), InputError,
     r"train_vis\.txt, line 1: expected 'relative/path label'"),
    (lambda llcm: (llcm / "idx" / "train_nir.txt").write_text("\n"), InputError, r"train_nir\.txt lists no image"),
    (lambda llcm: (llcm / "idx" / "test_id.txt").write_text("12;3\n"), InputError,
     r"test_id\.txt: expected comma-separated identities"),
    (lambda llcm: (llcm / "idx" / "test_id.txt").write_text("12,3,12\n"), InputError,
     r"test_id\.txt lists an identity more than once"),
    (lambda llcm: (llcm / "idx" / "test_id.txt").write_text("7\n"), MissingInputError,
     r"LLCM: no test image under .*test_vis/cam\*/<pid>"),
])
def test_missing_or_malformed_inputs_are_one_line_naming_them(llcm_root, break_it, error, message):
    break_it(llcm_root / "LLCM")
    with pytest.raises(error, match=message) as raised:
        LLCM_CM(root=str(llcm_root))
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("llcm, sysu", [
    ("projects/G2DA/configs/llcm.yml", "projects/G2DA/configs/sysu.yml"),
    ("projects/G2DA/configs/llcm_G2DA.yml", "projects/G2DA/configs/sysu_G2DA.yml"),
    *((f"configs/LLCM/{name}_R50.yml", f"configs/SYSU-MM01/{name}_R50.yml") for name in ("bagtricks", "AGW", "sbs")),
])
def test_configs_are_the_sysu_mm01_ones_on_llcm(llcm, sysu):
    configs = [load_config(os.path.join(ROOT, path)) for path in (llcm, sysu)]
    assert configs[0].DATASETS.NAMES == configs[0].DATASETS.TESTS == ("LLCM_CM",)
    assert configs[0].OUTPUT_DIR.startswith("logs/llcm/")
    for cfg in configs:
        cfg.DATASETS.NAMES = cfg.DATASETS.TESTS = ()
        cfg.OUTPUT_DIR = ""
    assert configs[0] == configs[1]


# ------------------------------------------------------------------------------------------ synthetic LLCM
@pytest.fixture(scope="module")
def synthetic_llcm(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic_llcm")
    make_synthetic_llcm(str(root), num_train_ids=4, num_test_ids=3, images_per_cam=(1, 2), seed=0)
    return root


def test_synthetic_llcm_is_read_by_the_dataset_with_true_keypoints(synthetic_llcm):
    data = LLCM_CM(root=str(synthetic_llcm))
    llcm = Path(data.dataset_root)
    items = data.train + data.query + data.gallery
    on_disk = sorted(p.relative_to(llcm).as_posix() for p in llcm.rglob("*.jpg"))
    assert sorted(Path(path).relative_to(llcm).as_posix() for path, *_ in items) == on_disk
    assert len({pid for _, pid, _, _ in data.train}) == 4
    assert {pid for _, pid, _, _ in data.query} == {pid for _, pid, _, _ in data.gallery}
    assert len({pid for _, pid, _, _ in data.query}) == 3
    assert {cam for _, _, cam, _ in data.gallery} <= {1, 2, 4}  # no near-IR cam3, as in the release
    for pid in {pid for _, pid, _, _ in data.query}:
        # a near-IR and a visible camera that differ: every query keeps a match after the same-camera filter
        vis = {cam for _, p, cam, _ in data.query if p == pid}
        nir = {cam for _, p, cam, _ in data.gallery if p == pid}
        assert any(v != n for v in vis for n in nir), pid
    keypoints = load_keypoints(llcm / "keypoints.json")  # the format SYSU-MM01's and RegDB's use
    assert sorted(keypoints) == on_disk
    assert all(value.shape == (17, 3) for value in keypoints.values())
    marker = json.loads((llcm / MARKER_FILENAME).read_text())
    assert marker["dataset"] == "LLCM" and marker["params"]["num_test_ids"] == 3
    assert describe_llcm(str(llcm))[1].startswith("  test: 3 ids, ")


def test_synthetic_llcm_trains_and_evaluates_both_directions(synthetic_llcm, tmp_path):
    opts = {**TINY_TRAINING, "DATASETS.ROOT": str(synthetic_llcm), "DATASETS.NAMES": ("LLCM_CM",),
            "DATASETS.TESTS": ("LLCM_CM",), "OUTPUT_DIR": str(tmp_path), "SOLVER.MAX_EPOCH": 1,
            "TEST.EVAL_PERIOD": 1, "TEST.LLCM.TRIALS": 2, "INPUT.SIZE_TRAIN": [32, 16], "INPUT.SIZE_TEST": [32, 16]}
    train_net(["--config-file", os.path.join(CONFIGS, "demo.yml"), *command_line(opts)])
    scores = json.load(open(tmp_path / "results.json"))["results"]["LLCM_CM"]
    for setting in ("ir2vis", "vis2ir"):
        assert 0 <= scores[f"{setting}/R1"] <= 100 and 0 < scores[f"{setting}/mAP"] <= 100
        assert f"{setting}/R1_std" in scores
    assert scores["metric"] == pytest.approx((scores["ir2vis/R1"] + scores["ir2vis/mAP"]) / 2)
