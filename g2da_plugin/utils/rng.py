"""The global random number generators (Python's, numpy's, torch's CPU one): their states, and a
block run with all three seeded and then put back."""

import contextlib
import random

import numpy as np
import torch

__all__ = ["rng_states", "restore_rng_states", "seeded"]


def rng_states():
    """The three generators' states, in types that ``torch.load(weights_only=True)`` takes back."""
    name, keys, position, has_gauss, gauss = np.random.get_state()
    return {"python": random.getstate(), "numpy": (name, torch.from_numpy(keys.copy()), position, has_gauss, gauss),
            "torch": torch.get_rng_state()}


def restore_rng_states(states):
    """Set the generators back to :func:`rng_states`' ``states``."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(states["torch"])


@contextlib.contextmanager
def seeded(seed):
    """Run the block with the three generators seeded by ``seed`` (an int < 2**32), then restore them:
    what the block draws depends on ``seed`` alone, and the caller's streams go on untouched."""
    saved = rng_states()
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)  # the CPU generator alone: CUDA streams are not restored
    try:
        yield
    finally:
        restore_rng_states(saved)
