"""G2DA modeling: importing this registers the two-stream backbone (``BACKBONE_REGISTRY``), the
meta-architectures (``META_ARCH_REGISTRY``) and the losses (``G2DA_LOSS_REGISTRY``)."""

from . import backbones, losses, meta_arch
from .losses import G2DA_LOSS_REGISTRY, build_losses

__all__ = ["backbones", "losses", "meta_arch", "G2DA_LOSS_REGISTRY", "build_losses"]
