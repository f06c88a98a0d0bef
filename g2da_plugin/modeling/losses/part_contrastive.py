"""Part-level cross-modality contrastive loss (G2DA Eq. 5).

    L_c = 1 / (2 N (K+1)) * sum_k sum_n [ same_n * d_nk^2 + (1 - same_n) * max(eps - d_nk, 0)^2 ]

over N (RGB, IR) sample pairs n and the K+1 graph nodes k (global node included), d_nk the
Euclidean distance between node k of the pair's RGB sample and node k of its IR sample, eps the
margin (2.0 in the paper).

Choices where the paper is silent (both config keys):

- Which pairs (``PAIRS``). The paper applies the loss "over every pair of aligned features" whose two
  samples are of different modalities, and says no more. ``"all"`` (default) takes every
  (RGB, IR) pair of the batch, positive when the identities match, negative otherwise: no mining
  rule to invent, and every same-identity pair the OT term aligns is also pulled together here.
  With P identities the positives are 1/P of the pairs (1/8 with the default sampler), as the
  plain mean of Eq. 5 implies. ``"hard"`` is the batch-hard alternative: each sample, as an
  anchor, contributes its farthest cross-modality positive and its closest cross-modality negative
  (distance = Euclidean distance of all nodes concatenated, no gradient through the choice), i.e.
  N = 2 x batch size balanced pairs (the paper's N_t is "the training batch size").
- Normalisation (``NORM_FEAT``, default False). The paper's d is the plain Euclidean distance, and
  its margin sweep (0.5..3, best 1.5..2) only makes sense unnormalised: for unit vectors d <= 2, so
  eps >= 2 keeps every negative pair inside the margin (for non-negative, post-ReLU features even
  d <= sqrt(2)) and the hinge never switches off. With NORM_FEAT True a margin below sqrt(2) is the
  meaningful range.
"""

import torch
import torch.nn.functional as F
from torch import nn

from fastreid.config import configurable

from ...data.datasets.modality import IR, RGB
from ...utils.errors import InputError
from .build import G2DA_LOSS_REGISTRY
from .graph_ot_loss import check_node_outputs

PAIR_MODES = ("all", "hard")


def node_sq_distances(x_rgb, x_ir):
    """(R, I, K+1) squared Euclidean distances between node k of each RGB and of each IR sample,
    from (R, K+1, d) and (I, K+1, d), by |a|^2 + |b|^2 - 2 a.b (no (R, I, K+1, d) difference tensor)."""
    cross = torch.einsum("rkd,ikd->rik", x_rgb, x_ir)
    sq_rgb = x_rgb.square().sum(dim=-1)  # (R, K+1)
    sq_ir = x_ir.square().sum(dim=-1)  # (I, K+1)
    return (sq_rgb[:, None, :] + sq_ir[None, :, :] - 2.0 * cross).clamp_min(0.0)


def hard_pair_counts(dist, same):
    """(R, I) number of times batch-hard mining picks each (RGB, IR) pair: every RGB sample (row)
    and every IR sample (column) picks its farthest positive and its closest negative, if any."""
    pos = dist.masked_fill(~same, float("-inf"))
    neg = dist.masked_fill(same, float("inf"))

    def one_hot(index, valid, size):
        return F.one_hot(index, size).to(dist.dtype) * valid[:, None].to(dist.dtype)

    n_rgb, n_ir = dist.shape
    by_rgb = (one_hot(pos.argmax(dim=1), same.any(dim=1), n_ir)
              + one_hot(neg.argmin(dim=1), (~same).any(dim=1), n_ir))
    by_ir = (one_hot(pos.argmax(dim=0), same.any(dim=0), n_rgb)
             + one_hot(neg.argmin(dim=0), (~same).any(dim=0), n_rgb))
    return by_rgb + by_ir.t()


def part_contrastive_loss(nodes, targets, modalities, margin, pairs="all", norm_feat=False):
    """Eq. 5 on the (RGB, IR) pairs of a batch.

    Args:
        nodes: (B, K+1, d) graph node features.
        targets, modalities: (B,) identities and modality codes (RGB = 0, IR = 1).
        margin: eps of the negative hinge.
        pairs: "all" cross-modality pairs, or "hard" batch-hard positives and negatives.
        norm_feat: L2-normalise each node feature first.
    Returns:
        scalar loss; a zero connected to ``nodes`` when the batch has no cross-modality pair.
    """
    if pairs not in PAIR_MODES:
        raise ValueError(f"pairs must be one of {PAIR_MODES}, got {pairs!r}")
    dtype = torch.promote_types(nodes.dtype, torch.float32)
    with torch.autocast(device_type=nodes.device.type, enabled=False):
        x = nodes.to(dtype)
        if norm_feat:
            x = F.normalize(x, dim=-1)
        is_rgb, is_ir = modalities == RGB, modalities == IR
        if not (is_rgb.any() and is_ir.any()):
            return nodes.sum() * 0.0
        sq = node_sq_distances(x[is_rgb], x[is_ir])
        same = targets[is_rgb][:, None] == targets[is_ir][None, :]
        if pairs == "all":
            weights = torch.ones_like(sq[..., 0])
        else:
            weights = hard_pair_counts(sq.detach().sum(dim=-1).sqrt(), same)
        # sqrt of a clamped value: a zero distance gives a finite (zero) gradient
        hinge = (margin - sq.clamp_min(1e-12).sqrt()).clamp_min(0.0).square()
        terms = torch.where(same[..., None], sq, hinge)  # (R, I, K+1)
        return (weights[..., None] * terms).sum() / (2.0 * weights.sum() * sq.shape[-1])


@G2DA_LOSS_REGISTRY.register()
class PartContrastiveLoss(nn.Module):
    """``{"loss_part_contrastive": SCALE * part_contrastive_loss(outputs["nodes"], ...)}``.

    Config: ``MODEL.LOSSES.PART_CONTRASTIVE.{MARGIN, SCALE (lambda_c), PAIRS, NORM_FEAT}``; see the
    module docstring for the choice of pairs and normalisation.
    """

    @configurable
    def __init__(self, *, margin, scale, pairs, norm_feat, loss_name="loss_part_contrastive"):
        super().__init__()
        if pairs not in PAIR_MODES:
            raise InputError(f"MODEL.LOSSES.PART_CONTRASTIVE.PAIRS must be one of {PAIR_MODES}, got {pairs!r}")
        self.margin = margin
        self.scale = scale
        self.pairs = pairs
        self.norm_feat = norm_feat
        self.loss_name = loss_name

    @classmethod
    def from_config(cls, cfg):
        c = cfg.MODEL.LOSSES.PART_CONTRASTIVE
        return {"margin": c.MARGIN, "scale": c.SCALE, "pairs": c.PAIRS, "norm_feat": c.NORM_FEAT}

    def forward(self, outputs, batched_inputs=None):
        nodes, targets, modalities = check_node_outputs(outputs, type(self).__name__)
        loss = part_contrastive_loss(nodes, targets, modalities, self.margin, self.pairs, self.norm_feat)
        return {self.loss_name: loss * self.scale}

    def extra_repr(self):
        return f"margin={self.margin}, scale={self.scale}, pairs={self.pairs!r}, norm_feat={self.norm_feat}"
