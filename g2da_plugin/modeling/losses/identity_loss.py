"""Identity (softmax cross-entropy) loss on the head's class outputs, FastReID's, without a host sync."""

import torch
import torch.nn.functional as F
from torch import nn

from fastreid.config import configurable

from .build import G2DA_LOSS_REGISTRY


def cross_entropy_loss(logits, targets, eps, alpha=0.2):
    """FastReID's ``cross_entropy_loss`` exactly (label smoothing ``eps``, adaptive smoothing with
    ``alpha`` when ``eps`` < 0, the mean over the samples whose loss is not zero). Written here
    because FastReID's counts those samples with ``nonzero``, a host sync on a GPU."""
    num_classes = logits.size(1)
    log_probs = F.log_softmax(logits, dim=1)
    with torch.no_grad():
        if eps >= 0:
            smooth = torch.full_like(log_probs[:, :1], eps)
        else:
            smooth = alpha * F.softmax(logits, dim=1).gather(1, targets[:, None])
        soft_targets = (smooth / (num_classes - 1)).expand_as(log_probs).clone()
        soft_targets.scatter_(1, targets[:, None], 1 - smooth)
    loss = (-soft_targets * log_probs).sum(dim=1)
    with torch.no_grad():
        counted = (loss != 0).sum().clamp_min(1)
    return loss.sum() / counted


def top1_accuracy(logits, targets):
    """The share of samples whose top logit is their target (FastReID's ``cls_accuracy``), a tensor."""
    return (logits.detach().argmax(dim=1) == targets).float().mean()


@G2DA_LOSS_REGISTRY.register()
class CrossEntropyLoss(nn.Module):
    """``{"loss_cls": SCALE * cross_entropy_loss(outputs["cls_outputs"], targets, EPSILON, ALPHA)}``.

    Config: ``MODEL.LOSSES.CE.{EPSILON, ALPHA, SCALE}`` (FastReID's keys and semantics: EPSILON
    is label smoothing, -1 for adaptive smoothing with ALPHA). With a BNNeck head the logits
    come from the BN'd feature.
    """

    #: the model output holding the logits, and the loss-dict key (a subclass changes both)
    logits_key = "cls_outputs"
    loss_name = "loss_cls"

    @configurable
    def __init__(self, *, eps, alpha, scale):
        super().__init__()
        self.eps = eps
        self.alpha = alpha
        self.scale = scale

    @classmethod
    def from_config(cls, cfg):
        ce = cfg.MODEL.LOSSES.CE
        return {"eps": ce.EPSILON, "alpha": ce.ALPHA, "scale": ce.SCALE}

    def forward(self, outputs, batched_inputs=None):
        loss = cross_entropy_loss(outputs[self.logits_key], outputs["targets"], self.eps, self.alpha)
        return {self.loss_name: loss * self.scale}

    def extra_repr(self):
        return f"eps={self.eps}, alpha={self.alpha}, scale={self.scale}, logits_key={self.logits_key!r}"
