"""tools/train_net.py on tiny synthetic data: train, evaluate, reproducibility, kill and resume,
two processes (gloo), and the one-line error when the dataset is missing."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import g2da_plugin  # noqa: F401
from g2da_plugin.data.synthetic import make_synthetic_sysu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN_NET = os.path.join(ROOT, "tools", "train_net.py")
DEMO = os.path.join(ROOT, "projects", "G2DA", "configs", "demo.yml")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    make_synthetic_sysu(str(root), num_train_ids=6, num_val_ids=2, num_test_ids=4, images_per_cam=(2, 3), seed=0)
    return str(root)


def tiny_opts(data_root, output_dir, epochs=2, **extra):
    """A few-second run: 64x32 inputs, 2 ids x (2 + 2) per batch, evaluation at the end only."""
    opts = {
        "DATASETS.ROOT": data_root, "OUTPUT_DIR": str(output_dir), "MODEL.DEVICE": "cpu",
        "INPUT.SIZE_TRAIN": "[64,32]", "INPUT.SIZE_TEST": "[64,32]", "SOLVER.IMS_PER_BATCH": 8,
        "DATALOADER.NUM_INSTANCE": 2, "DATALOADER.NUM_WORKERS": 0, "SOLVER.MAX_EPOCH": epochs,
        "SOLVER.WARMUP_ITERS": 2, "TEST.EVAL_PERIOD": epochs, "TEST.SYSU.TRIALS": 2, "TEST.IMS_PER_BATCH": 32,
    }
    opts.update(extra)
    return [str(x) for kv in opts.items() for x in kv]


def train_net(*args, timeout=600):
    return subprocess.run([sys.executable, TRAIN_NET, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def weights(output_dir, name="model_final.pth"):
    return torch.load(os.path.join(output_dir, name), map_location="cpu", weights_only=False)["model"]


def test_train_and_evaluate_then_same_seed_same_weights(data_root, tmp_path):
    runs = []
    for name in ("a", "b"):
        result = train_net("--config-file", DEMO, *tiny_opts(data_root, tmp_path / name, epochs=1))
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(weights(tmp_path / name))
    log = open(tmp_path / "a" / "log.txt").read()
    for setting in ("all-single", "all-multi", "indoor-single", "indoor-multi"):
        assert setting in log
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key


def test_training_changes_the_weights(data_root, tmp_path):
    result = train_net("--config-file", DEMO, *tiny_opts(data_root, tmp_path, epochs=1))
    assert result.returncode == 0, result.stderr[-3000:]
    final = weights(tmp_path)
    result = train_net("--config-file", DEMO, *tiny_opts(data_root, tmp_path / "init", epochs=1,
                                                          **{"SOLVER.BASE_LR": 0.0, "SOLVER.WEIGHT_DECAY": 0.0,
                                                             "SOLVER.WEIGHT_DECAY_NORM": 0.0}))
    assert result.returncode == 0, result.stderr[-3000:]
    untrained = weights(tmp_path / "init")
    conv_keys = [k for k, v in final.items() if v.dim() == 4]
    assert conv_keys
    moved = [k for k in conv_keys if not torch.equal(final[k], untrained[k])]
    assert moved == conv_keys


def test_killed_run_resumes_from_its_last_checkpoint(data_root, tmp_path):
    args = ["--config-file", DEMO, *tiny_opts(data_root, tmp_path, epochs=4)]
    proc = subprocess.Popen([sys.executable, TRAIN_NET, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    last = tmp_path / "last_checkpoint"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if last.exists() and last.read_text().strip() == "model_0001.pth":
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "model_final.pth").exists()

    resumed = train_net("--resume", *args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = open(tmp_path / "log.txt").read()
    assert "Starting training from epoch 2" in log
    assert (tmp_path / "model_final.pth").exists()


def test_two_processes_on_cpu_with_gloo(data_root, tmp_path):
    result = train_net("--num-gpus", "2", "--dist-url", "auto", "--config-file", DEMO,
                       *tiny_opts(data_root, tmp_path, epochs=1, **{"SOLVER.IMS_PER_BATCH": 16}))
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(tmp_path / "log.txt").read()
    assert "World size: 2" in log
    # The main process scored every test image: the gathered features of both processes.
    assert "Cross-modality results" in log and "indoor-multi" in log


def test_eval_only_without_weights_is_one_clear_line(data_root, tmp_path):
    result = train_net("--config-file", DEMO, "--eval-only", *tiny_opts(data_root, tmp_path),
                       "MODEL.WEIGHTS", str(tmp_path / "missing.pth"))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("g2da: ") and "MODEL.WEIGHTS" in last_line and "missing.pth" in last_line


def test_missing_dataset_is_one_clear_line(tmp_path):
    missing = tmp_path / "nowhere"
    result = train_net("--config-file", os.path.join(ROOT, "projects", "G2DA", "configs", "sysu.yml"),
                       "DATASETS.ROOT", str(missing), "OUTPUT_DIR", str(tmp_path / "out"), "MODEL.DEVICE", "cpu")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("g2da: ") and str(missing / "SYSU-MM01") in last_line
    assert "Traceback" not in result.stderr


# each ablation's loss terms beyond L_b (loss_cls, loss_cm_triplet)
ABLATION_LOSSES = {
    "demo_BO.yml": {"loss_ot"},
    "demo_BOCL.yml": {"loss_ot", "loss_part_contrastive"},
    "demo_BOCLG.yml": {"loss_ot", "loss_part_contrastive", "loss_graph_cls"},
    "demo_G2DA.yml": {"loss_ot", "loss_part_contrastive", "loss_graph_cls", "loss_mfa_gamma_l1"},
}


@pytest.mark.parametrize("ablation", sorted(ABLATION_LOSSES))
def test_ablations_train_through_train_net(data_root, tmp_path, ablation):
    config = os.path.join(ROOT, "projects", "G2DA", "configs", ablation)
    result = train_net("--config-file", config, *tiny_opts(data_root, tmp_path, epochs=1))
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(tmp_path / "log.txt").read()
    for loss in set.union(*ABLATION_LOSSES.values()):
        assert (f"{loss}:" in log) == (loss in ABLATION_LOSSES[ablation]), loss
    assert "all-single" in log
    # the MFA models log their exchanged channels (JSON writer: every scalar of the event storage)
    metrics = [json.loads(line) for line in open(tmp_path / "metrics.json")]
    exchanged = [m["mfa_exchanged"] for m in metrics if "mfa_exchanged" in m]
    assert bool(exchanged) == ("loss_graph_cls" in ABLATION_LOSSES[ablation])
    if ablation == "demo_BOCLG.yml":
        assert set(exchanged) == {0}
