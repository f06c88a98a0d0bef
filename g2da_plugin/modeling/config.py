"""Config keys the modeling code needs beyond FastReID's defaults.

``add_modeling_config(cfg)`` only ADDS keys (it never changes a FastReID default) and is idempotent.
FastReID keys the modeling code reads, with the values the G2DA configs should set:

- ``MODEL.META_ARCHITECTURE "CrossModalityBaseline"``
- ``MODEL.BACKBONE.NAME "build_two_stream_resnet_backbone"``, ``DEPTH "50x"``, ``LAST_STRIDE 1``,
  ``FEAT_DIM 2048`` (must equal the backbone's width: 512 for 18x/34x), ``NORM "BN"``,
  ``PRETRAIN True``, ``PRETRAIN_PATH`` a local torchvision state dict (resnet50-0676ba61.pth)
- ``MODEL.HEADS.NAME "EmbeddingHead"``, ``WITH_BNNECK True`` (FastReID's default is False),
  ``NECK_FEAT "before"``, ``POOL_LAYER "GlobalAvgPool"``, ``CLS_LAYER "Linear"``, ``NUM_CLASSES``
- ``MODEL.LOSSES.NAME ("CrossEntropyLoss", "CrossModalityTripletLoss")``, ``MODEL.LOSSES.CE.*``
"""

from fastreid.config import CfgNode as CN


def add_missing(parent, name, defaults):
    """Create ``parent.<name>`` if absent and add the ``defaults`` it lacks; existing values are kept,
    so every ``add_*_config`` is idempotent and never overrides a value already set."""
    if name not in parent:
        parent[name] = CN()
    for key, value in defaults.items():
        if key not in parent[name]:
            parent[name][key] = value
    return parent[name]


def add_modeling_config(cfg):
    """Add the modeling keys FastReID lacks to ``cfg`` (in place) and return it."""
    add_missing(cfg.MODEL.LOSSES, "CMTRI", {
        # hinge margin rho of the cross-modality batch-hard triplet; 0 = soft margin
        "MARGIN": 0.3,
        # weight of the triplet term in L_b
        "SCALE": 1.0,
        # L2-normalise features before the Euclidean distance
        "NORM_FEAT": False,
        # which model output the triplet uses: "features" (head's, pre-BN with NECK_FEAT "before")
        # or "global_feature" (extract()'s pre-BN GAP feature)
        "FEAT_KEY": "features",
    })
    return cfg
