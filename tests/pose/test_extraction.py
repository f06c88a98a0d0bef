"""Keypoint extraction (g2da_plugin.pose.extraction): the images of a dataset, the resumable loop
(crash-safe under an exception, a hard kill and SIGTERM: a rerun skips exactly what the file holds
and redoes nothing else), the summary; and tools/extract_keypoints.py end to end with a randomly
initialised HRNet-w32.

A recording stand-in estimator drives the loop: it notes every image file it is asked for, gives
the mean pose scored 0.9 (RGB) or 0.2 (single-channel IR), and dies as told at its N-th image.
"""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from g2da_plugin.data.datasets import IR, RGB
from g2da_plugin.data.keypoint_geometry import mean_pose_keypoints
from g2da_plugin.data.keypoints_io import load_keypoints, save_keypoints
from g2da_plugin.data.images import datasets_of
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.pose import build_estimator, mmpose_compat
from g2da_plugin.pose.extraction import exit_on_sigterm, extract, summarize
from tests.helpers import ROOT

TOOL = os.path.join(ROOT, "tools", "extract_keypoints.py")
SOURCE = "recording-stand-in 1"
IR_CAMERAS = ("cam3", "cam6")


def image_file(image):
    """The stand-in's ``prepare``: the image's file, mode and size (picklable, for loader workers)."""
    return image.filename, image.mode, image.size


class RecordingEstimator:
    """The pose-estimator interface of :func:`g2da_plugin.pose.build_estimator`, without a model.

    Appends the path of every image it is asked for to ``trace`` (flushed at once, so a killed
    process leaves it complete) and calls ``die()`` when asked for image number ``die_at``.
    """

    backend = "recording"
    prepare = staticmethod(image_file)

    def __init__(self, trace, die_at=None, die=None, source=SOURCE):
        self.trace, self.die_at, self.die, self.source = trace, die_at, die, source
        self.asked = 0

    def predict_prepared(self, items):
        out = []
        for path, mode, (width, height) in items:
            self.asked += 1
            with open(self.trace, "a", encoding="utf-8") as f:
                f.write(path + "\n")
            if self.asked == self.die_at:
                self.die()
            out.append(mean_pose_keypoints(width, height, score=0.2 if mode == "L" else 0.9))
        return np.stack(out)

    def close(self):
        pass


def asked_for(trace, folder):
    """The keys of the images a RecordingEstimator was asked for, in order."""
    if not os.path.exists(trace):
        return []
    return [Path(line).relative_to(folder).as_posix() for line in Path(trace).read_text().split()]


def files_of(folder, pattern):
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).glob(pattern))


@pytest.fixture(scope="module")
def sysu(synthetic_root):
    (dataset,) = datasets_of(name="SYSUMM01_CM", root=synthetic_root)
    return dataset


@pytest.fixture(scope="module")
def regdb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("regdb")
    make_synthetic_regdb(root, num_ids=4, images_per_modality=1)
    return root


def run(dataset, estimator, output, **settings):
    return extract(dataset, estimator, output, **{"batch_size": 2, "save_every": 1000, "save_interval": None,
                                                   **settings})


# ----------------------------------------------------------------------------- the images of a dataset

def test_every_sysu_image_once_with_its_modality(sysu, synthetic_root):
    folder = os.path.join(synthetic_root, "SYSU-MM01")
    assert sysu.name == "SYSUMM01_CM" and sysu.folder == os.path.abspath(folder)
    assert list(sysu.images) == files_of(folder, "cam*/*/*")   # train, query and gallery, sorted
    for key, (path, modality) in sysu.images.items():
        assert path == os.path.join(sysu.folder, key)
        assert modality == (IR if key.split("/")[0] in IR_CAMERAS else RGB), key


def test_datasets_of_a_config(regdb_root, synthetic_root, tmp_path):
    config = tmp_path / "both.yml"
    config.write_text('DATASETS:\n  NAMES: ("RegDB_CM", "SYSUMM01_CM")\n  TESTS: ("RegDB_CM",)\n'
                      f'  ROOT: "{regdb_root}"\n')
    folder = regdb_root / "RegDB"
    (regdb,) = datasets_of(config, ["DATASETS.NAMES", '("RegDB_CM",)'])   # each dataset once
    assert list(regdb.images) == files_of(folder, "*/*/*.bmp")
    assert {key: m for key, (_, m) in regdb.images.items()} == {
        key: IR if key.startswith("Thermal/") else RGB for key in files_of(folder, "*/*/*.bmp")}
    with pytest.raises(FileNotFoundError, match="SYSU-MM01 not found"):   # ROOT holds RegDB only
        datasets_of(config)
    with pytest.raises(ValueError, match="REGDB_TRIAL"):
        datasets_of(config, ["DATASETS.REGDB_TRIAL", "11"])
    names = [d.name for d in datasets_of(config, ["DATASETS.ROOT", synthetic_root, "DATASETS.NAMES",
                                                  '("SYSUMM01_CM",)', "DATASETS.TESTS", '("SYSUMM01_CM",)'])]
    assert names == ["SYSUMM01_CM"]


