"""tools/reproduce_paper.py (g2da_plugin/engine/reproduce.py) end to end on a tiny synthetic SYSU-MM01 and
RegDB: the plan and its estimates, every step, the comparison table, a rerun that trains nothing, and
the one-line errors.

Two runs train for real (one tiny epoch each); the other fourteen have a fabricated ``results.json``,
so the command finds them done, as a rerun after an interruption would.
"""

import glob
import importlib.util
import json
import os
import re
import shutil
from datetime import timedelta

import pytest

from g2da_plugin.data.synthetic import make_synthetic_regdb
from tests.helpers import ROOT, TINY_TRAINING, command_line

_spec = importlib.util.spec_from_file_location("reproduce_paper", os.path.join(ROOT, "tools", "reproduce_paper.py"))
reproduce_paper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reproduce_paper)
main = reproduce_paper.main

TINY = {**TINY_TRAINING, "SOLVER.MAX_EPOCH": 1, "TEST.EVAL_PERIOD": 1}
ABLATION = ["B", "B+O", "B+O+CL", "B+O+CL+G", "B+O+CL+G+MF (G2DA)"]
FOLDERS = ["configs/demo", "configs/demo_BO", "configs/demo_BOCL", "configs/demo_BOCLG", "configs/demo_G2DA",
           "Synthetic/bagtricks_R18", "Synthetic/AGW_R18", "Synthetic/sbs_R18"]
METHODS = list(zip(ABLATION + ["bagtricks", "AGW", "SBS"], FOLDERS))
#: Every run of --datasets sysu regdb --regdb-trials 1: (dataset, method, output folder under the root).
RUNS = ([("sysu", name, f"sysu/{folder}") for name, folder in METHODS]
        + [("regdb", name, f"regdb/{folder}/trial1") for name, folder in METHODS])
TRAINED = {("sysu", "B+O+CL+G+MF (G2DA)"), ("regdb", "bagtricks")}
SETTINGS = {
    "sysu": [("all-single", "SYSU all-search single-shot"), ("indoor-single", "SYSU indoor-search single-shot")],
    "regdb": [("v2t", "RegDB visible to thermal"), ("t2v", "RegDB thermal to visible")],
}
METRICS = ("R1", "R10", "R20", "mAP", "mINP")
#: The paper's numbers (R1, R10, R20, mAP) of G2DA, and its ablation's (R1, mAP) on SYSU all-search single-shot.
PAPER = {"all-single": (57.07, 90.99, 96.28, 55.05), "indoor-single": (63.70, 94.06, 98.35, 69.83),
         "v2t": (71.72, 87.13, 91.92, 65.90), "t2v": (69.50, 84.87, 89.85, 63.88)}
PAPER_ABLATION = {"B": (49.17, 47.27), "B+O": (53.58, 52.00), "B+O+CL": (54.56, 53.52), "B+O+CL+G": (56.65, 54.83)}


@pytest.fixture(scope="module")
def data(synthetic_root, tmp_path_factory):
    """The tiny synthetic SYSU-MM01 and a RegDB of 8 ids (4 training ids a trial: 3 iterations of 8 images;
    FastReID's metrics printer divides by zero at the end of a 2-iteration epoch)."""
    root = str(tmp_path_factory.mktemp("reproduce") / "data")
    shutil.copytree(synthetic_root, root)
    make_synthetic_regdb(root, num_ids=8, images_per_modality=3, seed=0)
    return root


def argv(data, output_root, *extra):
    return ["--datasets-root", data, "--output-root", str(output_root), "--configs-set", "synthetic",
            "--regdb-trials", "1", *extra, "--opts", *command_line(TINY)]


def fabricated_scores(dataset, index):
    """Setting s of method ``index``: metric m is index + 50 x (s's position) + m's position + 0.25."""
    scores = {}
    for position, (setting, _) in enumerate(SETTINGS[dataset]):
        for offset, metric in enumerate(METRICS):
            scores[f"{setting}/{metric}"] = index + 50 * position + offset + 0.25
            if dataset == "sysu":
                scores[f"{setting}/{metric}_std"] = 0.5
    return scores


def fabricate(output_root, data):
    """A results.json, as G2DATrainer writes it, for every run but the TRAINED ones."""
    for index, (dataset, name, folder) in enumerate(RUNS):
        if (dataset, name) in TRAINED:
            continue
        registered = {"sysu": "SYSUMM01_CM", "regdb": "RegDB_CM"}[dataset]
        os.makedirs(os.path.join(output_root, folder))
        with open(os.path.join(output_root, folder, "results.json"), "w") as f:
            json.dump({"results": {registered: fabricated_scores(dataset, index)}, "train_time_s": 60.0 * (index + 1),
                       "dataset_root": data, "datasets": [registered], "sysu_gallery": "community"}, f)


def run(capsys, args):
    main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out


