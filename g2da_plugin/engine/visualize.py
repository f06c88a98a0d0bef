"""The paper's pictures of a trained model: the library of ``tools/visualize.py``.

FastReID's Visualizer draws the rank lists, the ROC curve and the positive/negative distance
distributions (fed by :mod:`g2da_plugin.evaluation.visualize` with the protocol's queries and gallery);
the plugin draws the t-SNE and the CMC curves, which FastReID has no picture for.
"""

import logging
import os
import random

import matplotlib.pyplot as plt
from fastreid.evaluation import inference_on_dataset
from fastreid.utils.logger import setup_logger
from fastreid.utils.visualizer import Visualizer

from ..evaluation import pairwise_distance
from ..evaluation.visualize import (MODALITY_LABELS, CrossModalVisualizer, RankListImages, cmc_curves, cmc_figure,
                                    pick_queries, retrieval_sets, tsne_embedding, tsne_figure, tsne_selection)
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


def protocol_visualizer(cfg, features, protocol, dataset_root, trial):
    """A :class:`CrossModalVisualizer` of every query against the protocol's gallery (SYSU-MM01: draw
    ``trial``), ranked by TEST.METRIC as the evaluation ranks them."""
    query, gallery, excluded = retrieval_sets(features, protocol, dataset_root, trial=trial)
    visualizer = CrossModalVisualizer(RankListImages(query, gallery, MODALITY_LABELS[protocol]), excluded)
    visualizer.get_model_output(None, pairwise_distance(query.feats, gallery.feats, cfg.TEST.METRIC), query.pids,
                                gallery.pids, query.camids, gallery.camids)
    return visualizer, query


def write_rank_lists(args, visualizer, query, folder):
    """``folder/N.jpg``: the N-th chosen query's rank list, drawn by FastReID."""
    rows = chosen_queries(args, query.pids)
    ranked = [visualizer.get_matched_result(q) for q in rows]
    # FastReID draws exactly max_rank matches: no more than the shortest chosen list has.
    top_k = min(args.top_k, *(len(order) for _, order in ranked))
    os.makedirs(folder, exist_ok=True)
    visualizer.save_rank_result(rows, folder, max_rank=top_k)
    plt.close("all")  # FastReID leaves its pyplot figures open
    for n, (q, (hits, _)) in enumerate(zip(rows, ranked)):
        logger.info("%d.jpg: query %d (id %s, %s): %d of the top %d correct", n, q, query.pids[q], query.paths[q],
                    hits[:top_k].sum(), top_k)


def write_roc_and_distributions(args, visualizer, output):
    """``roc.jpg`` and ``pos_neg_dist.jpg`` over every query-gallery pair the protocol counts, drawn by FastReID."""
    random.seed(args.seed)  # FastReID picks its curve colours with Python's random
    _, _, pos, neg = visualizer.vis_roc_curve(output)
    Visualizer.plot_distribution(pos, neg).savefig(os.path.join(output, "pos_neg_dist.jpg"))
    plt.close("all")


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
    """Extract the test features once, log the protocol table and write rank_list/, roc.jpg,
    pos_neg_dist.jpg, tsne.png and cmc.png (``args``: tools/visualize.py's arguments)."""
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
    visualizer, query = protocol_visualizer(cfg, features, protocol, dataset_root, args.trial or 0)
    write_rank_lists(args, visualizer, query, os.path.join(output, "rank_list"))
    write_roc_and_distributions(args, visualizer, output)
    write_tsne(args, cfg, features, protocol, os.path.join(output, "tsne.png"))
    write_cmc(cfg, features, protocol, dataset_root, os.path.join(output, "cmc.png"))
    logger.info("wrote rank_list/, roc.jpg, pos_neg_dist.jpg, tsne.png and cmc.png to %s", os.path.abspath(output))
