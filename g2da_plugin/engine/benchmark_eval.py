"""Cost of SYSU-MM01's evaluation: the 40 scorings (all / indoor search x single / 10-shot x 10 gallery draws)
from one feature pass, as the evaluator runs them.

Random unit features (``torch.randn``, normalised) at the size of SYSU-MM01's test set: 3,803 IR queries
of 96 identities on cam3 (indoor) and cam6 (outdoor); 6,775 RGB gallery candidates of the same identities
on cam1 / cam2 (indoor: 56 identities, 112 folders) and cam4 / cam5 (outdoor: 189 folders), 10 to about
55 images a folder, so that the galleries have SYSU's sizes (single-shot 301 / 112 images, 10-shot 3,010 /
1,120). The galleries are drawn by the evaluator's own code (:func:`~..evaluation.draw_sysu_gallery`) from
in-memory folder listings, so no image is needed.

Timed: the distance matrix, the one ranking of it, each setting's 10 draws, and the whole evaluation
(:func:`~..evaluation.sysu_protocol_results`: distances, ranking and the 40 scorings); with ``--faiss``
also the exact faiss search the evaluator used before, for the distance matrix. Median seconds over
``--iters`` timed runs after ``--warmup`` untimed ones.

    python tools/benchmark_eval.py                       # CPU
    python tools/benchmark_eval.py --threads 1           # a CPU other jobs share: no thread waits on them
    python tools/benchmark_eval.py --faiss --iters 1
    python tools/benchmark_eval.py --device cuda --iters 5
"""

import itertools
import os

import numpy as np
import torch

from ..data.datasets.modality import IR, RGB
from ..data.datasets.sysu_mm01 import SYSU_RGB_CAMERAS
from ..evaluation import (ExtractedFeatures, SysuRanking, distance_matrix, rank_sysu_candidates, sysu_protocol_results,
                          sysu_trial_scores)
from .timing import median_seconds

NUM_IDS, FEAT_DIM = 96, 2048
NUM_QUERIES, NUM_CANDIDATES = 3_803, 6_775
INDOOR_IDS = 56  # identities cam1 / cam2 saw (SYSU's indoor single-shot gallery has 112 images)
OUTDOOR_ONLY_CAM4 = 3  # identities cam5 missed (SYSU's all-search single-shot gallery has 301 images)
MIN_PER_FOLDER = 10  # every SYSU gallery folder gives a full 10-shot draw
ROOT = "sysu-random"  # the folders' names only: nothing is read


def sysu_folders(rng, cameras_of, total, minimum):
    """``[(folder, pid, cam, names)]`` for ``cameras_of(pid)``, ``total`` images of at least ``minimum`` a
    folder, the counts spread unevenly (a Dirichlet share each), identities ascending then cameras."""
    keys = [(pid, cam) for pid in range(1, NUM_IDS + 1) for cam in cameras_of(pid)]
    counts = minimum + rng.multinomial(total - minimum * len(keys), rng.dirichlet(np.full(len(keys), 4.0)))
    return [(os.path.join(ROOT, f"cam{cam}", f"{pid:04d}"), pid, cam, [f"{k:04d}.jpg" for k in range(1, n + 1)])
            for (pid, cam), n in zip(keys, counts)]


def rgb_cameras(pid):
    indoor = (1, 2) if pid <= INDOOR_IDS else ()
    return indoor + ((4,) if pid > NUM_IDS - OUTDOOR_ONLY_CAM4 else (4, 5))


def ir_cameras(pid):
    return (3, 6) if pid <= INDOOR_IDS else (6,)


def random_features(folders, modality, generator):
    """ExtractedFeatures of every image of ``folders``: unit random features, their labels and paths."""
    items = [(os.path.join(folder, name), pid, cam) for folder, pid, cam, names in folders for name in names]
    feats = torch.nn.functional.normalize(torch.randn(len(items), FEAT_DIM, generator=generator), dim=1).numpy()
    return ExtractedFeatures(feats, np.array([pid for _, pid, _ in items]), np.array([cam for _, _, cam in items]),
                             np.full(len(items), modality), [path for path, _, _ in items])


def synthetic_sysu(seed=0):
    """``(query, rgb, folders_by_mode)``: SYSU-sized random test features and the RGB folder listings of
    each search mode (as :func:`~..evaluation.sysu_gallery_folders` returns them)."""
    rng, generator = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    rgb_folders = sysu_folders(rng, rgb_cameras, NUM_CANDIDATES, MIN_PER_FOLDER)
    query = random_features(sysu_folders(rng, ir_cameras, NUM_QUERIES, 1), IR, generator)
    rgb = random_features(rgb_folders, RGB, generator)
    folders_by_mode = {mode: [f for f in rgb_folders if f[2] in cameras] for mode, cameras in SYSU_RGB_CAMERAS.items()}
    return query, rgb, folders_by_mode


def faiss_distances(query, gallery, metric):
    """The evaluator's former path for large matrices: faiss's exact search over the whole gallery (inner
    product of the unit features, or squared L2), back in gallery order as distances."""
    import faiss  # only this comparison needs it

    index = (faiss.IndexFlatIP if metric == "cosine" else faiss.IndexFlatL2)(gallery.shape[1])
    index.add(gallery)
    scores, columns = index.search(query, gallery.shape[0])
    out = np.empty((query.shape[0], gallery.shape[0]), dtype=np.float32)
    np.put_along_axis(out, columns, 1.0 - scores if metric == "cosine" else np.sqrt(np.maximum(scores, 0)), axis=1)
    return out


def timed_stages(args, device, query, rgb, folders_by_mode):
    """``{stage: function}``: the evaluation's stages, then all of it, as the evaluator runs them (the
    synthetic candidates are already sorted by identity)."""
    distmat = distance_matrix(query.feats, rgb.feats, args.metric, device)
    ranking, column_of_path = rank_sysu_candidates(query, rgb, args.metric, device)
    stages = {"distance matrix (torch matmul)": lambda: distance_matrix(query.feats, rgb.feats, args.metric, device)}
    if args.faiss:
        stages["distance matrix (faiss exact search, before)"] = lambda: faiss_distances(query.feats, rgb.feats,
                                                                                         args.metric)
    stages["ranking (SysuRanking of the distances)"] = lambda: SysuRanking(distmat, query.pids, rgb.pids, query.camids,
                                                                              rgb.camids)
    for mode, shots in itertools.product(folders_by_mode, (1, 10)):
        stages[f"{mode}-{'single' if shots == 1 else 'multi'}: {args.trials} draws scored"] = (
            lambda mode=mode, shots=shots: sysu_trial_scores(ranking, column_of_path, folders_by_mode[mode], shots,
                                                             args.trials))
    stages[f"full evaluation: distances, ranking, {4 * args.trials} scorings"] = lambda: sysu_protocol_results(
        query, rgb, folders_by_mode, (1, 10), args.trials, args.metric, device)
    return stages


def run_benchmark(args):
    """Print the table of the module docstring; ``args`` are tools/benchmark_eval.py's."""
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    query, rgb, folders_by_mode = synthetic_sysu(args.seed)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device {args.device} ({name}), torch {torch.__version__}; {len(query.pids)} IR queries x "
          f"{len(rgb.pids)} RGB candidates, d = {FEAT_DIM}, metric {args.metric}\n")
    seconds = median_seconds(timed_stages(args, device, query, rgb, folders_by_mode), device, args.iters, args.warmup)
    print("| stage | seconds |")
    print("|---|---|")
    for stage, value in seconds.items():
        print(f"| {stage} | {value:.2f} |")
