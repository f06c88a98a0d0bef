from . import datasets
from .build import build_cross_modality_test_loader, build_cross_modality_train_loader
from .dataset import CrossModalityDataset
from .samplers import CrossModalityIdentitySampler

__all__ = [
    "datasets",
    "CrossModalityDataset",
    "CrossModalityIdentitySampler",
    "build_cross_modality_train_loader",
    "build_cross_modality_test_loader",
]
