"""Config keys of the Message Fusion Attention head and its identity loss L_g (``add_mfa_config``).

``add_mfa_config(cfg)`` only ADDS keys (never changes a FastReID default) and is idempotent.

``MODEL.MFA`` (read by :class:`~g2da_plugin.modeling.heads.mfa.MessageFusionAttention`):

- ``NUM_HEADS`` (4): L attention heads, each of width d / L (must divide
  ``MODEL.BACKBONE.FEAT_DIM``), concatenated back to d.
- ``THETA`` (0.02): a channel of a head whose BN scale has |gamma| < THETA is exchanged.
- ``EXCHANGE`` (True): the self-adaptive message fusion. False = the "+G" ablation: graph
  attention and the per-head BN, no channel is ever exchanged (the paper's theta = 0).
- ``ACTIVATION`` ("elu"): Eq. 9's sigma: "elu" (GAT's), "relu" or "none".
- ``BN_PER_NODE`` (True): each node has its own BN statistics and gamma per head and channel (Eq. 10
  indexes gamma_{i,l,c} by node i); False shares them over the K+1 nodes (gamma_{l,c}).
- ``NODE_WEIGHTS`` ("softmax"): Eq. 12's w: "softmax" of learnt logits (non-negative, sum 1) or
  "free" (w learnt as is, from 1/(K+1)).
- ``GAMMA_L1.WEIGHT`` (1e-4): the channel-exchanging sparsity penalty ``WEIGHT * sum |gamma|``
  (its own loss term, ``loss_mfa_gamma_l1``); 0 turns it off. Gammas start at 1; weight decay
  shrinks them in proportion, which the losses balance, whereas a constant L1 pull drives the ones
  the losses do not need to 0 (network slimming, CEN), so that some reach THETA and get exchanged.
- ``GAMMA_L1.SHARE`` (0.25): share of each head's c = d / L channels the penalty covers: head l's
  slice is SHARE x c channels from channel l x c / L on (wrapping around), for every node. With
  SHARE = 1 / NUM_HEADS the slices are disjoint: each channel index is penalised in exactly one
  head, so a silenced channel has live counterparts in the other heads (CEN's disjoint portions).

``MODEL.LOSSES.GRAPH_CE`` (read by :class:`~g2da_plugin.modeling.losses.GraphCrossEntropyLoss`,
L_g on V_G): ``EPSILON`` (0.0) and ``ALPHA`` (0.2) as FastReID's ``MODEL.LOSSES.CE``, ``SCALE``
(1.0) = lambda_g.
"""

from .config import add_missing

__all__ = ["add_mfa_config"]

MFA_DEFAULTS = {
    "NUM_HEADS": 4,
    "THETA": 0.02,
    "EXCHANGE": True,
    "ACTIVATION": "elu",
    "BN_PER_NODE": True,
    "NODE_WEIGHTS": "softmax",
}
GAMMA_L1_DEFAULTS = {"WEIGHT": 1e-4, "SHARE": 0.25}
GRAPH_CE_DEFAULTS = {"EPSILON": 0.0, "ALPHA": 0.2, "SCALE": 1.0}


def add_mfa_config(cfg):
    """Add ``MODEL.MFA.*`` and ``MODEL.LOSSES.GRAPH_CE.*`` (module docstring) to ``cfg`` in place."""
    add_missing(cfg.MODEL, "MFA", MFA_DEFAULTS)
    add_missing(cfg.MODEL.MFA, "GAMMA_L1", GAMMA_L1_DEFAULTS)
    add_missing(cfg.MODEL.LOSSES, "GRAPH_CE", GRAPH_CE_DEFAULTS)
    return cfg
