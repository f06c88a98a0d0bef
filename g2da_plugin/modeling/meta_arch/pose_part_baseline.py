"""Baseline B + pose-guided part features: each image becomes a 14-node skeleton graph (Sec. III-A)."""

import logging

import torch
import torch.nn.functional as F

from fastreid.config import configurable
from fastreid.modeling.meta_arch.build import META_ARCH_REGISTRY

from ...pose.online import build_online_pose_estimator
from ...utils.deferred_scalars import put_tensor_scalars
from ...utils.errors import InputError
from ..skeleton_graph import (HEAD_MODES, HEATMAP_NORMS, inside_image, keypoints_to_part_nodes, pool_parts,
                              render_heatmaps)
from .cross_modality_baseline import CrossModalityBaseline

__all__ = ["PosePartBaseline", "POSE_MODES", "TEST_FEATS"]

#: Values of ``MODEL.POSE.MODE`` and ``MODEL.POSE.TEST_FEAT``.
POSE_MODES = ("cached", "online")
TEST_FEATS = ("global", "nodes")

logger = logging.getLogger(__name__)


@META_ARCH_REGISTRY.register()
class PosePartBaseline(CrossModalityBaseline):
    """:class:`CrossModalityBaseline` whose :meth:`extract` also returns the skeleton graph's nodes.

    Extra outputs of :meth:`extract` (all on the model's device):

    - ``"keypoints"`` (B, 17, 3): the COCO keypoints used, in input pixels (the batch's
      ``"keypoints"`` in cached mode, the estimator's in online mode);
    - ``"heatmaps"`` (B, 13, h, w): the part heatmaps on the feature map's grid
      (:func:`~g2da_plugin.modeling.skeleton_graph.render_heatmaps`);
    - ``"nodes"`` (B, 14, C): node 0 the global pre-BN GAP feature (``"global_feature"``), nodes
      1..13 the part features ``GAP(F * H_k)`` (Eq. 2) in the order of
      :data:`~g2da_plugin.modeling.skeleton_graph.GRAPH_NODE_NAMES`;
    - ``"node_support"`` (B, 14): 1 for a node with support, 0 for a part whose keypoint lies
      outside the image or has a score <= ``MODEL.POSE.SUPPORT.MIN_SCORE`` (the global node always
      has support; with ``MODEL.POSE.SUPPORT.ENABLED False`` every node has). The OT loss gives the
      nodes without support no mass, the contrastive loss no term, the MFA's V_G no weight.

    Training logs ``node_feature_norm``, the mean norm of the nodes with support, to the event storage.

    Keypoints come from the batch (``pose_mode="cached"``: the loader's ``"keypoints"``, which needs
    ``INPUT.KEYPOINTS.ENABLED True``) or from a frozen estimator run on the batch's images
    (``"online"``). The test embedding is the baseline's unless ``test_feat="nodes"``.
    Config: ``MODEL.POSE.*``.
    """

    @configurable
    def __init__(self, *, pose_mode, pose_estimator, head, sigma, heatmap_norm, use_scores, test_feat,
                 support_min_score, **kwargs):
        """
        NOTE: this interface is experimental.

        Args:
            pose_mode: "cached" or "online".
            pose_estimator: online mode's estimator, ``callable(images) -> (B, 17, 3)``
                (:mod:`~g2da_plugin.pose.online`), None in cached mode; not a submodule (frozen,
                not saved).
            head, sigma, heatmap_norm, use_scores: see :func:`keypoints_to_part_nodes` and
                :func:`render_heatmaps`.
            test_feat: "global" (the baseline's embedding) or "nodes".
            support_min_score: a part keypoint with a score above this, inside the image, supports its
                node; None: every node has support (the paper's literal reading).
            kwargs: :class:`CrossModalityBaseline`'s arguments.
        """
        super().__init__(**kwargs)
        for name, value, choices in (("MODEL.POSE.MODE", pose_mode, POSE_MODES), ("MODEL.POSE.HEAD", head, HEAD_MODES),
                                     ("MODEL.POSE.HEATMAP_NORM", heatmap_norm, HEATMAP_NORMS),
                                     ("MODEL.POSE.TEST_FEAT", test_feat, TEST_FEATS)):
            if value not in choices:
                raise InputError(f"{name} must be one of {choices}, got {value!r}")
        if not sigma > 0:
            raise InputError(f"MODEL.POSE.SIGMA must be > 0, got {sigma}")
        if pose_mode == "online" and pose_estimator is None:
            raise InputError("MODEL.POSE.MODE online needs a pose estimator")
        self.pose_mode = pose_mode
        # a plain attribute, not a submodule: frozen, not in the state dict, not in the optimizer
        object.__setattr__(self, "pose_estimator", pose_estimator)
        self.head = head
        self.sigma = float(sigma)
        self.heatmap_norm = heatmap_norm
        self.use_scores = bool(use_scores)
        self.test_feat = test_feat
        self.support_min_score = None if support_min_score is None else float(support_min_score)

    @classmethod
    def from_config(cls, cfg):
        kwargs = super().from_config(cfg)
        pose = cfg.MODEL.POSE
        if pose.MODE == "cached" and cls.test_embedding_uses_keypoints(cfg) and cfg.TEST.FLIP.ENABLED:
            logger.warning(
                "TEST.FLIP.ENABLED: FastReID's inference_on_dataset flips batch['images'] but not "
                "batch['keypoints'], so the flipped pass of %s's test embedding would pool the parts at "
                "unflipped keypoints; flip them too (g2da_plugin.data.keypoint_geometry.flip_keypoints) or "
                "turn flip-test off", cls.__name__)
        kwargs.update(
            pose_mode=pose.MODE,
            pose_estimator=build_online_pose_estimator(cfg) if pose.MODE == "online" else None,
            head=pose.HEAD,
            sigma=pose.SIGMA,
            heatmap_norm=pose.HEATMAP_NORM,
            use_scores=pose.USE_SCORES,
            test_feat=pose.TEST_FEAT,
            support_min_score=pose.SUPPORT.MIN_SCORE if pose.SUPPORT.ENABLED else None,
        )
        return kwargs

    @classmethod
    def test_embedding_uses_keypoints(cls, cfg):
        return cfg.MODEL.POSE.TEST_FEAT != "global"

    # ------------------------------------------------------------------ keypoints
    def get_keypoints(self, batched_inputs):
        """(B, 17, 3) keypoints in input pixels on the model's device, from the batch or the estimator."""
        if self.pose_mode == "online":
            images = batched_inputs["images"].to(self.device)
            return self.pose_estimator(images).to(self.device, torch.float32)
        if "keypoints" not in batched_inputs:
            raise InputError("PosePartBaseline (MODEL.POSE.MODE cached) needs 'keypoints' in the batch: set "
                           "INPUT.KEYPOINTS.ENABLED True (or MODEL.POSE.MODE online)")
        return torch.as_tensor(batched_inputs["keypoints"]).to(self.device, torch.float32)

    # ------------------------------------------------------------------ seams
    def extract(self, batched_inputs) -> dict:
        outputs = super().extract(batched_inputs)
        outputs.update(self.part_nodes(outputs["feature_map"], outputs["global_feature"], batched_inputs))
        return outputs

    def part_nodes(self, feature_map, global_feature, batched_inputs) -> dict:
        """The skeleton graph of each image: ``{"keypoints", "heatmaps", "nodes", "node_support"}`` (see
        the class docstring) from the backbone's feature map and pooled feature."""
        keypoints = self.get_keypoints(batched_inputs)
        if keypoints.shape[0] != feature_map.shape[0]:
            raise ValueError(f"{keypoints.shape[0]} keypoint sets for {feature_map.shape[0]} images")
        parts = keypoints_to_part_nodes(keypoints, head=self.head)
        heatmaps = render_heatmaps(parts, batched_inputs["images"].shape[-2:], feature_map.shape[-2:],
                                   sigma=self.sigma, norm=self.heatmap_norm, use_scores=self.use_scores)
        part_features = pool_parts(feature_map, heatmaps)
        nodes = torch.cat([global_feature.unsqueeze(1), part_features.to(global_feature.dtype)], dim=1)
        return {"keypoints": keypoints, "heatmaps": heatmaps, "nodes": nodes,
                "node_support": self.node_support(parts, batched_inputs["images"].shape[-2:])}

    def node_support(self, parts, input_size):
        """(B, K+1) 1.0 / 0.0: which nodes have support (the class docstring); the global node always."""
        support = torch.ones_like(parts[..., 2])
        if self.support_min_score is not None:
            support = (inside_image(parts, input_size) & (parts[..., 2] > self.support_min_score)).to(support.dtype)
        return torch.cat([torch.ones_like(support[:, :1]), support], dim=1)

    def losses(self, outputs: dict, batched_inputs) -> dict:
        loss_dict = super().losses(outputs, batched_inputs)
        # the contrastive margin and the OT costs depend on the node features' scale, which the paper leaves open
        support = outputs["node_support"]
        norms = outputs["nodes"].detach().float().norm(dim=-1)
        put_tensor_scalars(node_feature_norm=(norms * support).sum() / support.sum())
        return loss_dict

    def inference(self, outputs: dict, batched_inputs) -> torch.Tensor:
        if self.test_feat == "nodes":
            return F.normalize(outputs["nodes"], dim=-1).flatten(1)
        return super().inference(outputs, batched_inputs)
