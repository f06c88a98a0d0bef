#!/usr/bin/env python
"""The paper's pictures from a trained model: top-k retrieval grid (Fig. 5), t-SNE (Fig. 6), CMC curve.

    python tools/visualize.py --config-file projects/G2DA/configs/demo.yml [--output DIR]
        [--queries N | --query-indices I,J,...] [--trial T] [--top-k 10] [--tsne-ids 10] [--seed 0]
        [--dataset NAME] MODEL.WEIGHTS logs/demo/baseline/model_final.pth [KEY VALUE ...]

Extracts the test features of ``--dataset`` (default: the first of DATASETS.TESTS) once, logs the
protocol's results table, and writes to ``--output`` (default ``<OUTPUT_DIR>/visualize``):

* ``retrieval.png``: one row per query, then its top-k matches (ranked by TEST.METRIC, as the
  evaluation ranks them), framed green (same identity) or red, the cosine similarity over each.
  The queries are ``--queries`` N of distinct identities drawn with ``--seed``, or the positions
  given by ``--query-indices`` in the query list (the log names each query's position, identity
  and file). SYSU-MM01: IR queries against the single-shot all-search gallery of draw ``--trial``
  (cam2 images are not shown for cam3 queries, as in the protocol); RegDB: visible queries against
  the thermal test images.
* ``tsne.png``: t-SNE of every test image of ``--tsne-ids`` identities, colour = identity,
  marker = modality.
* ``cmc.png``: CMC ranks 1..20; SYSU-MM01 all- and indoor-search single-shot, the mean over the
  TEST.SYSU.TRIALS gallery draws; RegDB visible->thermal and thermal->visible.
"""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import g2da_plugin  # noqa: E402,F401  (applies the fastreid compatibility fixes, registers the plugin)
from fastreid.evaluation import inference_on_dataset  # noqa: E402
from fastreid.utils.logger import setup_logger  # noqa: E402

from g2da_plugin.engine import G2DATrainer, load_trained_model, setup_cfg  # noqa: E402
from g2da_plugin.evaluation import pairwise_distance  # noqa: E402
from g2da_plugin.evaluation.visualize import (  # noqa: E402
    MODALITY_LABELS, cmc_curves, cmc_figure, pick_queries, retrieval_figure, retrieval_sets, top_k_matches,
    tsne_embedding, tsne_figure, tsne_selection,
)