# ----------------------------------------------------------------------------- the loop

def test_extract_then_resume_with_nothing_to_do(sysu, tmp_path, capsys):
    output = tmp_path / "kp.json"
    trace = tmp_path / "trace"
    writer = run(sysu, RecordingEstimator(trace), output, limit=5)
    assert asked_for(trace, sysu.folder) == list(sysu.images)[:5]
    assert sorted(load_keypoints(output)) == list(sysu.images)[:5] and writer.resumed == 0

    writer = run(sysu, RecordingEstimator(trace), output, workers=1)   # loader workers: same keys
    assert asked_for(trace, sysu.folder) == list(sysu.images)
    assert writer.resumed == 5 and len(writer) == len(sysu.images)
    table = load_keypoints(output, with_source=True)
    assert table[1] == SOURCE and sorted(table[0]) == list(sysu.images)
    for key, rows in table[0].items():
        with Image.open(sysu.images[key][0]) as image:
            np.testing.assert_allclose(rows, mean_pose_keypoints(*image.size, 0.2 if image.mode == "L" else 0.9),
                                       atol=1e-3)

    capsys.readouterr()
    run(sysu, RecordingEstimator(trace), output)
    assert asked_for(trace, sysu.folder) == list(sysu.images)   # nothing asked again
    assert f"{len(sysu.images)} already in {output}; 0 to do" in capsys.readouterr().out


def test_an_exception_keeps_what_was_done(sysu, tmp_path):
    output, trace = tmp_path / "kp.json", tmp_path / "trace"

    def fail():
        raise RuntimeError("the model failed")

    with pytest.raises(RuntimeError, match="the model failed"):
        run(sysu, RecordingEstimator(trace, die_at=5, die=fail), output)   # images 1-4 were handed over
    keys = list(sysu.images)
    assert sorted(load_keypoints(output)) == keys[:4]
    run(sysu, RecordingEstimator(tmp_path / "trace2"), output)
    assert asked_for(tmp_path / "trace2", sysu.folder) == keys[4:]


def _extract_in_child(dataset, output, trace, die, on_sigterm):
    if on_sigterm:
        exit_on_sigterm()
    run(dataset, RecordingEstimator(trace, die_at=5, die=die), output, save_every=3)


def _sigkill():
    os.kill(os.getpid(), signal.SIGKILL)


def _hard_exit():
    os._exit(3)


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("die, exit_code, kept", [
    (_sigkill, -signal.SIGKILL, 3),   # saved after image 3; image 4 was handed over, not saved: lost
    (_hard_exit, 3, 3),
    (_sigterm, 128 + signal.SIGTERM, 4),   # SIGTERM unwinds through the writer, which saves
])
def test_a_killed_run_resumes_where_the_file_stops(sysu, tmp_path, die, exit_code, kept):
    output, trace = tmp_path / "kp.json", tmp_path / "trace"
    child = multiprocessing.get_context("fork").Process(
        target=_extract_in_child, args=(sysu, output, trace, die, die is _sigterm))
    child.start()
    child.join(120)
    assert child.exitcode == exit_code
    keys = list(sysu.images)
    assert asked_for(trace, sysu.folder) == keys[:5]
    saved = load_keypoints(output)   # a valid file after the kill
    assert sorted(saved) == keys[:kept]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    writer = run(sysu, RecordingEstimator(tmp_path / "trace2"), output)
    assert asked_for(tmp_path / "trace2", sysu.folder) == keys[kept:]   # exactly what the file lacked
    assert writer.resumed == kept and sorted(load_keypoints(output)) == keys


def test_limit_overwrite_and_another_model(sysu, tmp_path):
    output = tmp_path / "kp.json"
    run(sysu, RecordingEstimator(tmp_path / "t1"), output, limit=3)
    run(sysu, RecordingEstimator(tmp_path / "t2"), output, overwrite=True, limit=2)
    assert asked_for(tmp_path / "t2", sysu.folder) == list(sysu.images)[:2]
    assert sorted(load_keypoints(output)) == list(sysu.images)[:2]
    with pytest.raises(ValueError, match=f"was made by '{SOURCE}', not 'another model'"):
        run(sysu, RecordingEstimator(tmp_path / "t3", source="another model"), output)
    assert not os.path.exists(tmp_path / "t3")
    assert sorted(load_keypoints(output)) == list(sysu.images)[:2]   # left as it was


# ----------------------------------------------------------------------------- the summary

