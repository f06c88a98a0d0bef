"""The dataset check: every image decodes, keypoints are complete and finite, counts beside the
releases' numbers."""

import json
import shutil

import pytest

from g2da_plugin.data.check import PUBLISHED, check_dataset, dataset_counts
from g2da_plugin.data.build import load_dataset
from g2da_plugin.data.synthetic import make_synthetic_regdb
from tests.helpers import make_cfg


@pytest.fixture
def data(synthetic_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    return root


def test_counts_of_the_tiny_sysu_by_hand(synthetic_root):
    dataset = load_dataset(make_cfg(overrides={"DATASETS.ROOT": synthetic_root}), "SYSUMM01_CM")
    counts = dataset_counts(dataset)
    assert counts["training identities"] == 4  # 3 train + 1 val ids
    assert counts["training RGB images"] + counts["training IR images"] == len(dataset.train)
    assert counts["IR queries"] == len(dataset.query) and counts["test identities"] == 2
    per_camera = sum(v for k, v in counts.items() if "images of camera" in k)
    assert per_camera == len(dataset.train) + len(dataset.query) + len(dataset.gallery)


def test_a_clean_dataset_is_flagged_only_for_its_sizes(data):
    report, problems = check_dataset(make_cfg(overrides={"DATASETS.ROOT": str(data)}), "SYSUMM01_CM", workers=2)
    assert "0 that do not decode" in report and "every image has finite keypoints" in report
    assert sorted(p.split(":")[0] for p in problems) == sorted(PUBLISHED["SYSUMM01_CM"])  # a tiny dataset
    assert "| training identities" in report and "DIFFERS" in report


def test_broken_images_and_keypoints_are_flagged(data):
    sysu = data / "SYSU-MM01"
    image = sorted((sysu / "cam1" / "0001").iterdir())[0]
    image.write_bytes(image.read_bytes()[:200])
    document = json.loads((sysu / "keypoints.json").read_text())
    missing = sorted(document["images"])[-1]
    del document["images"][missing]
    (sysu / "keypoints.json").write_text(json.dumps(document))
    report, problems = check_dataset(make_cfg(overrides={"DATASETS.ROOT": str(data)}), "SYSUMM01_CM", workers=2)
    assert "1 that do not decode" in report
    assert any(p.startswith(f"{image}: ") for p in problems)
    assert any("1 of" in p and "have no keypoints" in p and missing.split("/")[-1] in p for p in problems)


def test_regdb_test_counts_match_the_lists(tmp_path):
    make_synthetic_regdb(str(tmp_path), num_ids=6, images_per_modality=2, seed=0)
    dataset = load_dataset(make_cfg(overrides={"DATASETS.ROOT": str(tmp_path)}), "RegDB_CM")
    counts = dataset_counts(dataset)
    assert counts["test visible images"] == len(dataset.query) == counts["test thermal images"]
    assert counts["RGB images of camera 1"] == counts["training RGB images"] + len(dataset.query)
