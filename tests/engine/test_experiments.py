"""FastReID's baselines on the cross-modality protocol (configs/), results.json, the results table and
the sweep (g2da_plugin/engine/experiments.py, g2da_plugin/engine/sweep.py)."""

import argparse
import glob
import json
import os
import re
import stat

import pytest
import torch
import torchvision

from g2da_plugin.engine import G2DATrainer, setup_cfg, sweep
from g2da_plugin.engine.experiments import (compare_with_seeds, reported_table, results_table, run_config, run_dir,
                                            write_results_table, write_seeds_table)
from g2da_plugin.engine.train_net import run as train_net
from g2da_plugin.utils.errors import InputError, RunFailedError
from tests.helpers import ROOT, TINY_TRAINING, command_line, table_rows

SYNTHETIC_BASELINES = sorted(glob.glob(os.path.join(ROOT, "configs", "Synthetic", "*.yml")))
R50_BASELINES = sorted(glob.glob(os.path.join(ROOT, "configs", "*", "*_R50.yml")))


def sysu_scores(r1, std=0.5):
    """A SYSU results dict: the metrics of 'all-single' are r1 + offsets, 'indoor-single' r1 + 10 + offsets."""
    scores = {}
    for setting, base in (("all-single", r1), ("all-multi", 0.0), ("indoor-single", r1 + 10)):
        for offset, metric in enumerate(("R1", "R5", "R10", "R20", "mAP", "mINP")):
            scores[f"{setting}/{metric}"] = base + offset
            scores[f"{setting}/{metric}_std"] = std
    scores["metric"] = 0.0
    return scores


# ---------------------------------------------------------------------------------------------- configs
def test_baseline_configs_exist():
    assert [os.path.basename(p) for p in SYNTHETIC_BASELINES] == ["AGW_R18.yml", "bagtricks_R18.yml", "sbs_R18.yml"]
    assert len(R50_BASELINES) == 9  # SYSU-MM01, RegDB and LLCM x bagtricks, AGW, sbs


@pytest.mark.parametrize("config", R50_BASELINES, ids=lambda p: os.path.relpath(p, ROOT))
@pytest.mark.parametrize("path", ["", "nowhere/resnet50.pth"])
def test_r50_baselines_refuse_missing_imagenet_weights(config, path, tmp_path):
    cfg = setup_cfg(argparse.Namespace(config_file=config, opts=["MODEL.BACKBONE.PRETRAIN_PATH", path]))
    assert cfg.MODEL.META_ARCHITECTURE == "Baseline" and cfg.MODEL.BACKBONE.NAME == "build_resnet_backbone"
    # An empty path would make FastReID download the weights; a wrong one fails without naming the key.
    with pytest.raises(FileNotFoundError, match=r"MODEL\.BACKBONE\.PRETRAIN_PATH='" + re.escape(path) + "'"):
        G2DATrainer.build_model(cfg)


def test_imagenet_weights_come_from_the_configured_file(tmp_path):
    weights = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(weights, path)
    config = os.path.join(ROOT, "configs", "Synthetic", "AGW_R18.yml")
    cfg = setup_cfg(argparse.Namespace(config_file=config, opts=[
        "MODEL.BACKBONE.PRETRAIN", "True", "MODEL.BACKBONE.PRETRAIN_PATH", str(path),
        "MODEL.HEADS.NUM_CLASSES", "4", "MODEL.DEVICE", "cpu"]))
    model = G2DATrainer.build_model(cfg)
    for key in ("conv1.weight", "layer3.1.bn2.running_var", "layer4.0.downsample.0.weight"):
        assert torch.equal(model.backbone.state_dict()[key], weights[key]), key


@pytest.mark.parametrize("name, pieces", [
    ("bagtricks_R50.yml", ["GlobalAvgPool", "Linear(num_classes=395"]),
    ("AGW_R50.yml", ["Non_local", "GeneralizedMeanPooling(", "Linear(num_classes=395"]),
    ("sbs_R50.yml", ["Non_local", "GeneralizedMeanPoolingP", "CircleSoftmax"]),
])
def test_r50_baselines_build_fastreid_models(name, pieces):
    cfg = setup_cfg(argparse.Namespace(config_file=os.path.join(ROOT, "configs", "SYSU-MM01", name), opts=[
        "MODEL.BACKBONE.PRETRAIN", "False", "MODEL.HEADS.NUM_CLASSES", "395", "MODEL.DEVICE", "cpu"]))
    text = repr(G2DATrainer.build_model(cfg))
    assert text.startswith("Baseline(")
    for piece in pieces:
        assert piece in text, piece
    assert ("Non_local" in text) == (name != "bagtricks_R50.yml")


