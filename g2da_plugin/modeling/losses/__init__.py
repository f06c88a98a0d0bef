"""Losses registered in :data:`G2DA_LOSS_REGISTRY` (see :mod:`.build`)."""

from .build import G2DA_LOSS_REGISTRY, build_losses, registered_loss_names
from .cross_modality_triplet import (CrossModalityTripletLoss, cross_modality_hard_mining,
                                     cross_modality_triplet_loss)
from .graph_identity_loss import GraphCrossEntropyLoss
from .graph_ot import graph_ot_distance
from .graph_ot_loss import GraphOTLoss
from .identity_loss import CrossEntropyLoss
from .part_contrastive import PartContrastiveLoss, part_contrastive_loss

__all__ = ["G2DA_LOSS_REGISTRY", "build_losses", "registered_loss_names", "CrossEntropyLoss",
           "CrossModalityTripletLoss", "cross_modality_triplet_loss", "cross_modality_hard_mining",
           "GraphCrossEntropyLoss", "graph_ot_distance", "GraphOTLoss", "PartContrastiveLoss", "part_contrastive_loss"]
