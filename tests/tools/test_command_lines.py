"""The tools' command lines, as a user types them: every tool answers --help, and tools/visualize.py
draws the pictures of a trained model or stops with one line."""

import os
import subprocess
import sys

from PIL import Image

from g2da_plugin.engine.train_net import run as train_net
from tests.helpers import CONFIGS, ROOT, TINY_TRAINING, command_line

TOOLS = sorted(name for name in os.listdir(os.path.join(ROOT, "tools")) if name.endswith(".py"))
DEMO = os.path.join(CONFIGS, "demo.yml")
# One interpreter for every tool's --help: each is run as a script would be.
HELP_ALL = """
import runpy, sys
for tool in sys.argv[1:]:
    sys.argv = [tool, "--help"]
    try:
        runpy.run_path(tool, run_name="__main__")
    except SystemExit as e:
        print(f"@@ {tool} exit {e.code}")
"""


def tool(name, *args, timeout=600):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tools", name), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def test_every_tool_answers_help():
    result = subprocess.run([sys.executable, "-c", HELP_ALL, *(os.path.join(ROOT, "tools", t) for t in TOOLS)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    exits = [line for line in result.stdout.splitlines() if line.startswith("@@ ")]
    assert exits == [f"@@ {os.path.join(ROOT, 'tools', t)} exit 0" for t in TOOLS]
    assert result.stdout.count("usage: ") == len(TOOLS)


def tiny_opts(data_root, output_dir):
    """A one-epoch :data:`~tests.helpers.TINY_TRAINING` run on ``data_root``, as trailing KEY VALUE arguments."""
    return command_line({**TINY_TRAINING, "DATASETS.ROOT": data_root, "OUTPUT_DIR": str(output_dir),
                         "SOLVER.MAX_EPOCH": 1, "TEST.EVAL_PERIOD": 1})


def test_visualize_draws_the_pictures_of_a_trained_model(synthetic_root, tmp_path):
    train_net(["--config-file", DEMO, *tiny_opts(synthetic_root, tmp_path / "train")])
    weights = str(tmp_path / "train" / "model_final.pth")
    out = tmp_path / "pictures"
    result = tool("visualize.py", "--config-file", DEMO, "--output", str(out), "--query-indices", "0,3", "--trial",
                  "1", *tiny_opts(synthetic_root, tmp_path / "train"), "MODEL.WEIGHTS", weights)
    assert result.returncode == 0, result.stderr[-3000:]
    for name, kind in (("rank_list/0.jpg", "JPEG"), ("rank_list/1.jpg", "JPEG"), ("roc.jpg", "JPEG"),
                       ("pos_neg_dist.jpg", "JPEG"), ("tsne.png", "PNG"), ("cmc.png", "PNG")):
        with Image.open(out / name) as image:
            assert image.format == kind and min(image.size) > 100, name
    assert sorted(os.listdir(out / "rank_list")) == ["0.jpg", "1.jpg"]  # one picture per query

    wrong = tool("visualize.py", "--config-file", DEMO, "--output", str(out), "--query-indices", "99",
                 *tiny_opts(synthetic_root, tmp_path / "train"), "MODEL.WEIGHTS", weights)
    assert wrong.returncode != 0
    assert wrong.stderr.strip().splitlines()[-1].startswith("g2da: --query-indices 99 is out of range")


def test_visualize_without_weights_is_one_clear_line(synthetic_root, tmp_path):
    missing = str(tmp_path / "missing.pth")
    result = tool("visualize.py", "--config-file", DEMO, *tiny_opts(synthetic_root, tmp_path), "MODEL.WEIGHTS",
                  missing)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("g2da: ") and "MODEL.WEIGHTS" in last and missing in last