# --------------------------------------------------------------------------- real runs through train_net
@pytest.fixture(scope="module")
def data_root(training_root):
    return training_root


@pytest.fixture(scope="module")
def trained(data_root, tmp_path_factory):
    """Each synthetic baseline trained for one tiny epoch through the training entry point (in this
    process, to spare three interpreter starts), into the directories the results table uses."""
    output_root = str(tmp_path_factory.mktemp("runs"))
    for config in SYNTHETIC_BASELINES:
        opts = {**TINY_TRAINING, "DATASETS.ROOT": data_root, "OUTPUT_DIR": run_dir(output_root, config),
                "SOLVER.MAX_EPOCH": 1, "TEST.EVAL_PERIOD": 1, "INPUT.SIZE_TRAIN": [32, 16], "INPUT.SIZE_TEST": [32, 16]}
        train_net(["--config-file", config, *command_line(opts)])
    return output_root


def train_images(data_root):
    sysu = os.path.join(data_root, "SYSU-MM01")
    ids = [int(i) for name in ("train_id.txt", "val_id.txt")
           for i in open(os.path.join(sysu, "exp", name)).read().split(",") if i.strip()]
    return sum(len(glob.glob(os.path.join(sysu, f"cam{c}", f"{i:04d}", "*.jpg"))) for c in range(1, 7) for i in ids)


@pytest.mark.parametrize("name", ["AGW_R18", "bagtricks_R18", "sbs_R18"])
def test_baselines_train_and_write_results_json(trained, data_root, name):
    config = os.path.join(ROOT, "configs", "Synthetic", f"{name}.yml")
    output_dir = run_dir(trained, config)
    payload = json.load(open(os.path.join(output_dir, "results.json")))
    assert payload["config_file"] == config
    assert payload["datasets"] == ["SYSUMM01_CM"] and payload["dataset_root"] == data_root
    assert payload["iteration"] == train_images(data_root) // 8  # one epoch, batch 8
    assert payload["start_epoch"] == 0 and payload["max_epoch"] == 1
    assert 0 < payload["train_time_s"] < 600
    scores = payload["results"]["SYSUMM01_CM"]
    # The same numbers as the table the evaluator logged (this run's is the first in its log).
    log = open(os.path.join(output_dir, "log.txt")).read()
    logged = re.search(r"^\| all-single +\| (.+)\|$", log, re.M).group(1).split("|")
    expected = [f"{scores[f'all-single/{m}']:.2f} ± {scores[f'all-single/{m}_std']:.2f}"
                for m in ("R1", "R5", "R10", "R20", "mAP", "mINP")]
    assert [cell.strip() for cell in logged] == expected
    assert "loss_cls:" in log and "loss_triplet:" in log  # FastReID's Baseline losses
    if name == "sbs_R18":
        assert 'Freeze layer group "backbone"' in log


def test_results_table_reuses_finished_runs(trained, tmp_path):
    output = tmp_path / "table.md"
    write_results_table(SYNTHETIC_BASELINES, str(output), names=["AGW", "bagtricks", "SBS"], output_root=trained,
                        reported=True, command="the command")
    for config in SYNTHETIC_BASELINES:  # nothing trained again: run_config writes train_net.out when it trains
        assert not os.path.exists(os.path.join(run_dir(trained, config), "train_net.out"))
    text = output.read_text()
    rows = table_rows(text.split("Reported in the paper")[0])
    assert [row[:2] for row in rows] == [[n, s] for n in ("AGW", "bagtricks", "SBS")
                                         for s in ("SYSU all-search single-shot", "SYSU indoor-search single-shot")]
    scores = json.load(open(os.path.join(run_dir(trained, SYNTHETIC_BASELINES[1]), "results.json")))
    scores = scores["results"]["SYSUMM01_CM"]
    assert rows[2][2] == f"{scores['all-single/R1']:.2f} ± {scores['all-single/R1_std']:.2f}"
    assert "57.07" in text and "71.72" not in text  # the reported SYSU numbers only
    assert text.startswith("Cross-modality results (%) made by `the command`")