def error_line(capsys, args):
    """The exit code and the one line the command wrote to stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return exit_info.value.code, lines[0]


def plan_line(out, output_dir):
    lines = [line for line in out.splitlines() if line.endswith(output_dir) or f"{output_dir}: " in line]
    assert len(lines) == 1, (output_dir, out)
    return lines[0]


def table_rows(markdown):
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[2:]]


def expected_rows(output_root):
    """The comparison table's rows, from each run's results.json and the paper's numbers."""
    rows = []
    for dataset, name, folder in RUNS:
        payload = json.load(open(os.path.join(output_root, folder, "results.json")))
        scores = next(iter(payload["results"].values()))
        time = str(timedelta(seconds=round(payload["train_time_s"])))
        for setting, label in SETTINGS[dataset]:
            cells = [f"{scores[f'{setting}/{m}']:.2f}" + (f" ± {scores[f'{setting}/{m}_std']:.2f}"
                                                          if dataset == "sysu" else "") for m in METRICS]
            rows.append([name, "measured", label, *cells, time])
            if name == "B+O+CL+G+MF (G2DA)":
                rows.append([name, "reported in the paper", label, *(f"{v:.2f}" for v in PAPER[setting]), "–", "–"])
            elif setting == "all-single" and name in PAPER_ABLATION:
                r1, mAP = PAPER_ABLATION[name]
                rows.append([name, "reported in the paper", label, f"{r1:.2f}", "–", "–", f"{mAP:.2f}", "–",
                             "–"])
    return rows


def sysu_training_images(data):
    sysu = os.path.join(data, "SYSU-MM01")
    ids = [int(i) for name in ("train_id.txt", "val_id.txt")
           for i in open(os.path.join(sysu, "exp", name)).read().split(",") if i.strip()]
    return sum(len(glob.glob(os.path.join(sysu, f"cam{c}", f"{i:04d}", "*.jpg"))) for c in range(1, 7) for i in ids)


def regdb_training_images(data):
    return sum(1 for m in ("visible", "thermal")
               for line in open(os.path.join(data, "RegDB", "idx", f"train_{m}_1.txt")) if line.strip())


