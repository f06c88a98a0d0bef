#!/usr/bin/env python
"""Embed images with a trained model (FastReID's demo/demo.py): features, names and, for a dataset, identities.

    python tools/extract_features.py --config-file projects/G2DA/configs/demo_G2DA.yml \\
        --input photos/ --modality ir [--keypoints photos/keypoints.json] --output photos.npz \\
        MODEL.WEIGHTS logs/demo/g2da_full/model_final.pth [KEY VALUE ...]
    python tools/extract_features.py --config-file projects/G2DA/configs/demo.yml \\
        --dataset SYSUMM01_CM --split gallery --format faiss --output gallery.faiss \\
        MODEL.WEIGHTS logs/demo/baseline/model_final.pth

Images: ``--input`` a folder (every .jpg/.jpeg/.png/.bmp under it) or a glob pattern (quote it; ``**``
recurses), all of ``--modality`` (rgb or ir: each image runs through its modality's stem); or ``--dataset``
``--split`` (query, gallery or train) of a registered dataset under DATASETS.ROOT. They are resized to
INPUT.SIZE_TEST and embedded as in evaluation (the model's test embedding: B's BNNeck feature, G2DA's V_G).

Keypoints (PosePartBaseline and G2DA with MODEL.POSE.MODE cached): ``--keypoints FILE``, a keypoints file
(g2da_plugin/data/keypoints_io.py) whose keys are the image paths relative to the ``--input`` folder (a
glob's: the folder before its first wildcard) or to the dataset folder; a dataset's own file
(INPUT.KEYPOINTS.FILE) by default. With MODEL.POSE.MODE online the model estimates them.

Output: ``--format npz`` (default): ``--output`` holds ``features`` (N, d) float32 (not normalised),
``names`` (paths relative as above) and ``modalities`` (0 RGB, 1 IR), plus ``pids`` and ``camids`` for a
dataset. ``--format faiss``: ``--output`` is a flat faiss index of the features for TEST.METRIC (cosine:
inner product of L2-normalised features; euclidean: L2), and ``<output>.npz`` holds the other arrays
(row i of the index is ``names[i]``) and the metric.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (applies the fastreid compatibility fixes, registers the plugin)
from fastreid.utils.logger import setup_logger  # noqa: E402
from g2da_plugin.engine.defaults import setup_cfg  # noqa: E402
from g2da_plugin.engine.features import FORMATS, SPLITS, extract_features  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="extract_features.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE", help="the config the model was trained with")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="DIR|GLOB", help="a folder of images or a glob pattern")
    source.add_argument("--dataset", metavar="NAME", help="a registered dataset, e.g. SYSUMM01_CM or RegDB_CM")
    parser.add_argument("--modality", choices=("rgb", "ir"), help="the modality of the --input images")
    parser.add_argument("--split", choices=SPLITS, help="the --dataset split")
    parser.add_argument("--keypoints", metavar="FILE", help="a keypoints file, for the pose models in cached mode")
    parser.add_argument("--output", required=True, metavar="PATH", help="the .npz file or faiss index to write")
    parser.add_argument("--format", choices=FORMATS, default="npz", help="npz (default) or faiss")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, e.g. MODEL.WEIGHTS")
    return parser.parse_args(argv)


@exit_on_input_error
def run(argv=None):
    args = parse_args(argv)
    setup_logger(name="fastreid")
    setup_logger(name="g2da_plugin", abbrev_name="g2da")
    extract_features(setup_cfg(args), args.output, fmt=args.format, input=args.input, modality=args.modality,
                     dataset=args.dataset, split=args.split, keypoints=args.keypoints)


if __name__ == "__main__":
    run()
