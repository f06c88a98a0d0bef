"""A run killed at any moment (SIGKILL, mid-epoch) and resumed with --resume ends with the very weights
of the uninterrupted run of the same config and seed, with and without loader workers; a newest
checkpoint that cannot be read is skipped for the previous one, and the run still ends the same."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from g2da_plugin.engine.train_net import run as train_net
from tests.helpers import CONFIGS, ROOT, TINY_TRAINING, command_line

TRAIN_NET = os.path.join(ROOT, "tools", "train_net.py")
def opts(root, output_dir, workers, epochs):
    return command_line({**TINY_TRAINING, "DATASETS.ROOT": root, "OUTPUT_DIR": str(output_dir),
                         "SOLVER.MAX_EPOCH": epochs, "TEST.EVAL_PERIOD": epochs, "SOLVER.CHECKPOINT_PERIOD": 1,
                         "DATALOADER.NUM_WORKERS": workers, "SOLVER.WARMUP_ITERS": 5})


def final_weights(output_dir):
    return torch.load(os.path.join(output_dir, "model_final.pth"), map_location="cpu", weights_only=True)["model"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == []


def kill_mid_epoch(args, output_dir):
    """Start a run and SIGKILL it once the first epoch's checkpoint is written and the second epoch runs."""
    proc = subprocess.Popen([sys.executable, TRAIN_NET, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    tag = output_dir / "last_checkpoint"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if tag.exists() and tag.read_text().strip() == "model_0000.pth":
            time.sleep(0.3)  # into the second epoch
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (output_dir / "model_final.pth").exists()


@pytest.mark.parametrize("config, workers", [
    ("demo_G2DA.yml", 0),
    ("demo_G2DA.yml", 2),
    (os.path.join(ROOT, "configs", "Synthetic", "bagtricks_R18.yml"), 2),
    (os.path.join(ROOT, "configs", "Synthetic", "sbs_R18.yml"), 0),
], ids=lambda v: os.path.basename(str(v)))
def test_killed_run_resumes_to_the_uninterrupted_weights(training_root, tmp_path, config, workers):
    config = os.path.join(CONFIGS, config) if not os.path.isabs(config) else config
    train_net(["--config-file", config, *opts(training_root, tmp_path / "whole", workers, 2)])
    args = ["--config-file", config, *opts(training_root, tmp_path / "killed", workers, 2)]
    kill_mid_epoch(args, tmp_path / "killed")
    resumed = subprocess.run([sys.executable, TRAIN_NET, "--resume", *args], capture_output=True, text=True,
                             timeout=600, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_weights(final_weights(tmp_path / "killed"), final_weights(tmp_path / "whole"))


@pytest.mark.parametrize("config", [
    "demo.yml", "demo_BO.yml", "demo_BOCL.yml", "demo_BOCLG.yml",
    os.path.join(ROOT, "configs", "Synthetic", "AGW_R18.yml"),
], ids=os.path.basename)
def test_a_corrupt_newest_checkpoint_is_skipped_and_the_run_ends_the_same(training_root, tmp_path, config):
    """The run killed after its second epoch, whose checkpoint a copy broke, resumes from the first."""
    config = os.path.join(CONFIGS, config) if not os.path.isabs(config) else config
    train_net(["--config-file", config, *opts(training_root, tmp_path / "whole", 0, 3)])
    cut = tmp_path / "cut"
    cut.mkdir()
    for name in ("model_0000.pth", "model_0001.pth"):  # a run killed after epoch 1, its last file broken
        (cut / name).write_bytes((tmp_path / "whole" / name).read_bytes())
    (cut / "model_0001.pth").write_bytes((cut / "model_0001.pth").read_bytes()[:1000])
    (cut / "last_checkpoint").write_text("model_0001.pth")
    train_net(["--config-file", config, "--resume", *opts(training_root, cut, 0, 3)])
    assert f"Skipping checkpoint {cut / 'model_0001.pth'}" in open(cut / "log.txt").read()
    assert_same_weights(final_weights(cut), final_weights(tmp_path / "whole"))
