"""The paper's pictures of a trained model (retrieval grid, t-SNE, CMC): the library of ``tools/visualize.py``."""

import logging
import os

from fastreid.evaluation import inference_on_dataset
from fastreid.utils.logger import setup_logger

from ..evaluation import pairwise_distance
from ..evaluation.visualize import (MODALITY_LABELS, cmc_curves, cmc_figure, pick_queries, retrieval_figure,
                                    retrieval_sets, top_k_matches, tsne_embedding, tsne_figure, tsne_selection)
from ..utils.errors import InputError
from .defaults import load_trained_model, setup_cfg
from .trainer import G2DATrainer

logger = logging.getLogger("g2da_plugin.visualize")


def chosen_queries(args, q_pids):
    if args.query_indices is None:
        return pick_queries(q_pids, args.queries, seed=args.seed)
    wrong = [i for i in args.query_indices if not 0 <= i < len(q_pids)]
    if wrong:
        raise InputError(f"--query-indices {wrong[0]} is out of range: there are {len(q_pids)} queries "
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


def draw_pictures(args):
    """Extract the test features once, log the protocol table and write retrieval.png, tsne.png and
    cmc.png (``args``: tools/visualize.py's arguments)."""
    cfg = setup_cfg(args)
    setup_logger(name="fastreid")
    setup_logger(name="g2da_plugin", abbrev_name="g2da")
    dataset_name = args.dataset or cfg.DATASETS.TESTS[0]
    model = load_trained_model(cfg)
    loader, evaluator = G2DATrainer.build_evaluator(cfg, dataset_name)
    protocol, dataset_root = evaluator.protocol, evaluator.dataset_root
    if protocol == "regdb" and args.trial is not None:
        raise InputError("--trial picks a SYSU-MM01 gallery draw; RegDB's split is DATASETS.REGDB_TRIAL")
    # The evaluator logs the protocol's table and keeps the features: they are extracted once.
    inference_on_dataset(model, loader, evaluator, flip_test=cfg.TEST.FLIP.ENABLED)
    features = evaluator.features()
    output = args.output or os.path.join(cfg.OUTPUT_DIR, "visualize")
    os.makedirs(output, exist_ok=True)
    write_retrieval(args, cfg, features, protocol, dataset_root, os.path.join(output, "retrieval.png"))
    write_tsne(args, cfg, features, protocol, os.path.join(output, "tsne.png"))
    write_cmc(cfg, features, protocol, dataset_root, os.path.join(output, "cmc.png"))
    logger.info("wrote retrieval.png, tsne.png and cmc.png to %s", os.path.abspath(output))