# ------------------------------------------------------------------------------------- table formatting
def write_results(output_dir, scores, train_time_s, dataset="SYSUMM01_CM"):
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "results.json"), "w") as f:
        json.dump({"results": {dataset: scores}, "train_time_s": train_time_s, "dataset_root": "d"}, f)
    return json.load(open(os.path.join(output_dir, "results.json")))


def test_results_table_from_fabricated_sysu_results(tmp_path):
    a = write_results(tmp_path / "a", sysu_scores(40.0, std=1.25), 125.4)
    b = write_results(tmp_path / "b", sysu_scores(7.5), 3725)
    rows = table_rows(results_table([("A", [a]), ("B", [b])]))
    assert rows == [
        ["A", "SYSU all-search single-shot", "40.00 ± 1.25", "42.00 ± 1.25", "43.00 ± 1.25", "44.00 ± 1.25",
         "45.00 ± 1.25", "0:02:05"],
        ["A", "SYSU indoor-search single-shot", "50.00 ± 1.25", "52.00 ± 1.25", "53.00 ± 1.25", "54.00 ± 1.25",
         "55.00 ± 1.25", "0:02:05"],
        ["B", "SYSU all-search single-shot", "7.50 ± 0.50", "9.50 ± 0.50", "10.50 ± 0.50", "11.50 ± 0.50",
         "12.50 ± 0.50", "1:02:05"],
        ["B", "SYSU indoor-search single-shot", "17.50 ± 0.50", "19.50 ± 0.50", "20.50 ± 0.50", "21.50 ± 0.50",
         "22.50 ± 0.50", "1:02:05"],
    ]


def test_results_table_averages_regdb_trials(tmp_path):
    def regdb(v2t_r1):
        return {f"{s}/{m}": (v2t_r1 if s == "v2t" else 50.0) + i
                for s in ("v2t", "t2v") for i, m in enumerate(("R1", "R5", "R10", "R20", "mAP", "mINP"))}

    runs = [write_results(tmp_path / f"trial{t}", regdb(r1), 100.0 * t, "RegDB_CM") for t, r1 in ((1, 60.0), (2, 70.0))]
    rows = table_rows(results_table([("AGW", runs)]))
    assert rows == [
        ["AGW", "RegDB visible to thermal", "65.00 ± 5.00", "67.00 ± 5.00", "68.00 ± 5.00", "69.00 ± 5.00",
         "70.00 ± 5.00", "0:05:00"],
        ["AGW", "RegDB thermal to visible", "50.00 ± 0.00", "52.00 ± 0.00", "53.00 ± 0.00", "54.00 ± 0.00",
         "55.00 ± 0.00", "0:05:00"],
    ]
    # A single trial has no spread to show.
    assert table_rows(results_table([("AGW", runs[:1])]))[0][2] == "60.00"


def seeded_results(root, config, r1_by_seed, gallery="community"):
    """Fabricated results.json of ``config`` trained once per seed under ``root``, as the seeds table reads them."""
    for seed, r1 in r1_by_seed.items():
        path = os.path.join(run_dir(str(root), config), f"seed{seed}")
        write_results(path, sysu_scores(r1, std=0.5 + seed), 60.0)
        payload = json.load(open(os.path.join(path, "results.json")))
        payload.update(datasets=["SYSUMM01_CM"], sysu_gallery=gallery)
        json.dump(payload, open(os.path.join(path, "results.json"), "w"))