def test_summary_per_modality_and_flagged_images(sysu, tmp_path, capsys):
    output = tmp_path / "kp.json"
    save_keypoints(output, {"elsewhere/1/a.jpg": mean_pose_keypoints(10, 20, score=0.5)}, SOURCE)
    writer = run(sysu, RecordingEstimator(tmp_path / "trace"), output)
    out, err = capsys.readouterr()
    assert f"note: {output} holds 1 images that are not in SYSUMM01_CM (e.g. elsewhere/1/a.jpg); kept" in err
    assert "img/s" in err   # the progress bar, with its rate

    summarize(sysu, writer, 2.0, 0.3)
    lines = capsys.readouterr().out.splitlines()
    ir = [key for key in sysu.images if key.split("/")[0] in IR_CAMERAS]
    rgb = len(sysu.images) - len(ir)
    n = len(sysu.images)
    assert lines == [
        f"SYSUMM01_CM: {n + 1} images in {output} ({n} done now in 2 s, {n / 2:.2f} img/s, 1 from before)",
        f"  mean keypoint score: RGB 0.900 ({rgb} images), IR 0.200 ({len(ir)} images), ? 0.500 (1 images)",
        f"  flagged (mean score < 0.3): {len(ir)} images (RGB 0, IR {len(ir)}, ? 0): {', '.join(ir[:5])} ...",
    ]
    assert len(ir) > 5


def test_summary_of_an_unfinished_file(sysu, tmp_path, capsys):
    output = tmp_path / "kp.json"
    writer = run(sysu, RecordingEstimator(tmp_path / "trace"), output, limit=4)
    capsys.readouterr()
    summarize(sysu, writer, 0.0, 0.1)
    assert capsys.readouterr().out.splitlines() == [
        f"SYSUMM01_CM: 4 images in {output} (4 done now in 0 s, 0 from before); {len(sysu.images) - 4} still to do",
        "  mean keypoint score: RGB 0.900 (4 images)",
        "  flagged (mean score < 0.1): 0 images (RGB 0)",
    ]


# ----------------------------------------------------------------------------- the tool, end to end

def test_tool_resumes_a_file_with_a_random_hrnet(regdb_root, tmp_path):
    """Four images extracted here through the package, the other four by the tool (a subprocess,
    datasets from a config), which must keep the first four as they were."""
    torch.manual_seed(0)
    model, _ = mmpose_compat.build_pose_model()
    checkpoint = tmp_path / "hrnet_w32_random.pth"
    torch.save({"state_dict": model.state_dict()}, checkpoint)
    config = tmp_path / "regdb.yml"
    config.write_text(f'DATASETS:\n  NAMES: ("RegDB_CM",)\n  TESTS: ("RegDB_CM",)\n  ROOT: "{regdb_root}"\n')
    (dataset,) = datasets_of(config)
    output = Path(dataset.folder) / "keypoints_hrnet.json"   # the tool's default
    estimator = build_estimator("hrnet", checkpoint=str(checkpoint), input_size=(64, 32), flip_test=False)
    run(dataset, estimator, output, limit=4)
    before = load_keypoints(output)

    result = subprocess.run(
        [sys.executable, TOOL, "--config-file", str(config), "--backend", "hrnet", "--checkpoint", str(checkpoint),
         "--batch-size", "3", "--save-every", "2", "--input-size", "64", "32", "--no-flip-test", "--device", "cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"RegDB_CM: 8 images in {dataset.folder}; 4 already in {output}; 4 to do" in result.stdout
    assert f"RegDB_CM: 8 images in {output} (4 done now in" in result.stdout and "4 from before)" in result.stdout
    assert "flagged (mean score < 0.3)" in result.stdout
    assert "img/s" in result.stderr   # the progress bar, with its rate
    final, source = load_keypoints(output, with_source=True)
    assert sorted(final) == list(dataset.images)
    for key in before:
        np.testing.assert_array_equal(final[key], before[key])
    for key, rows in final.items():
        width, height = Image.open(dataset.images[key][0]).size
        assert (rows[:, 0] >= 0).all() and (rows[:, 0] <= width).all()
        assert (rows[:, 1] >= 0).all() and (rows[:, 1] <= height).all()
        assert ((rows[:, 2] >= 0) & (rows[:, 2] <= 1)).all()
    assert source == estimator.source
    assert source.startswith("mmpose-1.3.2 td-hm_hrnet-w32_8xb64-210e_coco-256x192 input=64x32 flip_test=False")
    assert "checkpoint=hrnet_w32_random.pth sha256=" in source
    assert json.loads(output.read_text())["keypoint_names"][0] == "nose"


def test_tool_refuses_hrnet_without_a_checkpoint(tmp_path):
    result = subprocess.run([sys.executable, TOOL, "--dataset", "RegDB_CM", "--root", str(tmp_path),
                             "--backend", "hrnet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "extract_keypoints.py: error: --checkpoint is required with --backend hrnet: the path of the HRNet-w32 "
        "COCO weights (e.g. td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth from mmpose's model "
        "zoo; nothing is downloaded)")
    assert "Traceback" not in result.stderr + result.stdout
