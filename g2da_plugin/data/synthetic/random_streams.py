"""Seeded random generators, one per purpose, so that no draw depends on the order of generation."""

import zlib

import numpy as np


def random_stream(seed, *key):
    """A generator for one purpose: strings are hashed with crc32, which is stable across runs."""
    parts = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key]
    return np.random.default_rng(parts)