# ------------------------------------------------------------------------------------------ the plan
def test_dry_run_lists_the_runs_marks_the_done_ones_and_estimates_the_rest(data, tmp_path, capsys):
    output_root = str(tmp_path / "paper")
    fabricate(output_root, data)
    out = run(capsys, argv(data, output_root, "--dry-run", "--estimate", "--estimate-iters", "1"))
    iterations = {"sysu": sysu_training_images(data) // 8, "regdb": regdb_training_images(data) // 8}  # batch 8
    assert iterations["regdb"] == 3
    total = 0
    for dataset, name, folder in RUNS:
        line = plan_line(out, os.path.join(output_root, folder))
        if (dataset, name) in TRAINED:
            match = re.search(r"\[to do\] .*: (\d+) iterations x ([0-9.]+) s = (\d+):(\d\d):(\d\d)$", line)
            assert match and int(match.group(1)) == iterations[dataset], line
            h, m, s = (int(v) for v in match.group(3, 4, 5))
            seconds = iterations[dataset] * float(match.group(2))  # the step's time is printed rounded
            assert abs(h * 3600 + m * 60 + s - seconds) <= 1
            total += seconds
        else:
            assert line.lstrip().startswith("[done] ") and "iterations" not in line, line
    assert "16 runs, 2 to do" in out and "timed on the CPU" in out
    h, m, s = (int(v) for v in re.search(r"estimated total of the runs to do: (\d+):(\d\d):(\d\d)\n", out).groups())
    assert abs(h * 3600 + m * 60 + s - total) <= 1
    assert "[to do] SYSUMM01_CM" in out and "[to do] RegDB_CM" in out
    for dataset in ("SYSU-MM01", "RegDB"):  # the synthetic data's true keypoints: nothing to extract
        assert f"[done] {os.path.join(data, dataset, 'keypoints.json')}: all " in out
    # nothing ran: no check recorded, no training, no table
    assert sorted(os.listdir(output_root)) == ["regdb", "sysu"]
    assert not glob.glob(os.path.join(output_root, "**", "train_net.out"), recursive=True)


def test_without_estimate_the_plan_says_not_measured(data, tmp_path, capsys):
    out = run(capsys, argv(data, tmp_path / "paper", "--dry-run", "--datasets", "regdb"))
    assert "estimated time on one GPU: not measured: run with --estimate" in out
    assert out.count("[to do] RegDB ") == 8 and "SYSU-MM01 " not in out


# ------------------------------------------------------------------------------------------ every step
@pytest.fixture(scope="module")
def first_run(data, tmp_path_factory):
    """The command on the fabricated runs: it checks, finds the keypoints, trains the two others, writes the table."""
    output_root = str(tmp_path_factory.mktemp("paper"))
    fabricate(output_root, data)
    main(argv(data, output_root))
    outs = {folder: os.path.getmtime(os.path.join(output_root, folder, "train_net.out"))
            for dataset, name, folder in RUNS if (dataset, name) in TRAINED}
    return output_root, outs


def test_every_step_runs_and_the_table_has_measured_beside_reported(first_run, data):
    output_root, _ = first_run
    for key in ("sysu", "regdb"):
        assert json.load(open(os.path.join(output_root, f"check_{key}.json")))["dataset_root"] == data
    for dataset, name, folder in RUNS:
        trained = os.path.exists(os.path.join(output_root, folder, "train_net.out"))
        assert trained == ((dataset, name) in TRAINED), folder
    payload = json.load(open(os.path.join(output_root, "regdb/Synthetic/bagtricks_R18/trial1/results.json")))
    assert payload["datasets"] == ["RegDB_CM"] and payload["regdb_trial"] == 1 and payload["iteration"] == 3
    text = open(os.path.join(output_root, "paper_comparison.md")).read()
    assert table_rows(text) == expected_rows(output_root)
    command = f"python tools/reproduce_paper.py --datasets-root {data} --output-root {output_root} "
    assert text.startswith(f"Cross-modality results (%) made by `{command}")
    assert f"on `DATASETS.ROOT` {data};" in text and "not measured here" in text and "synthetic data" in text


def test_a_rerun_trains_nothing_again(first_run, data, capsys):
    output_root, outs = first_run
    table = open(os.path.join(output_root, "paper_comparison.md")).read()
    out = run(capsys, argv(data, output_root))
    assert out.count("[done] ") == 2 + 2 + 16 and "[to do]" not in out  # checks, keypoints, runs
    for folder, mtime in outs.items():
        assert os.path.getmtime(os.path.join(output_root, folder, "train_net.out")) == mtime
    assert len(glob.glob(os.path.join(output_root, "**", "train_net.out"), recursive=True)) == len(outs)
    assert open(os.path.join(output_root, "paper_comparison.md")).read() == table
    assert out.endswith(table + "\n")


# ------------------------------------------------------------------------------------------ one-line errors
def test_missing_inputs_are_one_line_before_any_work(data, synthetic_root, tmp_path, capsys):
    out = tmp_path / "paper"
    real = ["--datasets-root", data, "--output-root", str(out), "--regdb-trials", "1"]
    assert error_line(capsys, [*real, "--imagenet-weights", str(tmp_path / "resnet50.pth")]) == (
        1, f"g2da: --imagenet-weights {tmp_path / 'resnet50.pth'}: no such file")
    assert error_line(capsys, real)[1].startswith("g2da: --imagenet-weights is needed")
    assert error_line(capsys, argv(str(tmp_path / "nowhere"), out)) == (
        1, f"g2da: --datasets-root {tmp_path / 'nowhere'}: no such folder")
    assert error_line(capsys, argv(synthetic_root, out)) == (
        1, f"g2da: --datasets-root {synthetic_root} has no RegDB/ folder (--datasets regdb)")
    assert error_line(capsys, argv(data, out, "--hrnet-checkpoint", str(tmp_path / "hrnet.pth"))) == (
        1, f"g2da: --hrnet-checkpoint {tmp_path / 'hrnet.pth'}: no such file")
    # the paper configs read keypoints_hrnet.json, which the synthetic data does not have
    weights = tmp_path / "resnet50.pth"
    weights.write_bytes(b"weights")
    code, line = error_line(capsys, [*real, "--imagenet-weights", str(weights)])
    sysu_keypoints = os.path.join(data, "SYSU-MM01", "keypoints_hrnet.json")
    assert code == 1 and line.startswith(f"g2da: step b: {sysu_keypoints} lacks ")
    assert line.endswith("needs --hrnet-checkpoint, the HRNet-w32 COCO weights file")
    if importlib.util.find_spec("mmpose") is None:
        code, line = error_line(capsys, [*real, "--imagenet-weights", str(weights), "--hrnet-checkpoint", str(weights)])
        assert code == 1 and line.endswith("needs the pose extra (mmpose), not installed: "
                                           "bash tools/install_pose_extra.sh")
    assert not out.exists()


def test_a_flagged_dataset_stops_the_command(data, tmp_path, capsys):
    broken = tmp_path / "data"
    shutil.copytree(data, broken)
    image = sorted(glob.glob(str(broken / "SYSU-MM01" / "cam1" / "*" / "*.jpg")))[0]
    with open(image, "r+b") as f:
        f.truncate(100)
    code, line = error_line(capsys, argv(str(broken), tmp_path / "paper"))
    assert code == 1
    assert line.startswith(f"g2da: step a: SYSUMM01_CM in {broken}: 1 problem(s) flagged, the first '{image}: ")
    assert not os.path.exists(tmp_path / "paper" / "check_sysu.json")
    assert not glob.glob(str(tmp_path / "paper" / "**" / "train_net.out"), recursive=True)
