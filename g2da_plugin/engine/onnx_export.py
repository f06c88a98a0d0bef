"""Export a trained model's test-time graph to ONNX: the library of ``tools/export_onnx.py`` (FastReID's
``tools/deploy/onnx_export.py``).

The graph (:class:`TestTimeGraph`, the model's own eval-mode forward) takes

* ``images``: (B, 3, H, W) uint8 RGB in 0..255 (IR: the gray value on the three channels), the loader's
  test images: resized to ``INPUT.SIZE_TEST`` = (H, W), which the graph is fixed to; the model normalises;
* ``modalities``: (B,) int64, 1 = IR, any other value RGB;
* ``keypoints`` (PosePartBaseline and G2DA only): (B, 17, 3) float32 COCO ``[x, y, score]`` in the pixels
  of those images (a keypoints file's, scaled with the resize);

and gives ``embedding`` (B, d) float32, the test embedding (B: the BNNeck feature; G2DA: V_G), not
normalised; B is dynamic.

Why ``modalities`` is an input: the two-stream backbone runs each image through its modality's stem.
The loaders split a batch by modality into index lists whose lengths depend on the labels, which a
graph of fixed shapes cannot hold; the graph runs both stems on every image and keeps each image's
(:data:`~g2da_plugin.data.batch_layout.SELECT_STEMS`): one graph for mixed batches, at the price of one
more stem (the 7x7 convolution, bn and max pool) per image.

Not in the graph: the online pose estimator (a ``MODEL.POSE.MODE online`` model is exported as in
cached mode: run an estimator and feed its keypoints), the losses and the OT (training only), and
flip-test (``TEST.FLIP``: run the graph on flipped images, and flipped keypoints, and average).

The export traces with torch.export (``dynamo=True``) and a symbolic batch size, so a Python branch
or a shape that depended on the batch's values fails the export instead of freezing into the graph;
``onnx.checker`` then checks the file, and :func:`check_with_onnxruntime` compares onnxruntime's
output with the model's at another batch size.
"""

import importlib
import logging
import warnings

import numpy as np
import torch
from torch import nn

from ..data.batch_layout import SELECT_STEMS
from ..data.datasets.modality import IR, RGB
from ..data.keypoint_geometry import NUM_KEYPOINTS, mean_pose_keypoints
from ..modeling.meta_arch import PosePartBaseline
from ..utils.errors import InputError
from .defaults import load_trained_model

__all__ = ["OUTPUT_NAME", "TestTimeGraph", "check_with_onnxruntime", "example_inputs", "export_onnx", "input_names",
           "require_onnx_extra"]

logger = logging.getLogger(__name__)

OUTPUT_NAME = "embedding"
EXTRA = ("onnx", "onnxscript", "onnxruntime")  # onnxscript: what torch.onnx.export(dynamo=True) translates with


def require_onnx_extra():
    """Import the onnx extra's packages, or one line saying how to install them."""
    try:
        return [importlib.import_module(name) for name in EXTRA]
    except ImportError as e:
        raise InputError(f"ONNX export needs the onnx extra ({', '.join(EXTRA)}; missing {e.name}): "
                         f"pip install -e '.[onnx]' -c constraints.txt") from None


class TestTimeGraph(nn.Module):
    """``(images, modalities[, keypoints]) -> embedding``: the model's eval-mode forward on a batch that
    asks for both stems (the module docstring)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, images, modalities, keypoints=None):
        batch = {"images": images, "modalities": modalities, SELECT_STEMS: True}
        if keypoints is not None:
            batch["keypoints"] = keypoints
        return self.model(batch)


def input_names(model):
    """The graph's inputs: the pose models also take keypoints (PosePartBaseline's with ``TEST_FEAT global``
    do not change its embedding, but its forward reads them)."""
    return ("images", "modalities", "keypoints") if isinstance(model, PosePartBaseline) else ("images", "modalities")


def example_inputs(model, size, batch_size, seed=0):
    """Inputs of :func:`input_names` for ``batch_size`` ``size`` (H, W) images: random pixels, RGB and IR
    in turn, and the mean pose jittered by a few pixels with random scores."""
    generator = torch.Generator().manual_seed(seed)
    height, width = size
    images = torch.randint(0, 256, (batch_size, 3, height, width), dtype=torch.uint8, generator=generator)
    modalities = torch.tensor([(RGB, IR)[i % 2] for i in range(batch_size)], dtype=torch.int64)
    inputs = [images, modalities]
    if "keypoints" in input_names(model):
        xy = torch.from_numpy(mean_pose_keypoints(width, height)[:, :2])
        xy = xy + torch.randn(batch_size, NUM_KEYPOINTS, 2, generator=generator) * 0.05 * width
        inputs.append(torch.cat([xy, torch.rand(batch_size, NUM_KEYPOINTS, 1, generator=generator)], dim=-1))
    return tuple(inputs)


def export_cfg(cfg):
    """``cfg`` for the export: on the CPU, in cached pose mode (the graph takes keypoints)."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.POSE.MODE = "cached"
    cfg.freeze()
    return cfg


def export_onnx(cfg, output, batch_size=2, opset=None):
    """Export the trained model of ``cfg`` (``MODEL.WEIGHTS``) to the ONNX file ``output``, traced at
    ``batch_size`` (>= 2: torch.export takes a size of 1 for a constant), and check it with
    ``onnx.checker``. Returns the model (on the CPU, in eval mode)."""
    onnx, _, _ = require_onnx_extra()
    if batch_size < 2:
        raise InputError(f"--batch-size must be >= 2 (a traced batch of 1 is taken for a constant), got {batch_size}")
    cfg = export_cfg(cfg)
    model = load_trained_model(cfg).eval()
    names = input_names(model)
    batch = torch.export.Dim("batch")
    with warnings.catch_warnings():
        # torch.onnx names each dynamic axis once and warns that the inputs' shared "batch" is "not used"
        # for all but one of them, though the file names them all "batch"
        warnings.filterwarnings("ignore", message="# The axis name: batch will not be used")
        torch.onnx.export(TestTimeGraph(model).eval(), example_inputs(model, cfg.INPUT.SIZE_TEST, batch_size), output,
                          input_names=list(names), output_names=[OUTPUT_NAME], opset_version=opset, dynamo=True,
                          dynamic_shapes={name: {0: batch} for name in names}, external_data=False, verbose=False)
    onnx.checker.check_model(output, full_check=True)
    logger.info("exported %s (inputs %s, output %s) to %s", type(model).__name__, ", ".join(names), OUTPUT_NAME,
                output)
    return model


def check_with_onnxruntime(model, path, size, batch_size, rtol=1e-3, atol=1e-4):
    """max |onnxruntime - torch| over the embeddings of :func:`example_inputs` (another draw than the
    export's) for ``batch_size`` images, torch running the model's own forward (the loaders' routing);
    RuntimeError (a bug, not an input) where they differ by more than ``atol + rtol |torch|``."""
    _, _, onnxruntime = require_onnx_extra()
    inputs = example_inputs(model, size, batch_size, seed=1)
    names = input_names(model)
    with torch.no_grad():
        expected = model(dict(zip(names, inputs))).numpy()
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {name: value.numpy() for name, value in zip(names, inputs)})[0]
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=atol):
        difference = np.abs(got - expected).max() if got.shape == expected.shape else "-"
        raise RuntimeError(f"{path}: onnxruntime's embeddings at batch size {batch_size} ({got.shape}) are not "
                           f"torch's ({expected.shape}): max |difference| {difference}")
    return float(np.abs(got - expected).max())
