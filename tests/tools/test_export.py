"""tools/extract_features.py and tools/export_onnx.py on tiny random B and G2DA models: the features are the
model's own eval-mode embeddings of the images, onnxruntime's embeddings are torch's at a batch size other
than the traced one, and a bad input ends with one ``g2da:`` line."""

import importlib.util
import os
import sys

import faiss
import numpy as np
import pytest
import torch
from fastreid.modeling import build_model
from PIL import Image

from g2da_plugin.data.build import load_dataset
from g2da_plugin.data.datasets.modality import IR, RGB
from g2da_plugin.data.keypoints_io import load_keypoints, save_keypoints
from g2da_plugin.data.transforms import scale_keypoints
from tests.helpers import ROOT, TINY_TRAINING, make_cfg, tiny_model_cfg
from tests.tools.test_bad_inputs import without_logging_errors

ARCHITECTURES = {
    "B": {"MODEL.META_ARCHITECTURE": "CrossModalityBaseline"},
    "G2DA": {"MODEL.META_ARCHITECTURE": "G2DA", "INPUT.KEYPOINTS.ENABLED": True,
             "MODEL.LOSSES.NAME": ("CrossEntropyLoss", "CrossModalityTripletLoss", "GraphCrossEntropyLoss")},
}
HEIGHT, WIDTH = TINY_TRAINING["INPUT.SIZE_TEST"]


def tool(name):
    """The ``run(argv)`` of ``tools/<name>.py``, called in this process."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run


extract_features, export_onnx = tool("extract_features"), tool("export_onnx")


class Trained:
    """A random model saved as a trained one: its config file, weights and the model itself (eval mode)."""

    def __init__(self, name, root, folder):
        cfg = tiny_model_cfg({**TINY_TRAINING, "DATASETS.ROOT": root, **ARCHITECTURES[name]})
        torch.manual_seed(0)
        self.model = build_model(cfg).eval()
        with torch.no_grad():  # BN statistics other than 0 and 1, so that eval-mode BN matters
            for module in self.model.modules():
                if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                    module.running_mean.uniform_(-0.1, 0.1)
                    module.running_var.uniform_(0.5, 2.0)
        self.config, self.weights = str(folder / "config.yml"), str(folder / "model.pth")
        with open(self.config, "w") as f:
            f.write(cfg.dump())
        torch.save(self.model.state_dict(), self.weights)
        self.pose = name == "G2DA"

    def args(self, *args):
        return ["--config-file", self.config, *args, "MODEL.WEIGHTS", self.weights]


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def trained(request, synthetic_root, tmp_path_factory):
    return Trained(request.param, synthetic_root, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def g2da(synthetic_root, tmp_path_factory):
    return Trained("G2DA", synthetic_root, tmp_path_factory.mktemp("g2da"))


def sysu(root, *parts):
    return os.path.join(root, "SYSU-MM01", *parts)


def folder_keypoints(root, camera, path):
    """The dataset's true keypoints of ``camera``'s images, keyed relative to that camera's folder, in ``path``."""
    table = load_keypoints(sysu(root, "keypoints.json"))
    save_keypoints(path, {key[len(camera) + 1:]: value for key, value in table.items()
                          if key.startswith(camera + "/")}, "test")
    return load_keypoints(path)


def hand_batch(paths, modalities, keypoints):
    """The images resized as by hand with PIL (bicubic, uint8), their keypoints scaled alike."""
    images, points = [], []
    for path, key in paths:
        with Image.open(path) as image:
            image = image.convert("RGB")
            size = image.size
            images.append(torch.from_numpy(np.array(image.resize((WIDTH, HEIGHT), Image.BICUBIC))).permute(2, 0, 1))
        if keypoints is not None:
            points.append(torch.from_numpy(scale_keypoints(keypoints[key], size, (WIDTH, HEIGHT))))
    batch = {"images": torch.stack(images), "modalities": torch.tensor(modalities)}
    if keypoints is not None:
        batch["keypoints"] = torch.stack(points)
    return batch


def camera_images(root, camera):
    folder = sysu(root, camera)
    return sorted((os.path.join(folder, pid, name), f"{pid}/{name}") for pid in os.listdir(folder)
                  for name in os.listdir(os.path.join(folder, pid)))


def test_features_of_a_folder_are_the_models_embeddings(trained, synthetic_root, tmp_path):
    keypoints = folder_keypoints(synthetic_root, "cam3", tmp_path / "keypoints.json") if trained.pose else None
    output = tmp_path / "features.npz"
    extract_features(trained.args("--input", sysu(synthetic_root, "cam3"), "--modality", "ir", "--output",
                                  str(output), *(["--keypoints", str(tmp_path / "keypoints.json")] * trained.pose)))
    saved = np.load(output)
    assert set(saved) == {"features", "names", "modalities"}  # no identities outside a dataset
    images = camera_images(synthetic_root, "cam3")
    assert saved["names"].tolist() == [key for _, key in images]
    assert saved["modalities"].tolist() == [IR] * len(images)
    with torch.no_grad():
        expected = trained.model(hand_batch(images, [IR] * len(images), keypoints)).numpy()
    np.testing.assert_allclose(saved["features"], expected, rtol=0, atol=1e-5)