def test_seeds_table_and_paired_differences_by_hand(tmp_path):
    b_config, full_config = (os.path.join(ROOT, "projects", "G2DA", "configs", name) for name in ("demo.yml", "demo_G2DA.yml"))
    seeded_results(tmp_path, b_config, {0: 30.0, 1: 32.0, 2: 34.0})
    seeded_results(tmp_path, full_config, {0: 31.0, 1: 34.0, 2: 37.0, 3: 50.0})  # seed 3 has no B to pair with
    text = write_seeds_table([b_config, full_config], str(tmp_path / "t.md"), seeds=[0, 1, 2, 3], seed_counts=[3, 4],
                             names=["B", "G2DA"], output_root=str(tmp_path), command="cmd")
    assert not glob.glob(str(tmp_path / "**" / "train_net.out"), recursive=True)  # nothing trained
    assert "SYSU-MM01 gallery draws: community" in text
    table, paired = text.split("Paired differences from B")
    rows = table_rows(table)
    # B all-single R1 30, 32, 34: 32 ± 2 (sample std); R10 = R1 + 2; draws' R1 std 0.5, 1.5, 2.5 -> mean 1.5
    assert rows[0][:5] == ["B", "SYSU all-search single-shot", "3", "32.00 ± 2.00", "34.00 ± 2.00"]
    assert rows[0][-2:] == ["1.50", "0:03:00"]
    # G2DA over its 4 seeds: 31, 34, 37, 50 -> 38 ± 8.37
    assert rows[2][:4] == ["G2DA", "SYSU all-search single-shot", "4", "38.00 ± 8.37"]
    # paired over seeds 0..2: differences 1, 2, 3 -> 2 ± 1; t = 2 / (1 / sqrt 3) = 3.464 with 2 degrees of
    # freedom, two-sided p = 1 - t / sqrt(2 + t^2) = 0.0742; mAP moves with R1
    assert table_rows(paired)[0] == ["G2DA - B", "SYSU all-search single-shot", "3", "2.00 ± 1.00", "0.074",
                                     "2.00 ± 1.00", "0.074"]


def test_steps_pair_each_method_with_the_one_before(tmp_path):
    configs = [os.path.join(ROOT, "projects", "G2DA", "configs", name) for name in ("demo.yml", "demo_BO.yml", "demo_G2DA.yml")]
    for config, r1 in zip(configs, ({0: 30.0, 1: 32.0, 2: 34.0}, {0: 33.0, 1: 33.0, 2: 36.0}, {0: 33.0, 1: 37.0, 2: 35.0})):
        seeded_results(tmp_path, config, r1)
    text = write_seeds_table(configs, str(tmp_path / "t.md"), seeds=[0, 1, 2], names=["B", "B+O", "G2DA"],
                             output_root=str(tmp_path), steps=["B", "B+O", "G2DA"])
    rows = table_rows(text.split("along the steps")[1])
    # B+O - B: 3, 1, 2 -> 2 ± 1, p 0.074 (as above); G2DA - B+O: 0, 4, -1 -> 1 ± 2.65, t = 1 / (2.65 / sqrt 3)
    # = 0.655 with 2 degrees of freedom, p = 1 - t / sqrt(2 + t^2) = 0.580
    assert [row[:5] for row in rows[::2]] == [["B+O - B", "SYSU all-search single-shot", "3", "2.00 ± 1.00", "0.074"],
                                             ["G2DA - B+O", "SYSU all-search single-shot", "3", "1.00 ± 2.65", "0.58"]]
    with pytest.raises(InputError, match=r"--steps \['B\+CL'\]"):
        write_seeds_table(configs, str(tmp_path / "t.md"), seeds=[0, 1, 2], names=["B", "B+O", "G2DA"],
                          output_root=str(tmp_path), steps=["B", "B+CL"])


def test_one_run_beside_the_seeds_table(tmp_path):
    b_config = os.path.join(ROOT, "projects", "G2DA", "configs", "demo.yml")
    seeded_results(tmp_path, b_config, {0: 30.0, 1: 32.0, 2: 34.0})
    write_seeds_table([b_config], str(tmp_path / "seeds.md"), seeds=[0, 1, 2], names=["B"], output_root=str(tmp_path))
    run = tmp_path / "demo_run"
    write_results(run, sysu_scores(40.0), 10.0)
    rows = table_rows(compare_with_seeds(str(run), str(tmp_path / "seeds.json")))
    assert rows[0][:4] == ["this run (demo_run)", "SYSU all-search single-shot", "1", "40.00"]
    assert rows[1][:4] == ["B", "SYSU all-search single-shot", "3", "32.00 ± 2.00"]
    assert [row[0] for row in rows] == ["this run (demo_run)", "B"] * 2  # and indoor-search
    with pytest.raises(InputError, match="no method"):
        compare_with_seeds(str(run), str(tmp_path / "seeds.json"), ["G2DA"])
    with pytest.raises(InputError, match="seeds table's JSON"):
        compare_with_seeds(str(run), str(tmp_path / "nothing.json"))


