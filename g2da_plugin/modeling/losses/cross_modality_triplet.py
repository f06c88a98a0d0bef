"""Cross-modality batch-hard triplet loss (the L_tri of the G2DA baseline, Eq. 1).

For an anchor of modality m, the hardest positive is the FARTHEST same-identity sample of the other
modality and the hardest negative the CLOSEST different-identity sample of the other modality;
same-modality samples are never positives or negatives. Anchors with no cross-modality positive or
no cross-modality negative in the batch are skipped. The per-anchor hinge is FastReID's:
``margin_ranking_loss(d_an, d_ap, 1, margin)`` averaged over the kept anchors, or the soft margin
``log(1 + exp(d_ap - d_an))`` when ``margin == 0``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from fastreid.config import configurable
from fastreid.modeling.losses.utils import euclidean_dist

from ...utils.errors import InputError
from .build import G2DA_LOSS_REGISTRY


def cross_modality_hard_mining(dist_mat, targets, modalities):
    """Return ``(dist_ap, dist_an, keep)``: per anchor, the hardest cross-modality positive and
    negative distances (shape (N,), meaningless where ``keep`` is False) and the boolean mask of
    anchors that have both."""
    same_id = targets.view(-1, 1) == targets.view(1, -1)
    cross = modalities.view(-1, 1) != modalities.view(1, -1)
    is_pos = same_id & cross
    is_neg = ~same_id & cross
    keep = is_pos.any(dim=1) & is_neg.any(dim=1)
    neg_inf = torch.full_like(dist_mat, float("-inf"))
    pos_inf = torch.full_like(dist_mat, float("inf"))
    dist_ap = torch.where(is_pos, dist_mat, neg_inf).max(dim=1).values
    dist_an = torch.where(is_neg, dist_mat, pos_inf).min(dim=1).values
    return dist_ap, dist_an, keep


def cross_modality_triplet_loss(features, targets, modalities, margin, norm_feat=False):
    """Batch-hard triplet loss with positives and negatives taken from the other modality.

    Args:
        features: (N, d) embeddings.
        targets: (N,) identity labels.
        modalities: (N,) modality labels (0 = RGB, 1 = IR; any two values work).
        margin: hinge margin; 0 selects the soft-margin form.
        norm_feat: L2-normalise the features first (Euclidean distance between unit vectors,
            sqrt(2 - 2 cos); note FastReID's TripletLoss with NORM_FEAT uses 2 - 2 cos instead).
    Returns:
        scalar loss, the mean over anchors that have a cross-modality positive and negative; a zero
        connected to ``features`` (so it backpropagates zeros) when no anchor qualifies.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be (N, d), got shape {tuple(features.shape)}")
    targets = torch.as_tensor(targets, device=features.device).view(-1)
    modalities = torch.as_tensor(modalities, device=features.device).view(-1)
    if not (targets.numel() == modalities.numel() == features.size(0)):
        raise ValueError(f"{features.size(0)} features, {targets.numel()} targets and "
                         f"{modalities.numel()} modalities do not match")
    if norm_feat:
        features = F.normalize(features, dim=1)
    dist_mat = euclidean_dist(features, features)
    dist_ap, dist_an, keep = cross_modality_hard_mining(dist_mat, targets, modalities)
    # fixed-shape masked mean over the kept anchors: no host sync
    dist_ap, dist_an = torch.where(keep, dist_ap, 0.0), torch.where(keep, dist_an, 0.0)
    y = torch.ones_like(dist_an)
    if margin > 0:
        per_anchor = F.margin_ranking_loss(dist_an, dist_ap, y, margin=margin, reduction="none")
    else:
        per_anchor = F.soft_margin_loss(dist_an - dist_ap, y, reduction="none")
    kept = keep.to(per_anchor.dtype)
    loss = (per_anchor * kept).sum() / kept.sum().clamp_min(1.0)
    if margin <= 0:  # FastReID's fallback when the soft margin overflows
        fallback = F.margin_ranking_loss(dist_an, dist_ap, y, margin=0.3, reduction="none")
        loss = torch.where(torch.isinf(loss), (fallback * kept).sum() / kept.sum().clamp_min(1.0), loss)
    return loss


@G2DA_LOSS_REGISTRY.register()
class CrossModalityTripletLoss(nn.Module):
    """``{"loss_cm_triplet": SCALE * cross_modality_triplet_loss(outputs[FEAT_KEY], ...)}``.

    Config: ``MODEL.LOSSES.CM_TRIPLET.{MARGIN, SCALE, NORM_FEAT, FEAT_KEY}``. ``"features"`` is the head's triplet feature, the pre-BN GAP feature when
    ``MODEL.HEADS.NECK_FEAT`` is "before"; ``"global_feature"`` (from ``extract()``) is always the
    pre-BN GAP feature whatever the head.
    """

    @configurable
    def __init__(self, *, margin, scale, norm_feat, feat_key, loss_name="loss_cm_triplet"):
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.norm_feat = norm_feat
        self.feat_key = feat_key
        self.loss_name = loss_name

    @classmethod
    def from_config(cls, cfg):
        c = cfg.MODEL.LOSSES.CM_TRIPLET
        return {"margin": c.MARGIN, "scale": c.SCALE, "norm_feat": c.NORM_FEAT, "feat_key": c.FEAT_KEY}

    def forward(self, outputs, batched_inputs=None):
        if self.feat_key not in outputs:
            raise InputError(f"MODEL.LOSSES.CM_TRIPLET.FEAT_KEY={self.feat_key!r} is not among the model "
                           f"outputs {sorted(outputs)}")
        loss = cross_modality_triplet_loss(outputs[self.feat_key], outputs["targets"], outputs["modalities"],
                                           self.margin, self.norm_feat)
        return {self.loss_name: loss * self.scale}

    def extra_repr(self):
        return (f"margin={self.margin}, scale={self.scale}, norm_feat={self.norm_feat}, "
                f"feat_key={self.feat_key!r}")
