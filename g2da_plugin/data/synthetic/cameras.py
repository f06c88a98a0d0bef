"""The cameras of the SYSU-MM01 and RegDB look-alikes, and each camera's scene (background, lighting)."""

from dataclasses import dataclass

import numpy as np

from .colours import random_colour


@dataclass(frozen=True)
class Camera:
    name: str
    modality: str                 # "rgb" or "ir"
    size: tuple                   # (height, width) in pixels
    view_weights: tuple           # probabilities of a front, back and side view
    occluder_prob: float
    walk_amplitude: float         # largest thigh swing, radians
    person_height: float          # typical person height / image height
    blur: float                   # Gaussian blur radius, pixels
    noise: float                  # sensor noise standard deviation, intensity in [0, 1]
    pattern_contrast: float = 1.0  # share of a clothing pattern's contrast that survives (IR)


# The datasets' folder names, which also key their random streams.
SYSU_DIRNAME = "SYSU-MM01"
REGDB_DIRNAME = "RegDB"

SYSU_CAMERAS = {c.name: c for c in (
    Camera("cam1", "rgb", (128, 64), (0.5, 0.2, 0.3), 0.10, 0.35, 0.84, 0.5, 0.012),
    Camera("cam2", "rgb", (144, 72), (0.3, 0.4, 0.3), 0.15, 0.45, 0.82, 0.5, 0.012),
    Camera("cam3", "ir", (160, 80), (0.4, 0.3, 0.3), 0.10, 0.40, 0.80, 0.9, 0.025, 0.9),
    Camera("cam4", "rgb", (128, 64), (0.25, 0.25, 0.5), 0.30, 0.50, 0.80, 0.6, 0.015),
    Camera("cam5", "rgb", (144, 72), (0.2, 0.45, 0.35), 0.30, 0.50, 0.82, 0.6, 0.015),
    Camera("cam6", "ir", (128, 64), (0.3, 0.3, 0.4), 0.25, 0.45, 0.82, 1.0, 0.03, 0.85),
)}
SYSU_INDOOR_RGB, SYSU_OUTDOOR_RGB, SYSU_IR = ("cam1", "cam2"), ("cam4", "cam5"), ("cam3", "cam6")

# One dual-camera rig: identical geometry, so paired images share a pose.
REGDB_CAMERAS = {c.name: c for c in (
    Camera("Visible", "rgb", (128, 64), (0.45, 0.45, 0.1), 0.0, 0.4, 0.84, 0.5, 0.012),
    Camera("Thermal", "ir", (128, 64), (0.45, 0.45, 0.1), 0.0, 0.4, 0.84, 1.4, 0.02, 0.5),
)}


@dataclass(frozen=True)
class CameraStyle:
    """A camera's scene: background and lighting, drawn once per (seed, dataset, camera)."""
    wall: np.ndarray        # (C,) colour or grey level
    floor: np.ndarray       # (C,)
    horizon: float          # fraction of the image height where wall meets floor
    panel_period: float     # wall panel period, pixels
    panel_contrast: float
    texture: float          # amplitude of the smooth background noise
    tint: np.ndarray        # (C,) illumination colour


def draw_camera_style(rng, camera):
    if camera.modality == "rgb":
        return CameraStyle(
            wall=random_colour(rng, saturation=(0.05, 0.45), value=(0.45, 0.85)),
            floor=random_colour(rng, saturation=(0.05, 0.4), value=(0.25, 0.6)),
            horizon=rng.uniform(0.45, 0.75),
            panel_period=rng.uniform(6, 18),
            panel_contrast=rng.uniform(0.03, 0.12),
            texture=rng.uniform(0.03, 0.08),
            tint=1 + rng.uniform(-0.12, 0.12, 3),
        )
    return CameraStyle(
        wall=np.array([rng.uniform(0.12, 0.3)]),
        floor=np.array([rng.uniform(0.08, 0.25)]),
        horizon=rng.uniform(0.45, 0.75),
        panel_period=rng.uniform(6, 18),
        panel_contrast=rng.uniform(0.01, 0.04),
        texture=rng.uniform(0.01, 0.03),
        tint=np.ones(1),
    )
