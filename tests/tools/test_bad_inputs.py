"""Every bad input of the training entry point ends with one ``g2da:`` line naming the file or key and
what was expected, exit code 1 and no traceback; a bug keeps its traceback."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from g2da_plugin.data.keypoints_io import load_keypoints
from g2da_plugin.data.synthetic import make_synthetic_regdb
from g2da_plugin.engine.train_net import run as train_net
from g2da_plugin.utils.errors import InputError, exit_on_input_error
from tests.helpers import CONFIGS, ROOT, TINY_TRAINING, command_line

DEMO = os.path.join(CONFIGS, "demo.yml")
DEMO_BO = os.path.join(CONFIGS, "demo_BO.yml")


@pytest.fixture
def data(synthetic_root, tmp_path):
    """A copy of the tiny synthetic SYSU-MM01 that a test may break."""
    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    return root


def opts(root, tmp_path, **extra):
    return command_line({**TINY_TRAINING, "DATASETS.ROOT": str(root), "OUTPUT_DIR": str(tmp_path / "out"),
                         "SOLVER.MAX_EPOCH": 1, "TEST.EVAL_PERIOD": 1, **extra})


def without_logging_errors(text):
    """``text`` less the reports of Python's logging about handlers of earlier in-process runs whose
    streams pytest has closed (``--- Logging error ---`` ... ``Arguments: ...``)."""
    return re.sub(r"--- Logging error ---\n.*?\nArguments: [^\n]*\n", "", text, flags=re.S)


def last_line(capsys, argv):
    """train_net's exit code and the last line it wrote to stderr, run in this process."""
    with pytest.raises(SystemExit) as exit_info:
        train_net(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in without_logging_errors(captured.err + captured.out)
    return exit_info.value.code, captured.err.strip().splitlines()[-1]


def train_net_process(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", "train_net.py"), *args], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def a_training_image(root):
    return os.path.join(root, "SYSU-MM01", "cam1", "0001", sorted(os.listdir(os.path.join(root, "SYSU-MM01", "cam1", "0001")))[0])


def test_unknown_config_key(data, tmp_path):
    result = train_net_process("--config-file", DEMO, *opts(data, tmp_path), "MODEL.NOT_A_KEY", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    line = result.stderr.strip().splitlines()[-1]
    assert line == "g2da: the command line's KEY VALUE overrides: Non-existent key: MODEL.NOT_A_KEY"


def test_unknown_key_in_a_config_file(data, tmp_path, capsys):
    config = tmp_path / "bad.yml"
    config.write_text(f"_BASE_: {DEMO}\nSOLVER:\n  NOT_A_KEY: 3\n")
    code, line = last_line(capsys, ["--config-file", str(config), *opts(data, tmp_path)])
    assert code == 1 and line.startswith(f"g2da: config file {config}") and "NOT_A_KEY" in line


def test_value_of_the_wrong_type(data, tmp_path, capsys):
    code, line = last_line(capsys, ["--config-file", DEMO, *opts(data, tmp_path), "SOLVER.MAX_EPOCH", "many"])
    assert code == 1 and "SOLVER.MAX_EPOCH" in line and "Type mismatch" in line


def test_missing_config_file(tmp_path, capsys):
    code, line = last_line(capsys, ["--config-file", str(tmp_path / "nowhere.yml")])
    assert code == 1 and line == f"g2da: config file not found: {tmp_path / 'nowhere.yml'}"


def test_truncated_jpeg_read_in_a_loader_worker(data, tmp_path):
    image = a_training_image(data)
    with open(image, "rb") as f:
        head = f.read(300)
    with open(image, "wb") as f:
        f.write(head)
    result = train_net_process("--config-file", DEMO, *opts(data, tmp_path, **{"DATALOADER.NUM_WORKERS": 2}))
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"g2da: cannot read image {image}")


def test_keypoints_file_that_is_not_json(data, tmp_path, capsys):
    path = data / "SYSU-MM01" / "keypoints.json"
    path.write_text(path.read_text()[:-40])
    code, line = last_line(capsys, ["--config-file", DEMO_BO, *opts(data, tmp_path)])
    assert code == 1 and line.startswith(f"g2da: keypoints file {path}: not valid JSON")


def test_keypoints_that_are_nan(data, tmp_path, capsys):
    path = data / "SYSU-MM01" / "keypoints.json"
    document = json.loads(path.read_text())
    key = sorted(document["images"])[0]
    document["images"][key][3][0] = float("nan")
    path.write_text(json.dumps(document))
    code, line = last_line(capsys, ["--config-file", DEMO_BO, *opts(data, tmp_path)])
    assert code == 1 and line == f"g2da: keypoints file {path}: image {key!r}: keypoints must be finite"


def test_missing_keypoint_entry(data, tmp_path, capsys):
    path = data / "SYSU-MM01" / "keypoints.json"
    document = json.loads(path.read_text())
    key = sorted(document["images"])[0]
    del document["images"][key]
    path.write_text(json.dumps(document))
    assert key not in load_keypoints(path)
    code, line = last_line(capsys, ["--config-file", DEMO_BO, *opts(data, tmp_path)])
    assert code == 1 and line.startswith("g2da: no keypoints for image") and str(path) in line


def test_split_file_with_a_non_number(data, tmp_path, capsys):
    path = data / "SYSU-MM01" / "exp" / "train_id.txt"
    path.write_text("1,2,x")
    code, line = last_line(capsys, ["--config-file", DEMO, *opts(data, tmp_path)])
    assert code == 1 and line.startswith(f"g2da: {path}: expected comma-separated integers")


def test_regdb_trial_out_of_range(tmp_path, capsys):
    make_synthetic_regdb(str(tmp_path / "regdb"), num_ids=4, images_per_modality=2, seed=0)
    code, line = last_line(capsys, ["--config-file", os.path.join(CONFIGS, "regdb.yml"),
                                    *opts(tmp_path / "regdb", tmp_path), "MODEL.BACKBONE.PRETRAIN", "False",
                                    "DATASETS.REGDB_TRIAL", "11"])
    assert code == 1 and line == "g2da: DATASETS.REGDB_TRIAL must be an integer in 1..10, got 11"


@pytest.mark.parametrize("content, expected", [
    (b"\x80\x04 this is no checkpoint", "cannot be read as a checkpoint"),
    ("empty", "does not fit the model"),
    ("hostile", "holds more than weights"),
])
def test_eval_only_with_a_wrong_or_hostile_weights_file(data, tmp_path, capsys, content, expected):
    weights = tmp_path / "weights.pth"
    victim = tmp_path / "written_by_the_pickle"
    if content == "empty":
        torch.save({"model": {}}, weights)
    elif content == "hostile":
        torch.save({"model": {}, "payload": _WritesAFile(str(victim))}, weights)
    else:
        weights.write_bytes(content)
    code, line = last_line(capsys, ["--config-file", DEMO, "--eval-only", *opts(data, tmp_path),
                                    "MODEL.WEIGHTS", str(weights)])
    assert code == 1 and line.startswith("g2da: ") and expected in line
    assert not victim.exists()


class _WritesAFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_no_readable_checkpoint_on_resume(data, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model_0000.pth").write_bytes(b"")
    (out / "last_checkpoint").write_text("model_0000.pth")
    code, line = last_line(capsys, ["--config-file", DEMO, "--resume", *opts(data, tmp_path)])
    assert code == 1 and line.startswith(f"g2da: --resume: no readable checkpoint in {out}")


def test_a_bug_keeps_its_traceback():
    @exit_on_input_error
    def buggy():
        return {}["no such key"]

    with pytest.raises(KeyError):
        buggy()

    @exit_on_input_error
    def bad_input():
        raise InputError("the file x is wrong")

    with pytest.raises(SystemExit) as exit_info:
        bad_input()
    assert exit_info.value.code == 1


def test_the_traceback_can_be_asked_for(monkeypatch):
    monkeypatch.setenv("G2DA_TRACEBACK", "1")

    @exit_on_input_error
    def bad_input():
        raise InputError("the file x is wrong")

    with pytest.raises(InputError, match="the file x is wrong"):
        bad_input()
