"""The training entry point (g2da_plugin.engine.train_net, run by tools/train_net.py) on tiny synthetic
data: train and evaluate, reproducibility, two processes (gloo), one-line errors, and every ablation
config (kill and resume: test_resume.py). Runs that only need weights train in this process."""

import json
import os
import subprocess
import sys

import pytest
import torch

from g2da_plugin.engine.train_net import run as train_net
from tests.helpers import CONFIGS, ROOT, TINY_TRAINING, command_line

TRAIN_NET = os.path.join(ROOT, "tools", "train_net.py")
DEMO = os.path.join(CONFIGS, "demo.yml")


def tiny_opts(data_root, output_dir, epochs=2, **extra):
    """train_net's trailing KEY VALUE arguments for a few-second run, evaluated at its end only."""
    return command_line({**TINY_TRAINING, "DATASETS.ROOT": data_root, "OUTPUT_DIR": str(output_dir),
                         "SOLVER.MAX_EPOCH": epochs, "TEST.EVAL_PERIOD": epochs, **extra})


def train_net_process(*args, timeout=600):
    return subprocess.run([sys.executable, TRAIN_NET, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def weights(output_dir, name="model_final.pth"):
    return torch.load(os.path.join(output_dir, name), map_location="cpu", weights_only=True)["model"]


def results(output_dir):
    return json.load(open(os.path.join(output_dir, "results.json")))


def metrics(output_dir):
    return [json.loads(line) for line in open(os.path.join(output_dir, "metrics.json"))]


def test_train_and_evaluate_then_same_seed_same_weights(training_root, tmp_path):
    runs = []
    for name in ("a", "b"):
        train_net(["--config-file", DEMO, *tiny_opts(training_root, tmp_path / name, epochs=1)])
        runs.append(weights(tmp_path / name))
    scores = results(tmp_path / "a")["results"]["SYSUMM01_CM"]
    for setting in ("all-single", "all-multi", "indoor-single", "indoor-multi"):
        assert 0 <= scores[f"{setting}/R1"] <= 100 and 0 < scores[f"{setting}/mAP"] <= 100
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key


def test_training_changes_the_weights(training_root, tmp_path):
    train_net(["--config-file", DEMO, *tiny_opts(training_root, tmp_path / "trained", epochs=1)])
    train_net(["--config-file", DEMO, *tiny_opts(training_root, tmp_path / "init", epochs=1, **{
        "SOLVER.BASE_LR": 0.0, "SOLVER.WEIGHT_DECAY": 0.0, "SOLVER.WEIGHT_DECAY_NORM": 0.0})])
    final, untrained = weights(tmp_path / "trained"), weights(tmp_path / "init")
    conv_keys = [k for k, v in final.items() if v.dim() == 4]
    assert conv_keys
    moved = [k for k in conv_keys if not torch.equal(final[k], untrained[k])]
    assert moved == conv_keys


def test_two_processes_on_cpu_with_gloo(training_root, tmp_path):
    result = train_net_process("--num-gpus", "2", "--dist-url", "auto", "--config-file", DEMO,
                               *tiny_opts(training_root, tmp_path, epochs=1, **{"SOLVER.IMS_PER_BATCH": 16}))
    assert result.returncode == 0, result.stderr[-3000:]
    log = open(tmp_path / "log.txt").read()
    assert "World size: 2" in log
    # The main process scored every test image: the gathered features of both processes.
    assert "Cross-modality results" in log and "indoor-multi" in log


def test_eval_only_without_weights_is_one_clear_line(training_root, tmp_path):
    result = train_net_process("--config-file", DEMO, "--eval-only", *tiny_opts(training_root, tmp_path),
                               "MODEL.WEIGHTS", str(tmp_path / "missing.pth"))
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("g2da: ") and "MODEL.WEIGHTS" in last_line and "missing.pth" in last_line


def test_missing_dataset_is_one_clear_line(tmp_path):
    missing = tmp_path / "nowhere"
    result = train_net_process("--config-file", os.path.join(CONFIGS, "sysu.yml"), "DATASETS.ROOT", str(missing),
                               "OUTPUT_DIR", str(tmp_path / "out"), "MODEL.DEVICE", "cpu")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("g2da: ") and str(missing / "SYSU-MM01") in last_line
    assert "Traceback" not in result.stderr + result.stdout


# each ablation's loss terms beyond L_b (loss_cls, loss_cm_triplet)
ABLATION_LOSSES = {
    "demo_BO.yml": {"loss_ot"},
    "demo_BOCL.yml": {"loss_ot", "loss_part_contrastive"},
    "demo_BOCLG.yml": {"loss_ot", "loss_part_contrastive", "loss_graph_cls"},
    "demo_G2DA.yml": {"loss_ot", "loss_part_contrastive", "loss_graph_cls", "loss_mfa_gamma_l1"},
}


@pytest.mark.parametrize("ablation", sorted(ABLATION_LOSSES))
def test_ablations_train_through_train_net(training_root, tmp_path, ablation):
    train_net(["--config-file", os.path.join(CONFIGS, ablation), *tiny_opts(training_root, tmp_path, epochs=1)])
    logged = metrics(tmp_path)  # FastReID's JSON writer: every scalar of the event storage
    for loss in set.union(*ABLATION_LOSSES.values()) | {"loss_cls", "loss_cm_triplet"}:
        expected = loss in ABLATION_LOSSES[ablation] or loss in ("loss_cls", "loss_cm_triplet")
        assert any(loss in m for m in logged) == expected, loss
    assert "all-single/R1" in results(tmp_path)["results"]["SYSUMM01_CM"]
    # the MFA models log their exchanged channels
    exchanged = [m["mfa_exchanged"] for m in logged if "mfa_exchanged" in m]
    assert bool(exchanged) == ("loss_graph_cls" in ABLATION_LOSSES[ablation])
    if ablation == "demo_BOCLG.yml":
        assert set(exchanged) == {0}