def test_reported_block_is_labelled_and_matches_the_protocol():
    sysu = reported_table(["all-single", "indoor-single"])
    rows = table_rows(sysu.split("Ablation")[0])
    label = "G2DA (reported in the paper)"
    assert rows == [[label, "SYSU all-search single-shot", "57.07", "90.99", "96.28", "55.05", "–"],
                    [label, "SYSU indoor-search single-shot", "63.70", "94.06", "98.35", "69.83", "–"]]
    ablation = table_rows(sysu.split("Ablation")[1])
    assert ablation[0] == ["B", "49.17", "47.27"] and ablation[-1] == ["B+O+CL+G+MF (G2DA)", "57.07", "55.05"]
    regdb = reported_table(["v2t", "t2v"])
    assert "71.72" in regdb and "69.50" in regdb and "Ablation" not in regdb and "57.07" not in regdb


# ------------------------------------------------------------------------------------- skip-if-done logic
# Stands in for the Python interpreter: records the training command it is given.
FAKE_PYTHON = """#!{python}
import json, os, sys
args = sys.argv[1:]
out = args[args.index("OUTPUT_DIR") + 1]
with open(os.path.join(os.path.dirname(out), "calls.txt"), "a") as f:
    f.write(" ".join(args) + "\\n")
if "FAIL" in args:
    print("something went wrong here")
    sys.exit(3)
json.dump({{"results": {{"D": {{"all-single/R1": 1.0}}}}, "train_time_s": 2.0}}, open(os.path.join(out, "results.json"), "w"))
"""


