"""The pose extra: mmpose on mmcv-lite (the mmcv.ops stand-in, checkpoints under torch's
weights_only loading, heatmap decoding as mmpose's codec), tools/extract_keypoints.py end to end
with a randomly initialised HRNet-w32 (complete, valid output; resume after a hard kill; refusal of a
missing checkpoint), and BlazePose's accuracy on synthetic RGB and IR crops.

The extra (tools/install_pose_extra.sh) is required: without mmpose or mediapipe these tests fail
with the install hint; they are never skipped.
"""

import argparse
import importlib.util
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from g2da_plugin.data.keypoints_io import load_keypoints
from g2da_plugin.data.synthetic import make_synthetic_regdb, make_synthetic_sysu
from g2da_plugin.pose import mmpose_compat

# Taken while the test modules are collected, before any test has run: importing the plug-in (and
# every test module so far) must not have imported the extra. (A subprocess would show the same at
# the cost of one more interpreter start.)
EXTRA_PACKAGES = {"mmpose", "mmcv", "mmengine", "mmdet", "mediapipe", "xtcocotools"}
EXTRA_IMPORTED_AT_COLLECTION = sorted(m for m in sys.modules if m.split(".")[0] in EXTRA_PACKAGES)

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "extract_keypoints.py"
FAST = ["--input-size", "64", "32", "--no-flip-test", "--device", "cpu"]   # keeps the CPU runs short


