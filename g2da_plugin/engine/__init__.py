from .defaults import load_trained_model, seed_everything, setup, setup_cfg
from .trainer import G2DATrainer

__all__ = ["G2DATrainer", "load_trained_model", "setup", "setup_cfg", "seed_everything"]