logger = logging.getLogger("g2da_plugin.visualize")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="visualize.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-file", required=True, metavar="FILE", help="the config the model was trained with")
    parser.add_argument("--output", metavar="DIR", help="folder for the PNGs (default <OUTPUT_DIR>/visualize)")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--queries", type=int, default=6, metavar="N",
                        help="draw N queries of distinct identities with --seed (default 6)")
    chosen.add_argument("--query-indices", metavar="I,J,...",
                        help="these queries instead, as comma-separated positions in the query list")
    parser.add_argument("--trial", type=int, metavar="T",
                        help="SYSU-MM01 single-shot gallery draw of the retrieval grid (default 0)")
    parser.add_argument("--top-k", type=int, default=10, help="matches per query (default 10)")
    parser.add_argument("--tsne-ids", type=int, default=10, help="identities in the t-SNE (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="draws the queries, t-SNE identities and t-SNE")
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


def chosen_queries(args, q_pids):
    if args.query_indices is None:
        return pick_queries(q_pids, args.queries, seed=args.seed)
    wrong = [i for i in args.query_indices if not 0 <= i < len(q_pids)]
    if wrong:
        sys.exit(f"g2da: --query-indices {wrong[0]} is out of range: there are {len(q_pids)} queries "
                 f"(0..{len(q_pids) - 1})")
    return args.query_indices


def write_retrieval(args, cfg, features, protocol, dataset_root, path):
    query, gallery, excluded = retrieval_sets(features, protocol, dataset_root, trial=args.trial or 0)
    rows = chosen_queries(args, query.pids)
    query, excluded = query.subset(rows), excluded[rows]
    ranks, correct = top_k_matches(pairwise_distance(query.feats, gallery.feats, cfg.TEST.METRIC), query.pids,
                                   gallery.pids, k=args.top_k, excluded=excluded)
    similarity = 1 - pairwise_distance(query.feats, gallery.feats, "cosine")
    scores = [similarity[i, r] for i, r in enumerate(ranks)]
    if protocol == "sysu":
        title = f"SYSU-MM01: IR query -> RGB, all-search single-shot gallery of draw {args.trial or 0}"
    else:
        title = f"RegDB trial {cfg.DATASETS.REGDB_TRIAL}: visible query -> thermal"
    title += f"; top-{args.top_k}, green = same identity, red = other, cosine similarity above"
    retrieval_figure(query.paths, query.pids, gallery.paths, ranks, correct, scores, title=title).savefig(path)
    for index, q_path, q_pid, hits in zip(rows, query.paths, query.pids, correct):
        logger.info("query %d (id %s, %s): %d of the top %d correct", index, q_pid, q_path, hits.sum(), len(hits))


def write_tsne(args, cfg, features, protocol, path):
    index, colours, markers = tsne_selection(features.pids, features.modalities, args.tsne_ids, seed=args.seed)
    points = tsne_embedding(features.feats[index], metric=cfg.TEST.METRIC, seed=args.seed)
    title = (f"t-SNE of {len(index)} test images of {len(set(features.pids[index]))} identities "
             f"(colour: identity, marker: modality)")
    tsne_figure(points, colours, markers, MODALITY_LABELS[protocol], title=title).savefig(path)


def write_cmc(cfg, features, protocol, dataset_root, path):
    curves = cmc_curves(features, protocol, dataset_root, metric=cfg.TEST.METRIC, trials=cfg.TEST.SYSU.TRIALS)
    if protocol == "sysu":
        title = f"SYSU-MM01 single-shot, mean of {cfg.TEST.SYSU.TRIALS} gallery draws"
    else:
        title = f"RegDB trial {cfg.DATASETS.REGDB_TRIAL}"
    cmc_figure(curves, title=title).savefig(path)


def main(argv=None):
    args = parse_args(argv)
    cfg = setup_cfg(args)
    setup_logger(name="fastreid")
    setup_logger(name="g2da_plugin", abbrev_name="g2da")
    dataset_name = args.dataset or cfg.DATASETS.TESTS[0]
    model = load_trained_model(cfg)
    loader, evaluator = G2DATrainer.build_evaluator(cfg, dataset_name)
    protocol, dataset_root = evaluator.protocol, evaluator.dataset_root
    if protocol == "regdb" and args.trial is not None:
        sys.exit("g2da: --trial picks a SYSU-MM01 gallery draw; RegDB's split is DATASETS.REGDB_TRIAL")
    # The evaluator logs the protocol's table and keeps the features: they are extracted once.
    inference_on_dataset(model, loader, evaluator, flip_test=cfg.TEST.FLIP.ENABLED)
    features = evaluator.features()
    output = args.output or os.path.join(cfg.OUTPUT_DIR, "visualize")
    os.makedirs(output, exist_ok=True)
    write_retrieval(args, cfg, features, protocol, dataset_root, os.path.join(output, "retrieval.png"))
    write_tsne(args, cfg, features, protocol, os.path.join(output, "tsne.png"))
    write_cmc(cfg, features, protocol, dataset_root, os.path.join(output, "cmc.png"))
    logger.info("wrote retrieval.png, tsne.png and cmc.png to %s", os.path.abspath(output))


def run(argv=None):
    try:
        main(argv)
    except FileNotFoundError as e:
        # Missing data, weights or config files: one clear line, not a traceback.
        sys.exit(f"g2da: {e}")


if __name__ == "__main__":
    run()