def load_tool():
    spec = importlib.util.spec_from_file_location("extract_keypoints_under_test", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def random_hrnet():
    """HRNet-w32 from mmpose's bundled COCO config, random weights (fails here without the extra)."""
    torch.manual_seed(0)
    model, cfg = mmpose_compat.build_pose_model()
    return model, cfg


@pytest.fixture(scope="module")
def checkpoint(random_hrnet, tmp_path_factory):
    """The random model saved as OpenMMLab saves checkpoints: numpy data in ``meta``."""
    path = tmp_path_factory.mktemp("ckpt") / "hrnet_w32_random.pth"
    meta = {"dataset_meta": {"sigmas": np.linspace(0.025, 0.107, 17).astype(np.float32),
                             "flip_indices": [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]},
            "epoch": np.int64(210), "mmpose_version": "1.3.2"}
    torch.save({"meta": meta, "state_dict": random_hrnet[0].state_dict()}, path)
    return path


# ----------------------------------------------------------------------------- mmpose on this stack

def test_core_plugin_never_imports_the_extra():
    import g2da_plugin.pose  # noqa: F401  (imported above too; the backends load the extra lazily)

    assert EXTRA_IMPORTED_AT_COLLECTION == []


def test_mmcv_ops_standin():
    assert mmpose_compat.install_mmcv_ops_standin() is True   # mmcv-lite: no compiled operators
    from mmcv.ops import DeformConv2d, MultiScaleDeformableAttention  # noqa: F401
    from mmcv.ops.nms import batched_nms

    class Subclass(MultiScaleDeformableAttention):   # subclassing at import time works
        pass

    for use in (lambda: DeformConv2d(3, 3, 3), lambda: batched_nms(None, None, None, None), Subclass):
        with pytest.raises(mmpose_compat.MissingMmcvOpError, match="compiled operators"):
            use()


def test_checkpoint_with_numpy_meta_loads_with_weights_only(checkpoint, random_hrnet, caplog):
    with pytest.raises(pickle.UnpicklingError):   # what torch >= 2.6 does by default
        torch.load(checkpoint, weights_only=True)
    with caplog.at_level(logging.WARNING):
        state_dict = mmpose_compat.load_openmmlab_checkpoint(checkpoint, allow_pickle=False)
    assert "weights_only=False" not in caplog.text   # the numpy allow-list was enough
    expected = random_hrnet[0].state_dict()
    assert state_dict.keys() == expected.keys()
    assert all(torch.equal(state_dict[k], expected[k]) for k in expected)


def test_checkpoint_with_other_objects_needs_trust(tmp_path, caplog):
    path = tmp_path / "odd.pth"
    torch.save({"meta": {"args": argparse.Namespace(lr=0.1)}, "state_dict": {"module.w": torch.ones(2)}}, path)
    with pytest.raises(pickle.UnpicklingError, match="allow_pickle"):
        mmpose_compat.load_openmmlab_checkpoint(path, allow_pickle=False)
    with caplog.at_level(logging.WARNING):
        state_dict = mmpose_compat.load_openmmlab_checkpoint(path)
    assert "weights_only=False" in caplog.text and str(path) in caplog.text
    assert list(state_dict) == ["w"]   # DataParallel's "module." prefix removed


def test_wrong_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"state_dict": {"backbone.conv1.weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="does not fit"):
        mmpose_compat.build_pose_model(checkpoint=path)


def test_decoding_matches_mmpose_codec(random_hrnet):
    from mmpose.codecs import MSRAHeatmap

    from g2da_plugin.pose.hrnet import decode_heatmaps, heatmap_to_image_coordinates

    rng = np.random.default_rng(0)
    heatmaps = rng.uniform(-0.1, 1, (4, 17, 64, 32)).astype(np.float32)
    # Peaks on and next to every border, where the codec's refinement has its special cases.
    for k, (y, x) in enumerate([(0, 0), (0, 1), (1, 2), (63, 31), (62, 30), (5, 31), (63, 5), (1, 1), (2, 2)]):
        heatmaps[0, k, y, x] = 2.0
    codec = MSRAHeatmap(input_size=(128, 256), heatmap_size=(32, 64), sigma=2)
    coords, values = decode_heatmaps(torch.from_numpy(heatmaps))
    for n in range(len(heatmaps)):
        expected, scores = codec.decode(heatmaps[n])
        np.testing.assert_allclose(coords[n].numpy() * 4, expected[0], atol=1e-5)
        np.testing.assert_allclose(values[n].numpy(), scores[0], atol=1e-6)

    # Heatmap cell j is input pixel 4j in mmpose's convention (pixel centres at integers), i.e.
    # 4j + 0.5 in the keypoints files' one; then scaled to the crop: (64 x 32 crop, 256 x 128 input).
    xy = heatmap_to_image_coordinates(np.array([[[0.0, 0.0], [31.0, 63.0], [15.75, 31.25]]]), (4, 4),
                                      (256, 128), [(128, 64)])
    np.testing.assert_allclose(xy[0], [[0.25, 0.25], [62.25, 126.25], [31.75, 62.75]])


def test_hrnet_estimator_batches_whole_crops(random_hrnet):
    from g2da_plugin.pose import build_estimator

    estimator = build_estimator("hrnet", checkpoint=None, input_size=(64, 32), flip_test=True)
    assert "input=64x32" in estimator.source and "flip_test=True" in estimator.source
    assert "checkpoint=none(random-init)" in estimator.source
    images = [Image.new("RGB", (64, 128), (90, 120, 30)), Image.new("L", (80, 160), 200)]   # RGB and IR
    keypoints = estimator.predict(images)
    assert keypoints.shape == (2, 17, 3) and keypoints.dtype == np.float32
    for rows, image in zip(keypoints, images):
        assert (rows[:, 0] >= 0).all() and (rows[:, 0] <= image.width).all()
        assert (rows[:, 1] >= 0).all() and (rows[:, 1] <= image.height).all()
        assert ((rows[:, 2] >= 0) & (rows[:, 2] <= 1)).all()
    with pytest.raises(ValueError, match="multiples of 32"):
        build_estimator("hrnet", input_size=(100, 50))


# ----------------------------------------------------------------------------- the extraction tool

def test_missing_checkpoint_is_refused(tmp_path, capsys):
    tool = load_tool()
    common = ["--dataset", "RegDB_CM", "--root", str(tmp_path), "--backend", "hrnet"]
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    for extra, message in (([], "--checkpoint is required with --backend hrnet: the path of the HRNet-w32 COCO "
                                "weights"),
                           (["--checkpoint", str(tmp_path / "nope.pth")], f"--checkpoint {tmp_path / 'nope.pth'}: "
                                                                           f"no such file"),
                           (["--checkpoint", str(empty)], f"--checkpoint {empty}: the file is empty")):
        with pytest.raises(SystemExit) as exit_info:
            tool.main(common + extra)
        assert exit_info.value.code == 2
        error = capsys.readouterr().err
        assert error.strip().splitlines()[-1] == f"extract_keypoints.py: error: {message}" + (
            " (e.g. td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth from mmpose's model zoo; "
            "nothing is downloaded)" if not extra else "")
        assert "Traceback" not in error


def test_extraction_end_to_end_resumes_after_a_kill(checkpoint, tmp_path, monkeypatch, capsys):
    """Run 1 (a subprocess, datasets from a config) is SIGKILLed after 5 images with saves every 2;
    run 2 (in this process, same output, dataset named by --dataset) must process exactly the images
    that were not saved, and the result must be a complete, valid keypoints file."""
    root = tmp_path / "data"
    folder = Path(make_synthetic_regdb(root, num_ids=4, images_per_modality=1))
    everything = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.bmp"))
    assert len(everything) == 8
    config = tmp_path / "regdb.yml"
    config.write_text(f'DATASETS:\n  NAMES: ("RegDB_CM",)\n  TESTS: ("RegDB_CM",)\n  ROOT: "{root}"\n')
    output = folder / "keypoints_hrnet.json"   # the default
    common = ["--backend", "hrnet", "--checkpoint", str(checkpoint), "--batch-size", "2", "--save-every", "2"] + FAST

    env = dict(os.environ, G2DA_EXTRACT_TRACE=str(tmp_path / "trace1.txt"), G2DA_EXTRACT_KILL_AFTER="5")
    first = subprocess.run([sys.executable, str(TOOL), "--config-file", str(config)] + common, cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
    saved = load_keypoints(output)   # a valid file after a hard kill
    traced1 = (tmp_path / "trace1.txt").read_text().split()
    assert sorted(saved) == everything[:4]   # saved after images 2 and 4; image 5 was lost
    assert traced1 == everything[:6]         # the batch of images 5 and 6 had been run

    monkeypatch.setenv("G2DA_EXTRACT_TRACE", str(tmp_path / "trace2.txt"))
    monkeypatch.delenv("G2DA_EXTRACT_KILL_AFTER", raising=False)
    load_tool().main(["--dataset", "RegDB_CM", "--root", str(root)] + common)
    out, err = capsys.readouterr()
    traced2 = (tmp_path / "trace2.txt").read_text().split()
    assert not set(traced2) & set(saved), "an image that was saved was processed again"
    assert sorted(traced2) == everything[4:] and len(set(traced2)) == len(traced2)

    final, source = load_keypoints(output, with_source=True)
    assert sorted(final) == everything
    for key in saved:   # the first run's results are kept as they were
        np.testing.assert_array_equal(final[key], saved[key])
    for key, rows in final.items():
        width, height = Image.open(folder / key).size
        assert rows.shape == (17, 3)
        assert (rows[:, 0] >= 0).all() and (rows[:, 0] <= width).all()
        assert (rows[:, 1] >= 0).all() and (rows[:, 1] <= height).all()
        assert ((rows[:, 2] >= 0) & (rows[:, 2] <= 1)).all()
    assert source.startswith("mmpose-1.3.2 td-hm_hrnet-w32_8xb64-210e_coco-256x192 input=64x32 flip_test=False")
    assert "checkpoint=hrnet_w32_random.pth sha256=" in source
    assert "RegDB_CM: 8 images in" in out and "4 from before" in out
    assert "flagged (mean score < 0.3)" in out
    assert "img/s" in err   # the progress bar, with its rate
    assert json.loads(output.read_text())["keypoint_names"][0] == "nose"
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


# ----------------------------------------------------------------------------- BlazePose

def pck(predicted, truth, heights, alpha):
    """Share of the truly visible keypoints found (score > 0) within alpha x the crop height."""
    visible = truth[..., 2] > 0.5
    distance = np.linalg.norm(predicted[..., :2] - truth[..., :2], axis=-1)
    hit = (distance < alpha * heights[:, None]) & (predicted[..., 2] > 0) & visible
    return hit.sum() / visible.sum()


def test_blazepose_on_synthetic_rgb_and_ir(tmp_path_factory):
    from g2da_plugin.pose import build_estimator

    folder = Path(make_synthetic_sysu(tmp_path_factory.mktemp("sysu"), num_train_ids=8, num_val_ids=2,
                                      num_test_ids=6, images_per_cam=(1, 1), seed=3))
    truth = load_keypoints(folder / "keypoints.json")
    estimator = build_estimator("mediapipe")
    assert estimator.source.startswith("mediapipe-0.10.21 blazepose-full")
    results = {}
    for modality, cameras in (("RGB", ("cam1", "cam2", "cam4", "cam5")), ("IR", ("cam3", "cam6"))):
        keys = sorted(k for k in truth if k.split("/")[0] in cameras)[:24]
        images = [Image.open(folder / key) for key in keys]
        predicted = estimator.predict(images)
        heights = np.array([image.height for image in images], float)
        widths = np.array([image.width for image in images], float)
        assert ((predicted[..., 0] >= 0) & (predicted[..., 0] <= widths[:, None])).all()
        assert ((predicted[..., 1] >= 0) & (predicted[..., 1] <= heights[:, None])).all()
        true = np.stack([truth[key] for key in keys])
        results[modality] = {"images": len(keys), "detected": float((predicted[..., 2].max(-1) > 0).mean()),
                             "pck@0.1": pck(predicted, true, heights, 0.1),
                             "pck@0.2": pck(predicted, true, heights, 0.2)}
    estimator.close()
    print("BlazePose on synthetic SYSU crops:", json.dumps(results))
    # Loose bounds (the measured numbers are in the docs): BlazePose finds most RGB people and puts
    # their keypoints roughly right; its face-driven person detector misses most synthetic IR crops.
    # (24 images each, generator version 2: RGB detected 0.75, PCK@0.1 0.60, PCK@0.2 0.71; IR 0.375,
    # 0.28, 0.35.) A mirrored or mis-scaled mapping back to the crop would fail the PCK@0.1 bound.
    assert results["RGB"]["detected"] >= 0.6 and results["RGB"]["pck@0.1"] >= 0.4
    assert results["RGB"]["pck@0.2"] >= 0.5 and results["IR"]["pck@0.2"] >= 0.15


# ----------------------------------------------------------------------------- the figure

def test_draw_keypoints_figure(tmp_path):
    spec = importlib.util.spec_from_file_location("draw_keypoints_under_test", REPO / "tools" / "draw_keypoints.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    folder = Path(make_synthetic_regdb(tmp_path, num_ids=4, images_per_modality=1))
    output = tmp_path / "fig3.png"
    tool.main(["--keypoints", str(folder / "keypoints.json"), "--truth", str(folder / "keypoints.json"),
               "--num", "3", "--output", str(output)])
    figure = Image.open(output)
    assert figure.format == "PNG" and figure.height > 2 * tool.CELL_HEIGHT
    assert figure.width > 3 * tool.CELL_HEIGHT / 2 * 0.9   # three RGB/IR columns of 1:2 crops
