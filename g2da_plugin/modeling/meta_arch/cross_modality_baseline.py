"""The G2DA baseline "B": two-stream backbone + GAP/BNNeck head + registry-built losses."""

import torch
from torch import nn

from fastreid.config import configurable
from fastreid.modeling.backbones import build_backbone
from fastreid.modeling.heads import build_heads
from fastreid.modeling.meta_arch.build import META_ARCH_REGISTRY

from ...compat import normalize_images
from ...data.batch_layout import routing_of
from ...utils.deferred_scalars import put_tensor_scalars
from ...utils.errors import InputError
from ..losses.build import build_losses
from ..losses.identity_loss import top1_accuracy


@META_ARCH_REGISTRY.register()
class CrossModalityBaseline(nn.Module):
    """Cross-modality baseline, FastReID's ``Baseline`` idiom with modality-aware routing.

    ``forward(batched_inputs)``, ``batched_inputs`` a dict with ``images`` (B, 3, H, W) in 0..255,
    ``modalities`` (B,) (0 = RGB, 1 = IR) and, in training, ``targets`` (B,); tensors may be on
    any device.

    - training: returns ``{loss_name: scalar}`` from every loss module in ``self.loss_modules``
      (built from ``MODEL.LOSSES.NAME`` via ``G2DA_LOSS_REGISTRY``); each receives ``outputs`` =
      :meth:`extract`'s dict + the head's training outputs (``cls_outputs``, ``pred_class_logits``,
      ``features``) + ``targets`` and ``modalities`` on the model's device.
    - eval: returns :meth:`inference`'s (B, d) embedding, the head's BN'd feature.

    Seams for subclasses: override :meth:`extract` to add outputs (e.g. ``"nodes"``) and
    :meth:`inference` to change the test embedding; add losses by registering them.
    """

    @configurable
    def __init__(self, *, backbone, heads, pixel_mean, pixel_std, loss_modules):
        """
        NOTE: this interface is experimental.

        Args:
            backbone: a module called as ``backbone(images, modalities, routing)`` -> (B, C, h, w),
                ``routing`` the batch's :func:`~g2da_plugin.data.batch_layout.modality_routing`.
            heads: a FastReID head called as ``heads(feature_map[, targets])``.
            pixel_mean, pixel_std: per-channel normalisation in 0..255 scale.
            loss_modules: ``nn.ModuleDict`` (or dict) name -> loss module.
        """
        super().__init__()
        self.backbone = backbone
        self.heads = heads
        self.loss_modules = nn.ModuleDict(loss_modules)
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean, dtype=torch.float32).view(1, -1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std, dtype=torch.float32).view(1, -1, 1, 1), False)

    @classmethod
    def from_config(cls, cfg):
        backbone = build_backbone(cfg)
        out_channels = getattr(backbone, "out_channels", None)
        feat_dim = cfg.MODEL.BACKBONE.FEAT_DIM
        if out_channels is not None and out_channels != feat_dim:
            raise InputError(
                f"MODEL.BACKBONE.FEAT_DIM={feat_dim} but the backbone {cfg.MODEL.BACKBONE.NAME} "
                f"(MODEL.BACKBONE.DEPTH={cfg.MODEL.BACKBONE.DEPTH}) outputs {out_channels} channels; "
                f"the head is built from MODEL.BACKBONE.FEAT_DIM, so set it to {out_channels}")
        return {
            "backbone": backbone,
            "heads": build_heads(cfg),
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "loss_modules": build_losses(cfg),
        }

    @property
    def device(self):
        return self.pixel_mean.device

    # ------------------------------------------------------------------ inputs
    def preprocess_image(self, batched_inputs):
        """Normalised images on the model's device; ``batched_inputs["images"]`` is not modified."""
        images = batched_inputs["images"] if isinstance(batched_inputs, dict) else None
        if not isinstance(images, torch.Tensor):
            raise TypeError("CrossModalityBaseline needs a dict with 'images' (and 'modalities'), got "
                            f"{type(batched_inputs).__name__}")
        return normalize_images(images, self.pixel_mean, self.pixel_std)

    def get_modalities(self, batched_inputs):
        if "modalities" not in batched_inputs:
            raise KeyError("batched_inputs has no 'modalities' (0 = RGB, 1 = IR): the two-stream "
                           "model needs it to route each image through its modality's stem")
        return torch.as_tensor(batched_inputs["modalities"]).to(self.device, non_blocking=True).long().view(-1)

    # ------------------------------------------------------------------ seams
    def extract(self, batched_inputs) -> dict:
        """Backbone features: ``{"feature_map": (B, C, h, w), "global_feature": (B, C) pre-BN pooled
        feature, "modalities": (B,)}``. Subclasses extend the dict (e.g. ``"nodes"`` (B, K+1, d))."""
        modalities = self.get_modalities(batched_inputs)
        images = self.preprocess_image(batched_inputs)
        feature_map = self.backbone(images, modalities, routing_of(batched_inputs, modalities))
        pool = getattr(self.heads, "pool_layer", None)
        pooled = pool(feature_map) if pool is not None else feature_map.mean(dim=(2, 3))
        return {"feature_map": feature_map, "global_feature": pooled.flatten(1), "modalities": modalities}

    def inference(self, outputs: dict, batched_inputs) -> torch.Tensor:
        """Test embedding (B, d) from :meth:`extract`'s outputs (the head's eval output)."""
        return self.heads(outputs["feature_map"])

    # ------------------------------------------------------------------ forward
    def forward(self, batched_inputs):
        outputs = self.extract(batched_inputs)
        if not self.training:
            return self.inference(outputs, batched_inputs)

        if "targets" not in batched_inputs:
            raise KeyError("Person ID annotation ('targets') is missing in training")
        targets = torch.as_tensor(batched_inputs["targets"]).to(self.device, non_blocking=True).long().view(-1)
        # FastReID's PreciseBN convention: negative targets mean "unknown", use class 0 (no host sync)
        targets = targets * (targets.sum() >= 0)

        head_outputs = self.heads(outputs["feature_map"], targets)
        clash = set(head_outputs) & set(outputs)
        if clash:
            raise KeyError(f"head outputs {sorted(clash)} clash with extract() outputs")
        outputs.update(head_outputs)
        outputs["targets"] = targets
        return self.losses(outputs, batched_inputs)

    def losses(self, outputs: dict, batched_inputs) -> dict:
        """Run every loss module; log the classification accuracy like FastReID's Baseline (only when
        an ``EventStorage`` is active, i.e. inside a trainer; deferred, without a host sync)."""
        if "pred_class_logits" in outputs:
            put_tensor_scalars(cls_accuracy=top1_accuracy(outputs["pred_class_logits"], outputs["targets"]))
        loss_dict = {}
        for name, loss_module in self.loss_modules.items():
            terms = loss_module(outputs, batched_inputs)
            for key, value in terms.items():
                if key in loss_dict:
                    raise KeyError(f"loss {name} returns {key!r}, already returned by another loss")
                loss_dict[key] = value
        return loss_dict
