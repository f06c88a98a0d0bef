from .defaults import seed_everything, setup, setup_cfg
from .trainer import G2DATrainer

__all__ = ["G2DATrainer", "setup", "setup_cfg", "seed_everything"]
