"""The full G2DA model: the pose-part skeleton graphs refined by Message Fusion Attention (Sec. III-C)."""

import torch

from fastreid.config import configurable
from fastreid.modeling.meta_arch.build import META_ARCH_REGISTRY
from fastreid.utils import events

from ...utils.deferred_scalars import put_tensor_scalars
from ...utils.errors import InputError
from ..heads.mfa import MessageFusionAttention
from .pose_part_baseline import PosePartBaseline

__all__ = ["G2DA"]


@META_ARCH_REGISTRY.register()
class G2DA(PosePartBaseline):
    """:class:`PosePartBaseline` + the MFA head; the test embedding is the graph embedding V_G.

    Extra outputs of :meth:`extract`: ``"refined_nodes"`` (B, K+1, d) and ``"graph_feature"`` V_G
    (B, d); in training also ``"graph_cls_outputs"``, the logits of L_g
    (:class:`~g2da_plugin.modeling.losses.GraphCrossEntropyLoss`). ``"nodes"`` stay the unrefined
    part features, which the alignment losses (OT, contrastive) work on.

    Training also returns ``loss_mfa_gamma_l1`` when ``MODEL.MFA.GAMMA_L1.WEIGHT`` > 0, and logs the
    number of exchanged BN channels (``mfa_exchanged``, ``mfa_exchanged_head<l>``) to the event storage.
    """

    @configurable
    def __init__(self, *, mfa, **kwargs):
        """
        NOTE: this interface is experimental.

        Args:
            mfa: a :class:`~g2da_plugin.modeling.heads.mfa.MessageFusionAttention`.
            kwargs: :class:`PosePartBaseline`'s arguments.
        """
        super().__init__(**kwargs)
        if self.test_feat != "global":
            raise InputError(f"G2DA's test embedding is V_G: MODEL.POSE.TEST_FEAT must stay 'global', "
                             f"got {self.test_feat!r}")
        # a child of `heads`: FastReID's optimizer gives SOLVER.HEADS_LR_FACTOR to parameters under
        # the top-level "heads" module only, and the MFA is new layers, like the head
        self.heads.add_module("mfa", mfa)

    @classmethod
    def from_config(cls, cfg):
        kwargs = super().from_config(cfg)
        kwargs["mfa"] = MessageFusionAttention(cfg)
        return kwargs

    @classmethod
    def test_embedding_uses_keypoints(cls, cfg):
        return True  # V_G aggregates the part nodes

    @property
    def mfa(self):
        return self.heads.mfa

    def extract(self, batched_inputs) -> dict:
        outputs = super().extract(batched_inputs)
        outputs.update(self.mfa(outputs["nodes"], outputs["global_feature"], outputs["node_support"]))
        if self.training:
            outputs["graph_cls_outputs"] = self.mfa.classifier(outputs["graph_feature"])
        return outputs

    def inference(self, outputs: dict, batched_inputs) -> torch.Tensor:
        return outputs["graph_feature"]

    def losses(self, outputs: dict, batched_inputs) -> dict:
        loss_dict = super().losses(outputs, batched_inputs)
        penalty = self.mfa.penalty()
        if penalty is not None:
            loss_dict["loss_mfa_gamma_l1"] = penalty
        if events._CURRENT_STORAGE_STACK:
            put_tensor_scalars(**self.mfa.statistics())
        return loss_dict
