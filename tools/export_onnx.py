#!/usr/bin/env python
"""Export a trained model's test-time graph to ONNX (FastReID's tools/deploy/onnx_export.py).

    python tools/export_onnx.py --config-file projects/G2DA/configs/demo_G2DA.yml --output g2da.onnx \\
        [--batch-size 2] [--opset N] MODEL.WEIGHTS logs/demo/g2da_full/model_final.pth [KEY VALUE ...]

Needs the onnx extra: pip install -e '.[onnx]' -c constraints.txt (onnx, onnxscript, onnxruntime).

The graph's inputs: ``images`` (B, 3, H, W) uint8 RGB 0..255 at INPUT.SIZE_TEST (IR: gray on the three
channels), ``modalities`` (B,) int64 (1 = IR, else RGB: the graph runs both stems and keeps each image's),
and for PosePartBaseline and G2DA ``keypoints`` (B, 17, 3) float32 COCO [x, y, score] in the pixels of
those images. Output: ``embedding`` (B, d) float32, the test embedding (G2DA: V_G). B is dynamic.

The model is traced on the CPU at ``--batch-size`` (>= 2) with torch.export, checked with onnx.checker,
then run by onnxruntime at another batch size against torch: the largest difference is printed, and a
difference above 1e-4 + 1e-3 |torch| stops with an error. An online pose model is exported as in cached
mode (feed it an estimator's keypoints); flip-test is left to the caller. See
g2da_plugin/engine/onnx_export.py.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (applies the fastreid compatibility fixes, registers the plugin)
from fastreid.utils.logger import setup_logger  # noqa: E402
from g2da_plugin.engine.defaults import setup_cfg  # noqa: E402
from g2da_plugin.engine.onnx_export import check_with_onnxruntime, export_onnx  # noqa: E402
from g2da_plugin.utils.errors import MissingInputError, exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="export_onnx.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE", help="the config the model was trained with")
    parser.add_argument("--output", required=True, metavar="FILE", help="the .onnx file to write")
    parser.add_argument("--batch-size", type=int, default=2, help="the batch size traced (>= 2; default 2)")
    parser.add_argument("--opset", type=int, help="the ONNX opset (default: torch.onnx's)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, e.g. MODEL.WEIGHTS")
    return parser.parse_args(argv)


@exit_on_input_error
def run(argv=None):
    args = parse_args(argv)
    setup_logger(name="fastreid")
    setup_logger(name="g2da_plugin", abbrev_name="g2da")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.output))):
        raise MissingInputError(f"--output {args.output}: its folder does not exist")
    cfg = setup_cfg(args)
    model = export_onnx(cfg, args.output, batch_size=args.batch_size, opset=args.opset)
    check_batch = args.batch_size + 1
    difference = check_with_onnxruntime(model, args.output, cfg.INPUT.SIZE_TEST, check_batch)
    print(f"{args.output}: onnxruntime vs torch at batch size {check_batch}: max |difference| {difference:.3g}")


if __name__ == "__main__":
    run()
