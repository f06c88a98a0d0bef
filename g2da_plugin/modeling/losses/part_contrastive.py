"""Part-level cross-modality contrastive loss (G2DA Eq. 5).

    L_c = 1 / (2 N (K+1)) * sum_k sum_n [ same_n * d_nk^2 + (1 - same_n) * max(eps - d_nk, 0)^2 ]

over N (RGB, IR) sample pairs n and the K+1 graph nodes k (global node included), d_nk the
Euclidean distance between node k of the pair's RGB sample and node k of its IR sample, eps the
margin (2.0 in the paper). A term whose node lacks support in either sample (``node_support``, see
``MODEL.POSE.SUPPORT``) is left out, and N (K+1) becomes the number of terms kept: a part the crop
removed has a zero feature, which a positive term would pull its counterpart towards.

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
from ...utils.deferred_scalars import put_tensor_scalars
from ...utils.errors import InputError
from .build import G2DA_LOSS_REGISTRY
from .graph_ot_loss import check_node_outputs

PAIR_MODES = ("all", "hard")


def node_sq_distances(x_a, x_b):
    """(A, B, K+1) squared Euclidean distances between node k of each sample of ``x_a`` (A, K+1, d)
    and of ``x_b`` (B, K+1, d), by |a|^2 + |b|^2 - 2 a.b (no (A, B, K+1, d) difference tensor)."""
    cross = torch.einsum("akd,bkd->abk", x_a, x_b)
    return (x_a.square().sum(dim=-1)[:, None, :] + x_b.square().sum(dim=-1)[None, :, :] - 2.0 * cross).clamp_min(0.0)


def hard_pair_counts(dist, same, pairs):
    """(B, B) number of times batch-hard mining picks each (RGB row, IR column) pair among the
    allowed ``pairs``: every RGB sample (row) and every IR sample (column) picks its farthest
    positive and its closest negative, if it has any."""
    positive, negative = same & pairs, ~same & pairs
    pos = dist.masked_fill(~positive, float("-inf"))
    neg = dist.masked_fill(~negative, float("inf"))

    def one_hot(index, valid, size):  # a comparison, not F.one_hot, whose range check syncs on a GPU
        return ((index[:, None] == torch.arange(size, device=index.device)) & valid[:, None]).to(dist.dtype)

    n = dist.shape[0]
    by_rgb = (one_hot(pos.argmax(dim=1), positive.any(dim=1), n)
              + one_hot(neg.argmin(dim=1), negative.any(dim=1), n))
    by_ir = (one_hot(pos.argmax(dim=0), positive.any(dim=0), n)
             + one_hot(neg.argmin(dim=0), negative.any(dim=0), n))
    return by_rgb + by_ir.t()


def part_contrastive_loss(nodes, targets, modalities, margin, pairs="all", norm_feat=False, support=None,
                          return_share=False):
    """Eq. 5 on the (RGB, IR) pairs of a batch.

    Every (sample, sample) pair is computed and the (RGB, IR) ones are weighted in: fixed shapes,
    no host sync, whatever the batch's order.

    Args:
        nodes: (B, K+1, d) graph node features.
        targets, modalities: (B,) identities and modality codes (RGB = 0, IR = 1).
        margin: eps of the negative hinge.
        pairs: "all" cross-modality pairs, or "hard" batch-hard positives and negatives.
        norm_feat: L2-normalise each node feature first.
        support: (B, K+1) 1 / 0, the nodes with support (None: all): only node k of two samples that
            both have it makes a term, and the hard mining's distance is over those nodes.
        return_share: also return the share of the negative terms whose distance is inside the
            margin (those the hinge acts on; no gradient).
    Returns:
        scalar loss; a zero connected to ``nodes`` when the batch has no cross-modality pair. With
        ``return_share``, ``(loss, share)``.
    """
    if pairs not in PAIR_MODES:
        raise ValueError(f"pairs must be one of {PAIR_MODES}, got {pairs!r}")
    dtype = torch.promote_types(nodes.dtype, torch.float32)
    with torch.autocast(device_type=nodes.device.type, enabled=False):
        x = nodes.to(dtype)
        if norm_feat:
            x = F.normalize(x, dim=-1)
        cross = (modalities == RGB)[:, None] & (modalities == IR)[None, :]
        same = targets[:, None] == targets[None, :]
        sq = node_sq_distances(x, x)
        both = torch.ones_like(sq) if support is None else support.to(dtype)[:, None, :] * support.to(dtype)[None, :, :]
        if pairs == "all":
            weights = cross.to(dtype)
        else:
            weights = hard_pair_counts((sq.detach() * both).sum(dim=-1).sqrt(), same, cross)
        # sqrt of a clamped value: a zero distance gives a finite (zero) gradient
        hinge = (margin - sq.clamp_min(1e-12).sqrt()).clamp_min(0.0).square()
        terms = torch.where(same[..., None], sq, hinge)  # (B, B, K+1)
        term_weights = weights[..., None] * both
        loss = (term_weights * terms).sum() / (2.0 * term_weights.sum().clamp_min(1.0))
        if not return_share:
            return loss
        negative_weights = term_weights.detach() * ~same[..., None]
        inside = (sq.detach() < margin ** 2).to(dtype)
        return loss, (negative_weights * inside).sum() / negative_weights.sum().clamp_min(1.0)


@G2DA_LOSS_REGISTRY.register()
class PartContrastiveLoss(nn.Module):
    """``{"loss_part_contrastive": SCALE * part_contrastive_loss(outputs["nodes"], ...)}``.

    Config: ``MODEL.LOSSES.PART_CONTRASTIVE.{MARGIN, SCALE (lambda_c), PAIRS, NORM_FEAT}``; see the
    module docstring for the choice of pairs and normalisation. Logs
    ``contrastive_negatives_in_margin`` (the share of negative terms the hinge acts on) to the event storage.
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
        loss, share = part_contrastive_loss(nodes, targets, modalities, self.margin, self.pairs, self.norm_feat,
                                            outputs.get("node_support"), return_share=True)
        put_tensor_scalars(contrastive_negatives_in_margin=share)
        return {self.loss_name: loss * self.scale}

    def extra_repr(self):
        return f"margin={self.margin}, scale={self.scale}, pairs={self.pairs!r}, norm_feat={self.norm_feat}"
