"""Identity (softmax cross-entropy) loss on the head's class outputs, FastReID's own function."""

from torch import nn

from fastreid.config import configurable
from fastreid.modeling.losses import cross_entropy_loss

from .build import G2DA_LOSS_REGISTRY


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
