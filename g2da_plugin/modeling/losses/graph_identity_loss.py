"""L_g (Eq. 12): the identity loss on the MFA graph embedding V_G."""

from .build import G2DA_LOSS_REGISTRY
from .identity_loss import CrossEntropyLoss


@G2DA_LOSS_REGISTRY.register()
class GraphCrossEntropyLoss(CrossEntropyLoss):
    """``{"loss_graph_cls": SCALE * cross_entropy_loss(outputs["graph_cls_outputs"], targets, ...)}``.

    :class:`CrossEntropyLoss` on the logits of V_G (the ``G2DA`` meta-architecture's output).
    Config: ``MODEL.LOSSES.GRAPH_CE.{EPSILON, ALPHA, SCALE (= lambda_g)}``.
    """

    logits_key = "graph_cls_outputs"
    loss_name = "loss_graph_cls"

    @classmethod
    def from_config(cls, cfg):
        c = cfg.MODEL.LOSSES.GRAPH_CE
        return {"eps": c.EPSILON, "alpha": c.ALPHA, "scale": c.SCALE}

    def forward(self, outputs, batched_inputs=None):
        if self.logits_key not in outputs:
            raise KeyError(f"GraphCrossEntropyLoss needs outputs[{self.logits_key!r}] (the logits of V_G), "
                           f"which only the G2DA meta-architecture produces (outputs: {sorted(outputs)})")
        return super().forward(outputs, batched_inputs)
