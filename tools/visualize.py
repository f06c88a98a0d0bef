#!/usr/bin/env python
"""The paper's pictures from a trained model: rank lists (Fig. 5), ROC curve, distance distributions,
t-SNE (Fig. 6), CMC curve.

    python tools/visualize.py --config-file projects/G2DA/configs/demo.yml [--output DIR]
        [--queries N | --query-indices I,J,...] [--trial T] [--top-k 10] [--tsne-ids 10] [--seed 0]
        [--dataset NAME] MODEL.WEIGHTS logs/demo/baseline/model_final.pth [KEY VALUE ...]

Extracts the test features of ``--dataset`` (default: the first of DATASETS.TESTS) once, logs the
protocol's results table, and writes to ``--output`` (default ``<OUTPUT_DIR>/visualize``). The
protocol's queries and gallery: SYSU-MM01, IR queries against the single-shot all-search gallery of
draw ``--trial`` (default 0), a cam3 query never seeing a cam2 image; RegDB, visible queries against
the thermal test images. FastReID's Visualizer draws the first three:

* ``rank_list/N.jpg``: the N-th query, then its top-k matches (ranked by TEST.METRIC, as the
  evaluation ranks them), framed red (same identity) or blue, titled 1 - distance (cosine
  similarity under the cosine metric) / true or false / camera and modality; the query is titled
  its AP / camera and modality. The queries are ``--queries`` N of distinct identities drawn with
  ``--seed``, or the positions given by ``--query-indices`` in the query list (the log names each
  file's query position, identity, file and hits).
* ``roc.jpg``: ROC curve of the distances of every query-gallery pair the protocol counts.
* ``pos_neg_dist.jpg``: the distance distributions of those pairs, same identity and not.
* ``tsne.png``: t-SNE of every test image of ``--tsne-ids`` identities, colour = identity,
  marker = modality.
* ``cmc.png``: CMC ranks 1..20; SYSU-MM01 all- and indoor-search single-shot, the mean over the
  TEST.SYSU.TRIALS gallery draws; RegDB visible->thermal and thermal->visible.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (applies the fastreid compatibility fixes, registers the plugin)
from g2da_plugin.engine.visualize import draw_pictures  # noqa: E402
from g2da_plugin.utils.errors import exit_on_input_error  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="visualize.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE", help="the config the model was trained with")
    parser.add_argument("--output", metavar="DIR", help="folder for the pictures (default <OUTPUT_DIR>/visualize)")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--queries", type=int, default=6, metavar="N",
                        help="draw N queries of distinct identities with --seed (default 6)")
    chosen.add_argument("--query-indices", metavar="I,J,...",
                        help="these queries instead, as comma-separated positions in the query list")
    parser.add_argument("--trial", type=int, metavar="T",
                        help="SYSU-MM01 single-shot gallery draw of the rank lists, ROC and distance distributions "
                             "(default 0)")
    parser.add_argument("--top-k", type=int, default=10, help="matches per query (default 10)")
    parser.add_argument("--tsne-ids", type=int, default=10, help="identities in the t-SNE (default 10)")
    parser.add_argument("--seed", type=int, default=0,
                        help="draws the queries, t-SNE identities and t-SNE, and FastReID's curve colours")
    parser.add_argument("--dataset", help="test dataset (default: the first of DATASETS.TESTS)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides, e.g. MODEL.WEIGHTS")
    args = parser.parse_args(argv)
    for name in ("queries", "top_k", "tsne_ids"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.trial is not None and args.trial < 0:
        parser.error("--trial must be >= 0")
    if args.query_indices is not None:
        try:
            args.query_indices = [int(i) for i in args.query_indices.split(",")]
        except ValueError:
            parser.error(f"--query-indices expects comma-separated integers, got {args.query_indices!r}")
    return args


@exit_on_input_error
def run(argv=None):
    draw_pictures(parse_args(argv))


if __name__ == "__main__":
    run()
