"""Every config key the plugin adds to FastReID's defaults, in one place (detectron2's PointRend idiom).

Constructors read these through ``from_config`` and hold no default of their own; the README's key
table lists the same keys and defaults (a test checks that they agree). FastReID's own keys keep
their meaning; ``DATALOADER.NUM_INSTANCE`` is K images *per modality* (a batch is P identities x
(K RGB + K IR)).
"""

import os

import yaml
from fastreid.config import CfgNode as CN
from fastreid.config import get_cfg

from .utils.errors import InputError, MissingInputError


def add_g2da_config(cfg):
    """Add the plugin's keys to a FastReID config (``fastreid.config.get_cfg()``), in place; returns it."""
    # Fixes data order, augmentation and initialisation; -1 draws a seed and records it in config.yaml.
    cfg.SEED = -1

    # MODEL.WEIGHTS, --eval-only and --resume load every parameter and buffer of the model or stop;
    # False allows a partial load (for fine-tuning from another model), with a warning.
    cfg.MODEL.WEIGHTS_STRICT = True
    # Unpickle a checkpoint in full when weights-only loading refuses it: runs its code; only for files you trust.
    cfg.MODEL.WEIGHTS_TRUSTED = False

    # Periodic checkpoints (model_<epoch>.pth) kept: the newest N, older ones deleted once a newer one is
    # written (the newest resumes the run, the one before stands in if it is unreadable); 0 keeps every
    # one (FastReID's). model_best and model_final are never deleted.
    cfg.SOLVER.CHECKPOINT_KEEP = 2

    # Iterations in an epoch: "images" (FastReID's: all training images / batch) or "community" (DDAG's:
    # the larger modality's images / the images of one modality in a batch).
    cfg.SOLVER.EPOCH_LENGTH = "images"
    # SOLVER.STEPS count epochs from the warm-up's end (FastReID's hook); False: from epoch 0 (the paper's).
    cfg.SOLVER.STEPS_AFTER_WARMUP = True
    # > 0: the linear warm-up lasts this many epochs (DDAG's 10), whatever the epoch's length; 0: SOLVER.WARMUP_ITERS.
    cfg.SOLVER.WARMUP_EPOCHS = 0
    # Training precision with SOLVER.AMP.ENABLED: "auto" (bfloat16 on a GPU that has it, else float16 with
    # loss scaling; float32 on a CPU), or "bfloat16" / "float16" on any device.
    cfg.SOLVER.AMP.DTYPE = "auto"
    # Keep the model and its input images channels-last on a GPU (faster convolutions); ignored on a CPU.
    cfg.MODEL.CHANNELS_LAST = True
    # Let float32 matrix products and convolutions use TF32 on GPUs that have it (10-bit mantissa inputs).
    cfg.TF32 = True

    # Folder that holds SYSU-MM01/ and RegDB/ ($FASTREID_DATASETS when set, else ./datasets; a config
    # file or the command line overrides it).
    cfg.DATASETS.ROOT = os.getenv("FASTREID_DATASETS", "datasets")
    # RegDB train/test split (1..10): one model is trained and tested per trial.
    cfg.DATASETS.REGDB_TRIAL = 1

    cfg.INPUT.GRAYSCALE = CN()
    # Random grayscale of training images (RGB loses its hue, IR is unchanged); not in the paper.
    cfg.INPUT.GRAYSCALE.ENABLED = False
    # Probability of turning a training image gray.
    cfg.INPUT.GRAYSCALE.PROB = 0.5

    cfg.INPUT.KEYPOINTS = CN()
    # Every sample carries its 17 COCO keypoints, moved by the joint augmentation (pose models need it).
    cfg.INPUT.KEYPOINTS.ENABLED = False
    # Keypoints file, relative to each dataset's folder unless absolute (estimated: keypoints_<backend>.json).
    cfg.INPUT.KEYPOINTS.FILE = "keypoints.json"
    # An image without keypoints: "error" stops the run naming it, "mean_pose" gives it the mean pose.
    cfg.INPUT.KEYPOINTS.MISSING = "error"
    # Score of every keypoint of the mean-pose fallback (1 keeps its part features on the real scale).
    cfg.INPUT.KEYPOINTS.MEAN_POSE_SCORE = 1.0

    cfg.INPUT.CACHE = CN()
    # Train from the training images decoded and resized to SIZE_TRAIN once (same pixels, no decode per epoch).
    cfg.INPUT.CACHE.ENABLED = False
    # Cache folder, relative to DATASETS.ROOT unless absolute: it lives with the data, so every run shares it.
    cfg.INPUT.CACHE.DIR = "cache"

    cfg.TEST.SYSU = CN()
    # SYSU-MM01 search modes scored ("all": cam1 2 4 5 gallery, "indoor": cam1 2).
    cfg.TEST.SYSU.MODES = ("all", "indoor")
    # Gallery images per identity and camera scored: single-shot (1) and multi-shot (10).
    cfg.TEST.SYSU.SHOTS = (1, 10)
    # Random gallery draws (trials 0..N-1) averaged; the community uses 10.
    cfg.TEST.SYSU.TRIALS = 10
    # SYSU-MM01 gallery draws: "community" (random.seed(trial), AGW/DDAG code) or "release" (exp/rand_perm_cam.mat).
    cfg.TEST.SYSU.GALLERY = "community"

    cfg.TEST.LLCM = CN()
    # LLCM gallery draws (trials 0..N-1, random.seed(trial) as the DEEN code) averaged; 10 in its test script.
    cfg.TEST.LLCM.TRIALS = 10

    cfg.MODEL.LOSSES.CM_TRIPLET = CN()
    # Hinge margin of the cross-modality batch-hard triplet (Eq. 1); 0 selects the soft margin.
    cfg.MODEL.LOSSES.CM_TRIPLET.MARGIN = 0.3
    # Weight of the triplet term of L_b.
    cfg.MODEL.LOSSES.CM_TRIPLET.SCALE = 1.0
    # L2-normalise the features before the Euclidean distance.
    cfg.MODEL.LOSSES.CM_TRIPLET.NORM_FEAT = False
    # Model output the triplet reads: "features" (the head's, pre-BN) or "global_feature" (pooled map).
    cfg.MODEL.LOSSES.CM_TRIPLET.FEAT_KEY = "features"

    cfg.MODEL.POSE = CN()
    # "cached": keypoints from the batch; "online": a frozen estimator run on every batch.
    cfg.MODEL.POSE.MODE = "cached"
    # Head node from the five face points ("mean": score-weighted mean, max score) or the "nose" alone.
    cfg.MODEL.POSE.HEAD = "mean"
    # Standard deviation of each keypoint's Gaussian heatmap, in feature-map cells.
    cfg.MODEL.POSE.SIGMA = 1.0
    # Heatmap normalisation: "mean" (averages to the score: parts on the global feature's scale), "sum", "none".
    cfg.MODEL.POSE.HEATMAP_NORM = "mean"
    # Weight each heatmap by its keypoint's score (a keypoint outside the image always weighs 0).
    cfg.MODEL.POSE.USE_SCORES = True
    # Test embedding of PosePartBaseline: "global" (the baseline's) or "nodes" (14 unit node features).
    cfg.MODEL.POSE.TEST_FEAT = "global"
    cfg.MODEL.POSE.SUPPORT = CN()
    # Leave out the part nodes without support (keypoint outside the image or score <= MIN_SCORE):
    # zero OT mass (marginals renormalised), no contrastive term, no weight in V_G. The paper is silent.
    cfg.MODEL.POSE.SUPPORT.ENABLED = True
    # A part keypoint needs a score above this to support its node (mmpose draws keypoints above 0.3).
    cfg.MODEL.POSE.SUPPORT.MIN_SCORE = 0.3
    cfg.MODEL.POSE.ESTIMATOR = CN()
    # Online estimator, from POSE_ESTIMATOR_REGISTRY: "HRNet" (pose extra) or "MeanPose" (stand-in).
    cfg.MODEL.POSE.ESTIMATOR.NAME = "HRNet"
    # The online estimator's checkpoint file; "" keeps random weights (timing only).
    cfg.MODEL.POSE.ESTIMATOR.WEIGHTS = ""
    # (height, width) the online estimator runs at.
    cfg.MODEL.POSE.ESTIMATOR.INPUT_SIZE = [256, 128]
    # Average the online estimator's heatmaps with the mirrored image's (twice the cost).
    cfg.MODEL.POSE.ESTIMATOR.FLIP_TEST = False

    cfg.MODEL.LOSSES.OT = CN()
    # phi of Eq. 7: weight of the node (Wasserstein) term; 1 - phi weights the edge (Gromov) term.
    cfg.MODEL.LOSSES.OT.PHI = 0.5
    # Gromov edge cost L(a, b): "abs" |a - b| (the paper's) or "square" (a - b)^2.
    cfg.MODEL.LOSSES.OT.GW_LOSS = "abs"
    # "proximal" (the plugin's batched solver, both costs) or "pot" (ot.solve_gromov_batch, "square" only).
    cfg.MODEL.LOSSES.OT.SOLVER = "proximal"
    # KL-proximal step of the solver in cost units (smaller = longer, greedier steps); not an entropic bias.
    cfg.MODEL.LOSSES.OT.REG = 0.02
    # Proximal steps of the solver.
    cfg.MODEL.LOSSES.OT.MAX_ITER = 20
    # Sinkhorn sweeps per proximal step, warm-started from the previous step.
    cfg.MODEL.LOSSES.OT.INNER_ITER = 3
    # > 0: stop once every plan moves by less than TOL in a step (a host sync every 10 steps); 0: never.
    cfg.MODEL.LOSSES.OT.TOL = 0.0
    # lambda_o, the weight of D_ot in the objective.
    cfg.MODEL.LOSSES.OT.SCALE = 1.0

    cfg.MODEL.LOSSES.PART_CONTRASTIVE = CN()
    # eps of Eq. 5: the margin a negative pair's node distance is pushed beyond.
    cfg.MODEL.LOSSES.PART_CONTRASTIVE.MARGIN = 2.0
    # lambda_c, the weight of L_c in the objective.
    cfg.MODEL.LOSSES.PART_CONTRASTIVE.SCALE = 0.1
    # (RGB, IR) pairs of Eq. 5: "all" of the batch, or "hard" (each sample's farthest positive, closest negative).
    cfg.MODEL.LOSSES.PART_CONTRASTIVE.PAIRS = "all"
    # L2-normalise node features before the distance (then use a margin below sqrt(2)).
    cfg.MODEL.LOSSES.PART_CONTRASTIVE.NORM_FEAT = False

    cfg.MODEL.MFA = CN()
    # L graph-attention heads of width d / L (must divide MODEL.BACKBONE.FEAT_DIM).
    cfg.MODEL.MFA.NUM_HEADS = 4
    # A channel whose BN scale has |gamma| < THETA takes the other heads' mean (Eq. 11).
    cfg.MODEL.MFA.THETA = 0.02
    # The self-adaptive message fusion; False is the "+G" ablation (attention and per-head BN only).
    cfg.MODEL.MFA.EXCHANGE = True
    # Eq. 9's sigma: "elu" (GAT's), "relu" or "none".
    cfg.MODEL.MFA.ACTIVATION = "elu"
    # BN statistics and gamma per node (Eq. 10's gamma_{i,l,c}); False shares them over the nodes.
    cfg.MODEL.MFA.BN_PER_NODE = True
    # Eq. 12's node weights w: "softmax" of learnt logits, or "free" (learnt as is, from 1/(K+1)).
    cfg.MODEL.MFA.NODE_WEIGHTS = "softmax"
    cfg.MODEL.MFA.GAMMA_L1 = CN()
    # Channel-exchanging sparsity penalty WEIGHT * sum |gamma| on the penalised BN scales; 0 turns it off.
    cfg.MODEL.MFA.GAMMA_L1.WEIGHT = 1e-4
    # Share of each head's channels the penalty covers (1 / NUM_HEADS: disjoint across heads).
    cfg.MODEL.MFA.GAMMA_L1.SHARE = 0.25

    cfg.MODEL.LOSSES.GRAPH_CE = CN()
    # Label smoothing of L_g on V_G (FastReID's MODEL.LOSSES.CE.EPSILON semantics).
    cfg.MODEL.LOSSES.GRAPH_CE.EPSILON = 0.0
    # Adaptive label smoothing's alpha for L_g (FastReID's MODEL.LOSSES.CE.ALPHA semantics).
    cfg.MODEL.LOSSES.GRAPH_CE.ALPHA = 0.2
    # lambda_g, the weight of L_g in the objective.
    cfg.MODEL.LOSSES.GRAPH_CE.SCALE = 1.0
    return cfg


def load_config(config_file=None, opts=()):
    """FastReID's defaults + the plugin's keys + ``config_file`` (with its ``_BASE_`` chain) + the
    ``KEY VALUE`` list ``opts``, not frozen. A missing file, an unknown key, a value of the wrong type
    or a YAML syntax error is an :class:`InputError` naming the file (or the command line) and the key."""
    cfg = add_g2da_config(get_cfg())
    if config_file:
        if not os.path.isfile(config_file):
            raise MissingInputError(f"config file not found: {config_file}")
        _merge(cfg.merge_from_file, config_file, f"config file {config_file}")
    _merge(cfg.merge_from_list, list(opts), "the command line's KEY VALUE overrides")
    return cfg


def _merge(merge, source, where):
    # yacs reports an unknown key as KeyError or AssertionError and a type mismatch as ValueError
    try:
        merge(source)
    except (KeyError, AssertionError, ValueError, yaml.YAMLError) as e:
        what = e.args[0] if e.args else repr(e)
        raise InputError(f"{where}: {what}") from None