def test_a_dataset_split_keeps_its_labels(g2da, synthetic_root, tmp_path):
    gallery = load_dataset(make_cfg(overrides={"DATASETS.ROOT": synthetic_root}), "SYSUMM01_CM").gallery
    output = str(tmp_path / "gallery.faiss")
    # the dataset's own keypoints file by default
    extract_features(g2da.args("--dataset", "SYSUMM01_CM", "--split", "gallery", "--format", "faiss",
                               "--output", output))
    saved = np.load(output + ".npz")
    assert saved["names"].tolist() == [os.path.relpath(p, sysu(synthetic_root)) for p, _, _, _ in gallery]
    assert saved["pids"].tolist() == [pid for _, pid, _, _ in gallery]
    assert saved["camids"].tolist() == [cam for _, _, cam, _ in gallery]
    assert saved["modalities"].tolist() == [RGB] * len(gallery) and str(saved["metric"]) == "cosine"
    index = faiss.read_index(output)
    assert index.ntotal == len(gallery) and index.metric_type == faiss.METRIC_INNER_PRODUCT
    vectors = index.reconstruct_n(0, index.ntotal)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)  # cosine: normalised
    _, nearest = index.search(vectors, 1)
    assert nearest[:, 0].tolist() == list(range(len(gallery)))


def test_onnx_graph_gives_torchs_embeddings_at_another_batch_size(trained, synthetic_root, tmp_path, capsys):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")  # the onnx extra (bash tools/setup_env.sh)
    output = str(tmp_path / "model.onnx")
    export_onnx(trained.args("--output", output, "--batch-size", "2"))
    assert "onnxruntime vs torch at batch size 3: max |difference|" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(output, providers=["CPUExecutionProvider"])
    names = ["images", "modalities"] + ["keypoints"] * trained.pose
    assert [i.name for i in session.get_inputs()] == names
    assert all(i.shape[0] == "batch" for i in session.get_inputs())
    # 5 real images, RGB and IR mixed, against the traced 2
    keypoints = load_keypoints(sysu(synthetic_root, "keypoints.json")) if trained.pose else None
    images = [(path, f"{camera}/{key}") for camera in ("cam1", "cam3")
              for path, key in camera_images(synthetic_root, camera)[:3]][:5]
    batch = hand_batch(images, [RGB, RGB, RGB, IR, IR], keypoints)
    with torch.no_grad():
        expected = trained.model(batch).numpy()
    got = session.run(["embedding"], {name: batch[name].numpy() for name in names})[0]
    difference = np.abs(got - expected).max()
    print(f"max |onnxruntime - torch| ({'G2DA' if trained.pose else 'B'}, batch 5): {difference:.3g}")
    assert got.shape == expected.shape and difference < 1e-4


def one_line(capsys, run, argv):
    """``run(argv)``'s exit code 1 and its only line on stderr, which has no traceback."""
    with pytest.raises(SystemExit) as exit_info:
        run(argv)
    err = without_logging_errors(capsys.readouterr().err)
    lines = err.strip().splitlines()
    assert exit_info.value.code == 1 and len(lines) == 1 and lines[0].startswith("g2da: "), err
    return lines[0]


def test_bad_inputs_of_extract_features_end_with_one_line(g2da, synthetic_root, tmp_path, capsys):
    out = ["--output", str(tmp_path / "f.npz")]
    cam3 = sysu(synthetic_root, "cam3")
    missing = g2da.args("--input", str(tmp_path / "nowhere"), "--modality", "ir", *out)
    assert "no such folder or file" in one_line(capsys, extract_features, missing)
    (tmp_path / "empty").mkdir()
    assert "no image" in one_line(capsys, extract_features,
                                  g2da.args("--input", str(tmp_path / "empty"), "--modality", "ir", *out))
    assert "no image" in one_line(capsys, extract_features,
                                  g2da.args("--input", os.path.join(cam3, "*", "*.png"), "--modality", "ir", *out))
    assert "--modality" in one_line(capsys, extract_features, g2da.args("--input", cam3, *out))
    no_keypoints = g2da.args("--input", cam3, "--modality", "ir", *out)
    assert "--keypoints FILE" in one_line(capsys, extract_features, no_keypoints)
    table = folder_keypoints(synthetic_root, "cam3", tmp_path / "keypoints.json")
    first = sorted(table)[0]
    save_keypoints(tmp_path / "keypoints.json", {k: v for k, v in table.items() if k != first}, "test")
    line = one_line(capsys, extract_features, g2da.args("--input", cam3, "--modality", "ir", "--keypoints",
                                                        str(tmp_path / "keypoints.json"), *out))
    assert line.startswith(f"g2da: no keypoints for image {os.path.join(cam3, first)}")
    weights = ["--config-file", g2da.config, "--input", cam3, "--modality", "ir", *out,
               "MODEL.WEIGHTS", str(tmp_path / "none.pth")]
    assert "MODEL.WEIGHTS must name a trained checkpoint" in one_line(capsys, extract_features, weights)
    assert not (tmp_path / "f.npz").exists()


def test_bad_inputs_of_export_onnx_end_with_one_line(g2da, tmp_path, capsys, monkeypatch):
    line = one_line(capsys, export_onnx, g2da.args("--output", str(tmp_path / "a" / "model.onnx")))
    assert "its folder does not exist" in line
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if the onnx extra were not installed
    assert "pip install -e '.[onnx]'" in one_line(capsys, export_onnx, g2da.args("--output", str(tmp_path / "m.onnx")))


def test_bad_inputs_of_export_onnx_with_the_extra_end_with_one_line(g2da, tmp_path, capsys):
    for name in ("onnx", "onnxscript", "onnxruntime"):
        pytest.importorskip(name)
    out = ["--output", str(tmp_path / "model.onnx")]
    assert "--batch-size must be >= 2" in one_line(capsys, export_onnx, g2da.args(*out, "--batch-size", "1"))
    weights = ["--config-file", g2da.config, *out, "MODEL.WEIGHTS", str(tmp_path / "none.pth")]
    assert "MODEL.WEIGHTS must name a trained checkpoint" in one_line(capsys, export_onnx, weights)
    assert not (tmp_path / "model.onnx").exists()