@pytest.fixture
def fake_python(tmp_path):
    import sys

    path = tmp_path / "fake_python"
    path.write_text(FAKE_PYTHON.format(python=sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def calls(tmp_path):
    return (tmp_path / "calls.txt").read_text().splitlines()


def test_run_config_skips_finished_runs_resumes_and_reruns(tmp_path, fake_python):
    config = SYNTHETIC_BASELINES[0]
    out = str(tmp_path / "run")
    first = run_config(config, out, ["K", 1], python=fake_python)
    assert first["results"] == {"D": {"all-single/R1": 1.0}}
    assert calls(tmp_path) == [f"-m g2da_plugin.engine.train_net --config-file {config} --resume K 1 OUTPUT_DIR {out}"]
    assert run_config(config, out, ["K", 1], python=fake_python) == first
    assert len(calls(tmp_path)) == 1  # done: not trained again
    run_config(config, out, ["K", 1], rerun=True, python=fake_python)
    assert calls(tmp_path)[1] == f"-m g2da_plugin.engine.train_net --config-file {config} K 1 OUTPUT_DIR {out}"


def test_run_config_failure_names_the_config_and_shows_the_output(tmp_path, fake_python):
    out = str(tmp_path / "run")
    with pytest.raises(RunFailedError, match="bagtricks_R18.yml failed \\(exit code 3\\), saying 'something went wrong here'"):
        run_config(SYNTHETIC_BASELINES[1], out, ["FAIL", 1], python=fake_python)
    assert not os.path.exists(os.path.join(out, "results.json"))
    with pytest.raises(FileNotFoundError, match="nowhere.yml"):
        run_config(str(tmp_path / "nowhere.yml"), out, python=fake_python)


# ------------------------------------------------------------------------------------------------ sweep
def test_sweep_writes_plot_and_points(tmp_path):
    points = [(0.5, {"R1": (10.0, 1.5), "mAP": (12.25, 0.5)}), (2.0, {"R1": (20.0, None), "mAP": (22.0, None)})]
    output = tmp_path / "plots" / "sweep.png"
    written = sweep.write_sweep(points, str(output), "MODEL.LOSSES.PART_CONTRASTIVE.MARGIN", "all-single")
    assert written == (str(output), str(tmp_path / "plots" / "sweep.csv"), str(tmp_path / "plots" / "sweep.md"))
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "plots" / "sweep.csv").read_text().splitlines() == [
        "MODEL.LOSSES.PART_CONTRASTIVE.MARGIN,R1,R1_std,mAP,mAP_std", "0.5,10.0,1.5,12.25,0.5", "2.0,20.0,,22.0,"]
    md = (tmp_path / "plots" / "sweep.md").read_text()
    assert md.startswith("SYSU all-search single-shot, MODEL.LOSSES.PART_CONTRASTIVE.MARGIN:")
    assert table_rows(md) == [["0.5", "10.00 ± 1.50", "12.25 ± 0.50"], ["2.0", "20.00", "22.00"]]


def test_sweep_points_pick_the_setting(tmp_path):
    runs = [write_results(tmp_path / str(v), sysu_scores(v), 1.0) for v in (1.0, 2.0)]
    setting, points = sweep.sweep_points([1.0, 2.0], runs)
    assert setting == "all-single"
    assert points == [(1.0, {"R1": (1.0, 0.5), "mAP": (5.0, 0.5)}), (2.0, {"R1": (2.0, 0.5), "mAP": (6.0, 0.5)})]
    assert sweep.sweep_points([1.0, 2.0], runs, "indoor-single")[1][0][1]["R1"] == (11.0, 0.5)
    with pytest.raises(ValueError, match="v2t"):
        sweep.sweep_points([1.0, 2.0], runs, "v2t")


def test_sweep_presets_name_real_keys_and_values_take_the_key_type():
    cfg = setup_cfg(argparse.Namespace(config_file=None, opts=[]))
    for param, (key, values) in sweep.PRESETS.items():
        current = sweep.config_value(cfg, key)
        assert isinstance(current, float), param
        assert min(sweep.sweep_values(values, current, key)) <= current <= max(sweep.sweep_values(values, current, key))
    assert sweep.sweep_values(["1", "2.5"], 2.0, "K") == [1.0, 2.5]  # yacs refuses an int for a float key
    assert sweep.sweep_values(["3"], 4, "K") == [3]
    with pytest.raises(ValueError, match="integer"):
        sweep.sweep_values(["2.5"], 4, "K")
    with pytest.raises(ValueError, match="not a number"):
        sweep.sweep_values(["abc"], 2.0, "K")
    with pytest.raises(ValueError, match="not a number"):
        sweep.sweep_values(["1"], "BN", "MODEL.BACKBONE.NORM")
    with pytest.raises(InputError, match="MODEL.LOSSES.PART_CONTRASTIVE.MARGN"):
        sweep.config_value(cfg, "MODEL.LOSSES.PART_CONTRASTIVE.MARGN")


def test_sweep_on_finished_runs(tmp_path):
    """Values typed by the key, one run per value in its own directory, the plot."""
    config = SYNTHETIC_BASELINES[1]
    output_root = tmp_path / "sweeps"
    for value in (0.2, 0.4):
        base = run_dir(str(output_root), config)
        write_results(os.path.join(base, f"MODEL.LOSSES.TRI.MARGIN_{value}"), sysu_scores(100 * value), 1.0)
    sweep.run_sweep(config, "MODEL.LOSSES.TRI.MARGIN", ["0.2", "0.4"], str(tmp_path / "s.png"),
                    output_root=str(output_root))
    assert (tmp_path / "s.csv").read_text().splitlines()[1:] == ["0.2,20.0,0.5,24.0,0.5", "0.4,40.0,0.5,44.0,0.5"]


def test_run_config_trains_through_the_package_entry_point(training_root, tmp_path):
    """A real run: ``python -m g2da_plugin.engine.train_net`` from another folder, no path into tools/."""
    config = os.path.join(ROOT, "configs", "Synthetic", "bagtricks_R18.yml")
    opts = command_line({**TINY_TRAINING, "DATASETS.ROOT": training_root, "SOLVER.MAX_EPOCH": 1,
                         "TEST.EVAL_PERIOD": 1, "INPUT.SIZE_TRAIN": [32, 16], "INPUT.SIZE_TEST": [32, 16]})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        payload = run_config(config, str(tmp_path / "run"), opts)
    finally:
        os.chdir(cwd)
    assert payload["config_file"] == config and "all-single/R1" in payload["results"]["SYSUMM01_CM"]
    assert "Starting training from epoch 0" in open(tmp_path / "run" / "train_net.out").read()
