"""The pose extra (tools/install_pose_extra.sh): the core plug-in never imports it, and mmpose runs on
this stack (mmcv-lite with the mmcv.ops stand-in, OpenMMLab checkpoints under torch's weights_only
loading).

The extra is required: without mmpose these tests fail with the install hint; they are never skipped.
"""

import argparse
import logging
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from g2da_plugin.pose import mmpose_compat
from g2da_plugin.utils.errors import InputError
from tests.helpers import ROOT

EXTRA_PACKAGES = ("mmpose", "mmcv", "mmengine", "mediapipe")
CORE_MODULES = ("g2da_plugin", "g2da_plugin.data", "g2da_plugin.modeling", "g2da_plugin.evaluation",
                "g2da_plugin.engine", "g2da_plugin.pose", "g2da_plugin.pose.online", "g2da_plugin.pose.extraction",
                "g2da_plugin.pose.figure", "g2da_plugin.engine.benchmark_pose_modes")


@pytest.fixture(scope="module")
def random_hrnet():
    """HRNet-w32 from mmpose's bundled COCO config, random weights (fails here without the extra)."""
    torch.manual_seed(0)
    model, _ = mmpose_compat.build_pose_model()
    return model


@pytest.fixture(scope="module")
def checkpoint(random_hrnet, tmp_path_factory):
    """The random model saved as OpenMMLab saves checkpoints: numpy data in ``meta``."""
    path = tmp_path_factory.mktemp("ckpt") / "hrnet_w32_random.pth"
    meta = {"dataset_meta": {"sigmas": np.linspace(0.025, 0.107, 17).astype(np.float32),
                             "flip_indices": [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]},
            "epoch": np.int64(210), "mmpose_version": "1.3.2"}
    torch.save({"meta": meta, "state_dict": random_hrnet.state_dict()}, path)
    return path


def test_core_plugin_never_imports_the_extra():
    # A fresh interpreter: what this test process imported before cannot hide or fake the result.
    script = "; ".join(f"import {module}" for module in CORE_MODULES) + (
        "; import sys; print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (EXTRA_PACKAGES,))
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


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
    assert "unpickling it in full" not in caplog.text   # the numpy allow-list was enough
    expected = random_hrnet.state_dict()
    assert state_dict.keys() == expected.keys()
    assert all(torch.equal(state_dict[k], expected[k]) for k in expected)


def test_checkpoint_with_other_objects_needs_trust(tmp_path, caplog):
    path = tmp_path / "odd.pth"
    torch.save({"meta": {"args": argparse.Namespace(lr=0.1)}, "state_dict": {"module.w": torch.ones(2)}}, path)
    with pytest.raises(InputError, match="allow_pickle"):
        mmpose_compat.load_openmmlab_checkpoint(path, allow_pickle=False)
    with caplog.at_level(logging.WARNING):
        state_dict = mmpose_compat.load_openmmlab_checkpoint(path)
    assert "unpickling it in full" in caplog.text and str(path) in caplog.text
    assert list(state_dict) == ["w"]   # DataParallel's "module." prefix removed


def test_wrong_checkpoint_is_refused(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"state_dict": {"backbone.conv1.weight": torch.zeros(1)}}, path)
    with pytest.raises(ValueError, match="does not fit"):
        mmpose_compat.build_pose_model(checkpoint=path)
