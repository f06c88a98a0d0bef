"""Meta-architectures registered in FastReID's ``META_ARCH_REGISTRY``."""

from .cross_modality_baseline import CrossModalityBaseline
from .g2da import G2DA
from .pose_part_baseline import PosePartBaseline

__all__ = ["CrossModalityBaseline", "G2DA", "PosePartBaseline"]
