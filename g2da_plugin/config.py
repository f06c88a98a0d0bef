"""The plugin's config keys, added to FastReID's defaults with :func:`add_g2da_config`."""

import os

from fastreid.config import CfgNode as CN

from .modeling.config import add_modeling_config
from .modeling.losses.alignment_config import add_alignment_config
from .modeling.mfa_config import add_mfa_config
from .modeling.pose_config import add_pose_config


def add_g2da_config(cfg):
    """Add every key the plugin reads; call before ``merge_from_file``."""
    # Fixes data order, augmentation and initialisation; -1 draws a seed and logs it.
    cfg.SEED = -1

    # Folder that holds SYSU-MM01/ and RegDB/ (FastReID reads $FASTREID_DATASETS; so does this default).
    cfg.DATASETS.ROOT = os.getenv("FASTREID_DATASETS", "datasets")
    # RegDB is trained and tested once per trial split (1..10).
    cfg.DATASETS.REGDB_TRIAL = 1

    # Random grayscale of the input (RGB images lose their hue, IR ones are unchanged): narrows the
    # modality gap, as in much cross-modality work; off in the paper's recipe.
    cfg.INPUT.GRAYSCALE = CN({"ENABLED": False, "PROB": 0.5})

    cfg.TEST.SYSU = CN()
    # Gallery settings scored on SYSU-MM01: search mode ("all", "indoor") x shots (1, 10).
    cfg.TEST.SYSU.MODES = ("all", "indoor")
    cfg.TEST.SYSU.SHOTS = (1, 10)
    # Number of random gallery draws (trials 0..N-1), averaged.
    cfg.TEST.SYSU.TRIALS = 10

    add_modeling_config(cfg)
    add_pose_config(cfg)
    add_alignment_config(cfg)
    add_mfa_config(cfg)
    return cfg
