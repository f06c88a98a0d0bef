"""Identities: what stays the same for one person in every image, and how a random one is drawn."""

from dataclasses import dataclass

import numpy as np

from .colours import draw_ir_palette, draw_rgb_palette


PATTERNS = ("solid", "hstripes", "vstripes", "checks")
ITEMS = ("none", "backpack", "handbag", "hat")


@dataclass(frozen=True)
class Identity:
    """What stays the same for one person in every image. Lengths are fractions of the height."""
    pid: int
    stature: float          # height relative to the camera's typical person
    head_height: float
    head_width: float       # fraction of the head height
    torso_length: float     # shoulders to hips
    shoulder_width: float
    hip_width: float
    torso_depth: float      # fraction of the shoulder width
    upper_arm: float
    forearm: float
    arm_thickness: float
    leg_thickness: float
    long_sleeves: bool
    long_trousers: bool
    top_pattern: str
    top_period: float
    bottom_pattern: str
    bottom_period: float
    hairline: float         # normalised head height (-1 crown .. 1 chin) above which hair grows
    hair_length: float      # how far down the back of the head the hair reaches
    item: str
    item_side: int          # +1 the person's left, -1 the right (handbag)
    rgb: np.ndarray         # (NUM_MATERIALS, 3) colour of each material
    ir: np.ndarray          # (NUM_MATERIALS, 1) infrared grey level of each material


def draw_identity(rng, pid):
    """A random person. Keyword arguments are evaluated in order, which fixes the draw order."""
    rgb = draw_rgb_palette(rng)
    return Identity(
        pid=pid,
        stature=rng.uniform(0.92, 1.08),
        head_height=rng.uniform(0.115, 0.145),
        head_width=rng.uniform(0.68, 0.85),
        torso_length=rng.uniform(0.26, 0.32),
        shoulder_width=rng.uniform(0.2, 0.28),
        hip_width=rng.uniform(0.14, 0.21),
        torso_depth=rng.uniform(0.45, 0.65),
        upper_arm=rng.uniform(0.16, 0.2),
        forearm=rng.uniform(0.14, 0.17),
        arm_thickness=rng.uniform(0.04, 0.065),
        leg_thickness=rng.uniform(0.06, 0.09),
        long_sleeves=bool(rng.random() < 0.6),
        long_trousers=bool(rng.random() < 0.75),
        top_pattern=str(rng.choice(PATTERNS, p=(0.4, 0.2, 0.2, 0.2))),
        top_period=rng.uniform(0.04, 0.1),
        bottom_pattern=str(rng.choice(PATTERNS, p=(0.7, 0.1, 0.1, 0.1))),
        bottom_period=rng.uniform(0.04, 0.1),
        hairline=rng.uniform(-0.6, -0.3),
        hair_length=rng.uniform(0.2, 0.9),
        item=str(rng.choice(ITEMS, p=(0.4, 0.25, 0.2, 0.15))),
        item_side=1 if rng.random() < 0.5 else -1,
        rgb=rgb,
        ir=draw_ir_palette(rng, rgb),
    )
