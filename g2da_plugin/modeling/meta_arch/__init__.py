"""Meta-architectures registered in FastReID's ``META_ARCH_REGISTRY``."""

from .cross_modality_baseline import CrossModalityBaseline

__all__ = ["CrossModalityBaseline"]
