"""Small, deterministic, synthetic look-alikes of SYSU-MM01 and RegDB.

They exist to check that the pipeline *functions* end to end (loaders, sampler, keypoints,
training, evaluation) on a machine without the real data. Scores on them say nothing about
scores on the real benchmarks.

Layout (that of the released datasets, so the real loaders read it unchanged)::

    SYSU-MM01/cam{1..6}/{pid:04d}/{img:04d}.jpg   RGB cameras cam1 cam2 cam4 cam5 (RGB JPEG),
                                                  near-IR cameras cam3 cam6 (single-channel JPEG)
    SYSU-MM01/exp/{train,val,test}_id.txt         one line of comma-separated ids (1-based)
    RegDB/Visible/{pid}/v_{pid:04d}_{k:02d}.bmp   RGB BMP
    RegDB/Thermal/{pid}/t_{pid:04d}_{k:02d}.bmp   single-channel BMP
    RegDB/idx/{train,test}_{visible,thermal}_{trial}.txt   trials 1..10, lines
                                                  "Visible/12/v_0012_03.bmp 12" (path, identity id)
    <dataset>/keypoints.json                      ground-truth keypoints of every image
    <dataset>/.synthetic.json                     generator parameters (see "Idempotence")

Every SYSU identity appears in at least one of cam1/cam2, one of cam4/cam5 and one IR camera,
plus a random subset of the others. RegDB's k-th visible and k-th thermal image of an identity
share one pose (the real dataset films both at once); each trial trains a different random half
of the ids and tests the other half.

Keypoints (``keypoints.json``, read/written by :mod:`~g2da_plugin.data.keypoints_io`'s
:func:`load_keypoints` / :func:`save_keypoints`):
17 COCO keypoints per image, ``[x, y, v]``. x grows rightwards and y downwards, in pixels of that
image: pixel (0, 0) covers [0, 1) x [0, 1), so the centre of the top-left pixel is (0.5, 0.5).
"left" is the person's left, on the image's right when the person faces the camera.
v = 1 for a visible keypoint, 0 for one outside the image, behind an occluder, or a face point on
the far side of the head (nose and eyes seen from behind, the far eye and ear seen from the side);
x and y are true even then. Limbs crossing the body and carried items do not hide keypoints.
The renderer draws the body from these keypoints, so the file is exact (to 0.001 px).

Content. Identity lives in body shape (height, head size, shoulder/hip width, limb lengths and
thickness), sleeve and trouser length, clothing patterns (solid, horizontal or vertical stripes,
checks; stripe period), colours (RGB only, from a small wardrobe that many people share, so
colour narrows the candidates but does not identify), a per-material infrared grey level (never the hue:
a quarter the fabric's own material term, three quarters its visible brightness, as dyed fabrics partly reflect
near-IR like visible light), hair, and a carried item (none, backpack, handbag, hat). Per
camera: a viewpoint mix (front/back/side), walking amplitude, background, occluder rate and image
size; per image: yaw, walking phase, scale, position, lighting, optional occluder, sensor noise.
IR images carry no hue: bright skin, clothing at its own grey level, weaker pattern contrast,
dark low-texture background, blur and noise.

Determinism: every random draw comes from a generator seeded by (seed, dataset, what, ids...),
so an image does not depend on the order of generation; the same seed and parameters give
byte-identical files with the same numpy/Pillow build.

Idempotence: a dataset folder holds ``.synthetic.json`` (parameters, seed, GENERATOR_VERSION).
Asking again for the same dataset returns at once; anything else rebuilds it from scratch in a
temporary folder that then replaces the old one. A folder without that marker (the real data,
say) is never deleted: the generator refuses with FileExistsError.
"""

import colorsys
import functools
import json
import math
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
from PIL import Image, ImageFilter

# The keypoints file format lives in keypoints_io; re-exported here for existing callers.
from .keypoints_io import (  # noqa: F401
    COCO_KEYPOINT_NAMES, KEYPOINTS_FILENAME, KEYPOINTS_FORMAT, KEYPOINTS_VERSION, NUM_KEYPOINTS, load_keypoints,
    save_keypoints,
)

GENERATOR_VERSION = 4

SYNTHETIC_SOURCE = "synthetic-ground-truth"
MARKER_FILENAME = ".synthetic.json"

FACE_KEYPOINTS = range(5)

# Materials of the rendered label map (Sample.labels).
BACKGROUND, SKIN, EYES, HAIR, TOP_A, TOP_B, BOTTOM_A, BOTTOM_B, SHOES, ITEM, OCCLUDER = range(11)
NUM_MATERIALS = 11

PATTERNS = ("solid", "hstripes", "vstripes", "checks")
ITEMS = ("none", "backpack", "handbag", "hat")

SYSU_DIRNAME = "SYSU-MM01"
REGDB_DIRNAME = "RegDB"
REGDB_TRIALS = range(1, 11)


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
REGDB_FILE_PREFIX = {"Visible": "v", "Thermal": "t"}


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


@dataclass(frozen=True)
class Pose:
    yaw: float       # 0: facing the camera, pi: back to it, +pi/2: facing the image's right
    phase: float     # walking phase, radians
    swing: float     # thigh swing amplitude, radians
    height: float    # person height, pixels
    centre_x: float
    foot_y: float


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


@dataclass(frozen=True)
class Sample:
    image: Image.Image      # "RGB" or "L"
    keypoints: np.ndarray   # (17, 3) x, y, v
    labels: np.ndarray      # (H, W) uint8 material of every pixel


# ----------------------------------------------------------------------------- randomness

def _rng(seed, *key):
    """A generator for one purpose: strings are hashed with crc32, which is stable across runs."""
    parts = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in key]
    return np.random.default_rng(parts)


def _colour(rng, saturation=(0.25, 0.9), value=(0.2, 0.95)):
    return np.array(colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value)))


# Clothing colours come from a small common wardrobe (as in real crowds: many people wear black,
# navy or denim), so colour narrows the candidates but cannot identify a person on its own; identity
# has to come from cues both modalities show (shape, patterns, items), as the demo is meant to test.
WARDROBE = np.array([
    (0.08, 0.08, 0.09),  # black
    (0.27, 0.27, 0.29),  # charcoal
    (0.56, 0.56, 0.57),  # grey
    (0.88, 0.88, 0.86),  # white
    (0.10, 0.13, 0.35),  # navy
    (0.25, 0.38, 0.60),  # denim
    (0.78, 0.70, 0.55),  # beige
    (0.40, 0.27, 0.15),  # brown
    (0.55, 0.10, 0.12),  # dark red
    (0.38, 0.40, 0.20),  # olive
])
TOP_COLOURS = range(len(WARDROBE))
BOTTOM_COLOURS = (0, 1, 2, 4, 5, 6, 7)   # trousers: no white, red or olive
SHOE_COLOURS = (0, 1, 3, 7)
# Per-person shift of a wardrobe colour: dyes vary a little, far less than the wardrobe's spacing.
WARDROBE_JITTER = 0.03


def _wardrobe_colour(rng, choices):
    return WARDROBE[int(rng.choice(choices))] + rng.uniform(-WARDROBE_JITTER, WARDROBE_JITTER, 3)


def _pattern_partner(rng, colour):
    """The second colour of a pattern: darker, lighter or another wardrobe colour, so patterns show."""
    kind = rng.integers(3)
    if kind == 0:
        return colour * rng.uniform(0.25, 0.5)
    if kind == 1:
        return colour + (1 - colour) * rng.uniform(0.5, 0.8)
    return _wardrobe_colour(rng, TOP_COLOURS)


def _ir_partner(rng, level):
    """A pattern's second IR level, at least 0.2 away so the pattern survives in IR (a shared cue)."""
    step = rng.uniform(0.2, 0.4) * (1 if rng.random() < 0.5 else -1)
    if not 0.05 <= level + step <= 0.95:
        step = -step
    return level + step


def _draw_rgb_palette(rng):
    palette = np.zeros((NUM_MATERIALS, 3))
    palette[SKIN] = np.array([0.96, 0.80, 0.69]) + rng.random() * np.array([-0.51, -0.50, -0.47])
    palette[EYES] = (0.08, 0.06, 0.05)
    palette[HAIR] = np.array([0.05, 0.04, 0.03]) + rng.random() ** 2 * np.array([0.55, 0.40, 0.20])
    palette[TOP_A] = _wardrobe_colour(rng, TOP_COLOURS)
    palette[TOP_B] = _pattern_partner(rng, palette[TOP_A])
    palette[BOTTOM_A] = _wardrobe_colour(rng, BOTTOM_COLOURS)
    palette[BOTTOM_B] = _pattern_partner(rng, palette[BOTTOM_A])
    palette[SHOES] = _wardrobe_colour(rng, SHOE_COLOURS)
    palette[ITEM] = _wardrobe_colour(rng, TOP_COLOURS)
    return np.clip(palette, 0, 1)


# Share of a fabric's near-IR grey level that follows its visible brightness (dyes reflect part of
# the near-IR light roughly as they reflect visible light); the rest is the material's own.
NIR_BRIGHTNESS_SHARE = 0.75


def _nir_level(rng, rgb, low, high):
    brightness = float(rgb @ np.array([0.299, 0.587, 0.114]))
    return (1 - NIR_BRIGHTNESS_SHARE) * rng.uniform(low, high) + NIR_BRIGHTNESS_SHARE * brightness


def _draw_ir_palette(rng, rgb):
    """Grey levels: never the hue; fabrics partly follow their visible brightness, partly their material."""
    levels = np.zeros(NUM_MATERIALS)
    levels[SKIN] = rng.uniform(0.8, 0.95)
    levels[EYES] = levels[SKIN] * 0.8
    levels[HAIR] = rng.uniform(0.2, 0.45)
    levels[TOP_A] = _nir_level(rng, rgb[TOP_A], 0.25, 0.75)
    levels[TOP_B] = _ir_partner(rng, levels[TOP_A])
    levels[BOTTOM_A] = _nir_level(rng, rgb[BOTTOM_A], 0.2, 0.7)
    levels[BOTTOM_B] = _ir_partner(rng, levels[BOTTOM_A])
    levels[SHOES] = _nir_level(rng, rgb[SHOES], 0.1, 0.4)
    levels[ITEM] = _nir_level(rng, rgb[ITEM], 0.15, 0.7)
    return levels[:, None]


def draw_identity(rng, pid):
    """A random person. Keyword arguments are evaluated in order, which fixes the draw order."""
    rgb = _draw_rgb_palette(rng)
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
        ir=_draw_ir_palette(rng, rgb),
    )


def draw_camera_style(rng, camera):
    if camera.modality == "rgb":
        return CameraStyle(
            wall=_colour(rng, saturation=(0.05, 0.45), value=(0.45, 0.85)),
            floor=_colour(rng, saturation=(0.05, 0.4), value=(0.25, 0.6)),
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


def draw_pose(rng, camera, identity):
    view = rng.choice(3, p=camera.view_weights)
    facing = (0.0, math.pi, math.pi / 2 * (1 if rng.random() < 0.5 else -1))[view]
    height, width = camera.size
    return Pose(
        yaw=facing + rng.normal(0, 0.25),
        phase=rng.uniform(0, 2 * math.pi),
        swing=camera.walk_amplitude * rng.uniform(0.3, 1.0),
        height=height * camera.person_height * identity.stature * rng.uniform(0.9, 1.08),
        centre_x=width / 2 + rng.normal(0, 0.06 * width),
        foot_y=height * rng.uniform(0.93, 1.0),
    )


# ----------------------------------------------------------------------------- skeleton

@dataclass(frozen=True)
class _Figure:
    """A posed body in its own frame (lateral: person's left > 0, y: image down, forward), px."""
    joints: np.ndarray        # (17, 3) COCO keypoints
    head_centre: np.ndarray   # (3,)
    head_radii: np.ndarray    # (3,) semi-axes: lateral, vertical, forward
    shoulder_y: float
    hip_y: float
    shoulder_width: float
    hip_width: float
    torso_depth: float
    arm_radius: float
    leg_radius: float
    height: float


# Directions of the face points from the head centre (lateral, vertical, forward).
_FACE_DIRECTIONS = np.array([
    (0.0, 0.25, 1.0), (0.4, -0.1, 0.9), (-0.4, -0.1, 0.9), (1.0, 0.0, 0.0), (-1.0, 0.0, 0.0)])
_FACE_DIRECTIONS /= np.linalg.norm(_FACE_DIRECTIONS, axis=1, keepdims=True)
_FACE_DEPTH = 0.7  # face points sit this far out along the head's radii: inside the drawn head


def _limb(start, length, angle, lateral_tilt, side):
    """End of a limb hanging from ``start``, swung forward by ``angle`` and out by ``lateral_tilt``."""
    direction = np.array([side * math.sin(lateral_tilt),
                          math.cos(angle) * math.cos(lateral_tilt),
                          math.sin(angle) * math.cos(lateral_tilt)])
    return start + length * direction


def build_figure(identity, pose):
    height = pose.height
    top = pose.foot_y - height
    head_height = identity.head_height * height
    radii = np.array([identity.head_width * head_height, head_height, 1.15 * identity.head_width * head_height]) / 2
    head_centre = np.array([0.0, top + head_height / 2, 0.0])
    shoulder_y = top + head_height + 0.035 * height
    hip_y = shoulder_y + identity.torso_length * height
    leg_length = pose.foot_y - 0.035 * height - hip_y

    joints = np.zeros((NUM_KEYPOINTS, 3))
    joints[:5] = head_centre + _FACE_DEPTH * _FACE_DIRECTIONS * radii
    for side, (shoulder, elbow, wrist, hip, knee, ankle) in ((1, (5, 7, 9, 11, 13, 15)), (-1, (6, 8, 10, 12, 14, 16))):
        thigh_angle = side * pose.swing * math.sin(pose.phase)
        shin_angle = thigh_angle - 0.1 - 1.2 * max(0.0, -thigh_angle)   # the knee bends when the leg trails
        arm_angle = -0.8 * thigh_angle                                  # arms swing against the legs
        forearm_angle = arm_angle + 0.15 + 0.5 * max(0.0, arm_angle)
        joints[shoulder] = (side * identity.shoulder_width * height / 2, shoulder_y, 0.0)
        joints[elbow] = _limb(joints[shoulder], identity.upper_arm * height, arm_angle, 0.12, side)
        joints[wrist] = _limb(joints[elbow], identity.forearm * height, forearm_angle, 0.08, side)
        joints[hip] = (side * identity.hip_width * height / 2, hip_y, 0.0)
        joints[knee] = _limb(joints[hip], leg_length / 2, thigh_angle, 0.0, side)
        joints[ankle] = _limb(joints[knee], leg_length / 2, shin_angle, 0.0, side)
    return _Figure(
        joints=joints, head_centre=head_centre, head_radii=radii, shoulder_y=shoulder_y, hip_y=hip_y,
        shoulder_width=identity.shoulder_width * height, hip_width=identity.hip_width * height,
        torso_depth=identity.torso_depth * identity.shoulder_width * height,
        arm_radius=identity.arm_thickness * height / 2, leg_radius=identity.leg_thickness * height / 2,
        height=height)


def _project(points, pose):
    """Orthographic view: body frame -> image x, y and depth z (larger = farther from the camera)."""
    points = np.asarray(points, dtype=float)
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    lateral, y, forward = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([pose.centre_x + lateral * c + forward * s, y, lateral * s - forward * c], axis=-1)


def _face_points_facing_camera(yaw):
    """A face point shows unless its direction points away from the camera (depth grows)."""
    lateral, forward = _FACE_DIRECTIONS[:, 0], _FACE_DIRECTIONS[:, 2]
    return lateral * math.sin(yaw) - forward * math.cos(yaw) < 0.25


# ----------------------------------------------------------------------------- rendering

class _Canvas:
    """A label map plus a shading map, painted shape by shape (later shapes cover earlier ones).

    Each shape only computes over the window of pixels its bounding box can touch.
    """

    def __init__(self, height, width):
        self.labels = np.zeros((height, width), np.uint8)
        self.shade = np.ones((height, width), np.float32)
        self.xs = np.arange(width) + 0.5    # pixel centres
        self.ys = np.arange(height) + 0.5

    def _window(self, left, right, top, bottom):
        """Row and column slices of the pixels whose centres can lie in the box, and those centres."""
        height, width = self.labels.shape
        rows = slice(max(0, math.floor(top)), min(height, math.ceil(bottom) + 1))
        cols = slice(max(0, math.floor(left)), min(width, math.ceil(right) + 1))
        return (rows, cols), self.xs[cols][None, :], self.ys[rows][:, None]

    def _paint(self, window, mask, material, shade):
        """``mask`` and ``shade`` cover the window; ``material`` is one label or one per pixel."""
        labels = self.labels[window]
        labels[mask] = material if np.isscalar(material) else material[mask]
        self.shade[window][mask] = shade[mask]

    def capsule(self, start, end, radius, material):
        """A thick segment with round ends, shaded like a cylinder."""
        (x0, y0), (x1, y1) = start[:2], end[:2]
        window, x, y = self._window(min(x0, x1) - radius, max(x0, x1) + radius,
                                    min(y0, y1) - radius, max(y0, y1) + radius)
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((x - x0) * dx + (y - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
        distance = np.hypot(x - x0 - t * dx, y - y0 - t * dy)
        self._paint(window, distance <= radius, material, 1 - 0.35 * (distance / radius) ** 2)

    def trapezoid(self, top_y, bottom_y, top_centre, top_half, bottom_centre, bottom_half, material):
        """Horizontal top and bottom edges; sides interpolate linearly (rectangles too)."""
        window, x, y = self._window(min(top_centre - top_half, bottom_centre - bottom_half),
                                    max(top_centre + top_half, bottom_centre + bottom_half), top_y, bottom_y)
        t = (y - top_y) / (bottom_y - top_y)
        offset = (x - (top_centre + t * (bottom_centre - top_centre))) / (top_half + t * (bottom_half - top_half))
        self._paint(window, (t >= 0) & (t <= 1) & (np.abs(offset) <= 1), material, 1 - 0.3 * offset ** 2)

    def head(self, centre, radii, pose, identity):
        """Ray-cast the head ellipsoid: each pixel shows skin, hair or hat by where it hits the head."""
        a, b, c = radii
        reach = max(a, c)
        window, x, y = self._window(centre[0] - reach, centre[0] + reach, centre[1] - b, centre[1] + b)
        cos_yaw, sin_yaw = math.cos(pose.yaw), math.sin(pose.yaw)
        u, v = x - centre[0], y - centre[1]
        qa = sin_yaw ** 2 / a ** 2 + cos_yaw ** 2 / c ** 2
        qb = 2 * u * cos_yaw * sin_yaw * (1 / a ** 2 - 1 / c ** 2)
        qc = u ** 2 * (cos_yaw ** 2 / a ** 2 + sin_yaw ** 2 / c ** 2) + (v / b) ** 2 - 1
        discriminant = qb ** 2 - 4 * qa * qc
        z = (-qb - np.sqrt(np.maximum(discriminant, 0))) / (2 * qa)   # the nearer hit
        lateral = (u * cos_yaw + z * sin_yaw) / a
        forward = (u * sin_yaw - z * cos_yaw) / c
        vertical = v / b
        hair = (vertical < identity.hairline) | ((forward < -0.25) & (vertical < identity.hair_length))
        material = np.where(hair, HAIR, SKIN)
        if identity.item == "hat":
            material = np.where(vertical < -0.35, ITEM, material)
        facing = lateral * -sin_yaw + forward * cos_yaw   # the surface normal's component towards the camera
        self._paint(window, discriminant >= 0, material, 0.6 + 0.4 * np.clip(facing, 0, 1))

    def dot(self, point, material):
        x, y = math.floor(point[0]), math.floor(point[1])
        if 0 <= y < self.labels.shape[0] and 0 <= x < self.labels.shape[1]:
            self.labels[y, x] = material


class _Part(NamedTuple):
    layer: int       # painting order first by layer, then far to near
    depth: float
    paint: Callable


_BEHIND, _LEGS, _TORSO, _FRONT, _HEAD = range(5)


def _side_layer(depth):
    """Limbs and items behind the torso plane are painted before it, the others after."""
    return _BEHIND if depth > 0 else _FRONT


def _arm_part(canvas, figure, identity, projected, side):
    shoulder, elbow, wrist = (projected[i] for i in ((5, 7, 9) if side > 0 else (6, 8, 10)))
    radius = figure.arm_radius

    def paint():
        if identity.long_sleeves:
            canvas.capsule(shoulder, elbow, radius, TOP_A)
            canvas.capsule(elbow, wrist, 0.9 * radius, TOP_A)
        else:
            canvas.capsule(shoulder, elbow, 0.9 * radius, SKIN)
            canvas.capsule(elbow, wrist, 0.85 * radius, SKIN)
            canvas.capsule(shoulder, shoulder + 0.55 * (elbow - shoulder), 1.15 * radius, TOP_A)
        canvas.capsule(wrist, wrist, 1.1 * radius, SKIN)   # the hand

    depth = float(np.mean([shoulder[2], elbow[2], wrist[2]]))
    return _Part(_side_layer(depth), depth, paint)


def _leg_part(canvas, figure, identity, pose, projected, side):
    hip_i, knee_i, ankle_i = (11, 13, 15) if side > 0 else (12, 14, 16)
    hip, knee, ankle = projected[hip_i], projected[knee_i], projected[ankle_i]
    toe = _project(figure.joints[ankle_i] + (0, 0.02 * figure.height, 0.09 * figure.height), pose)
    radius = figure.leg_radius

    def paint():
        if identity.long_trousers:
            canvas.capsule(hip, knee, radius, BOTTOM_A)
            canvas.capsule(knee, ankle, 0.85 * radius, BOTTOM_A)
        else:
            canvas.capsule(hip, knee, 0.9 * radius, SKIN)
            canvas.capsule(knee, ankle, 0.8 * radius, SKIN)
            canvas.capsule(hip, hip + 0.75 * (knee - hip), 1.1 * radius, BOTTOM_A)
        canvas.capsule(ankle, toe, 0.7 * radius, SHOES)

    return _Part(_LEGS, float(np.mean([hip[2], knee[2], ankle[2]])), paint)


def _torso_parts(canvas, figure, pose):
    """Pelvis, neck, then the torso over both (equal keys keep this order in a stable sort)."""
    cos_yaw, sin_yaw = abs(math.cos(pose.yaw)), abs(math.sin(pose.yaw))
    shoulder_half = (figure.shoulder_width * cos_yaw + figure.torso_depth * sin_yaw) / 2 + 0.3 * figure.arm_radius
    hip_half = (figure.hip_width * cos_yaw + 0.9 * figure.torso_depth * sin_yaw) / 2 + 0.3 * figure.leg_radius
    x = pose.centre_x
    neck_top = _project(figure.head_centre + (0, 0.3 * figure.head_radii[1], 0), pose)
    neck_bottom = _project((0, figure.shoulder_y, 0), pose)
    h = figure.height
    return [
        _Part(_TORSO, 0.0, lambda: canvas.trapezoid(
            figure.hip_y - 0.05 * h, figure.hip_y + 0.06 * h, x, hip_half, x, hip_half + 0.2 * figure.leg_radius,
            BOTTOM_A)),
        _Part(_TORSO, 0.0, lambda: canvas.capsule(neck_top, neck_bottom, 0.45 * figure.head_radii[0], SKIN)),
        _Part(_TORSO, 0.0, lambda: canvas.trapezoid(
            figure.shoulder_y - 0.3 * figure.arm_radius, figure.hip_y + 0.04 * h, x, shoulder_half, x, hip_half,
            TOP_A)),
    ]


def _box_part(canvas, pose, centre, size):
    """An upright box (lateral, vertical, forward sizes) seen from ``pose``: a screen rectangle."""
    x, y, depth = _project(centre, pose)
    half_width = (size[0] * abs(math.cos(pose.yaw)) + size[2] * abs(math.sin(pose.yaw))) / 2
    return _Part(_side_layer(depth), depth, lambda: canvas.trapezoid(
        y - size[1] / 2, y + size[1] / 2, x, half_width, x, half_width, ITEM))


def _item_parts(canvas, figure, identity, pose, projected):
    h = figure.height
    if identity.item == "backpack":
        size = (0.8 * figure.shoulder_width, 0.65 * (figure.hip_y - figure.shoulder_y), 0.5 * figure.torso_depth)
        centre = (0, figure.shoulder_y + 0.45 * (figure.hip_y - figure.shoulder_y), -(figure.torso_depth + size[2]) / 2)
        parts = [_box_part(canvas, pose, centre, size)]
        if math.cos(pose.yaw) > 0.5:   # straps show across the chest when the front is seen
            for shoulder in projected[5:7]:
                inner = shoulder + ((pose.centre_x - shoulder[0]) * 0.35, 0, 0)
                low = inner + (0, 0.45 * (figure.hip_y - figure.shoulder_y), 0)
                parts.append(_Part(_FRONT, -figure.torso_depth, lambda a=inner, b=low: canvas.capsule(a, b, 1.0, ITEM)))
        return parts
    if identity.item == "handbag":
        side = identity.item_side
        size = (0.05 * h, 0.1 * h, 0.12 * h)
        centre = (side * (figure.shoulder_width / 2 + 3 * figure.arm_radius), figure.hip_y, 0.0)
        bag = _box_part(canvas, pose, centre, size)
        shoulder = projected[5 if side > 0 else 6]
        bag_top = _project(np.add(centre, (0, -size[1] / 2, 0)), pose)
        strap = _Part(bag.layer, bag.depth, lambda: canvas.capsule(shoulder, bag_top, 0.8, ITEM))
        return [strap, bag]
    return []   # "none", and the hat is part of the head


def _paint_person(canvas, identity, pose, figure, projected):
    parts = [_arm_part(canvas, figure, identity, projected, side) for side in (1, -1)]
    parts += [_leg_part(canvas, figure, identity, pose, projected, side) for side in (1, -1)]
    parts += _torso_parts(canvas, figure, pose)
    parts += _item_parts(canvas, figure, identity, pose, projected)
    head_centre = _project(figure.head_centre, pose)
    parts.append(_Part(_HEAD, 0.0, lambda: canvas.head(head_centre, figure.head_radii, pose, identity)))
    for part in sorted(parts, key=lambda p: (p.layer, -p.depth)):
        part.paint()


def _apply_patterns(canvas, identity, pose, figure):
    """Turn the second-colour cells of each garment's pattern from *_A into *_B."""
    dx = canvas.xs[None, :] - pose.centre_x
    dy = canvas.ys[:, None] - figure.shoulder_y
    for pattern, period, plain, second in ((identity.top_pattern, identity.top_period, TOP_A, TOP_B),
                                           (identity.bottom_pattern, identity.bottom_period, BOTTOM_A, BOTTOM_B)):
        half = period * figure.height / 2
        rows = np.floor(dy / half).astype(int) % 2 == 1
        columns = np.floor(dx / half + 0.5).astype(int) % 2 == 1
        cells = {"solid": False, "hstripes": rows, "vstripes": columns, "checks": rows ^ columns}[pattern]
        canvas.labels[(canvas.labels == plain) & cells] = second


def _paint_occluder(canvas, camera, rng):
    """A box in front of the person: furniture at the bottom or a pillar/passer-by at a side."""
    if rng.random() >= camera.occluder_prob:
        return
    height, width = camera.size
    if rng.random() < 0.5:
        top = height * rng.uniform(0.55, 0.8)
        left, span = width * rng.uniform(-0.3, 0.3), width * rng.uniform(0.6, 1.2)
    else:
        top = height * rng.uniform(-0.1, 0.2)
        span = width * rng.uniform(0.2, 0.4)
        left = -span * rng.uniform(0, 0.3) if rng.random() < 0.5 else width - span * rng.uniform(0.7, 1)
    centre = left + span / 2
    canvas.trapezoid(top, height, centre, span / 2, centre, span / 2, OCCLUDER)


def _keypoint_visibility(canvas, keypoints_xy, pose):
    height, width = canvas.labels.shape
    x, y = keypoints_xy[:, 0], keypoints_xy[:, 1]
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    rows = np.clip(np.floor(y).astype(int), 0, height - 1)
    cols = np.clip(np.floor(x).astype(int), 0, width - 1)
    visible = inside & (canvas.labels[rows, cols] != OCCLUDER)
    visible[FACE_KEYPOINTS] &= _face_points_facing_camera(pose.yaw)
    return visible


# ----------------------------------------------------------------------------- colour

def _background(style, camera, rng):
    """Wall over floor, wall panels, smooth texture: (H, W, C)."""
    height, width = camera.size
    y = (np.arange(height, dtype=np.float32) + 0.5) / height
    horizon = style.horizon + rng.normal(0, 0.03)
    on_floor = (y > horizon)[:, None]
    rows = np.where(on_floor, style.floor * (0.85 + 0.3 * (y - horizon))[:, None],
                    style.wall * (1 - 0.15 * y)[:, None]).astype(np.float32)
    x = np.arange(width, dtype=np.float32) + 0.5
    panels = 1 + style.panel_contrast * np.sign(np.sin(2 * math.pi * (x / style.panel_period + rng.random())))
    coarse = rng.standard_normal((height // 8 + 2, width // 8 + 2), dtype=np.float32)
    smooth = np.asarray(Image.fromarray(coarse, "F").resize((width, height), Image.BILINEAR))
    relief = np.where(on_floor, 1, panels[None, :]) * (1 + style.texture * smooth)
    return rows[:, None, :] * relief[..., None]


def _palette(identity, camera):
    if camera.modality == "rgb":
        return identity.rgb.copy()
    palette = identity.ir.copy()
    for plain, second in ((TOP_A, TOP_B), (BOTTOM_A, BOTTOM_B)):
        palette[second] = palette[plain] + camera.pattern_contrast * (palette[second] - palette[plain])
    return palette


def _colorize(canvas, identity, camera, style, rng):
    channels = 3 if camera.modality == "rgb" else 1
    palette = _palette(identity, camera)
    palette[OCCLUDER] = _colour(rng) if channels == 3 else rng.uniform(0.1, 0.45)
    # IR shows emission more than shading, under a steadier (auto-gain) exposure
    shade_strength, exposure = (1.0, rng.uniform(0.8, 1.15)) if channels == 3 else (0.3, rng.uniform(0.92, 1.08))
    image = palette.astype(np.float32)[canvas.labels] * (1 - shade_strength * (1 - canvas.shade))[..., None]
    image = np.where((canvas.labels == BACKGROUND)[..., None], _background(style, camera, rng), image)
    return image * (style.tint * exposure).astype(np.float32)


def _finish(image, camera, rng):
    """Optics then sensor: blur, then additive noise, 8 bits."""
    pixels = np.clip(image * 255, 0, 255).round().astype(np.uint8)
    blurred = Image.fromarray(pixels if pixels.shape[2] == 3 else pixels[..., 0])
    noisy = np.asarray(blurred.filter(ImageFilter.GaussianBlur(camera.blur)), np.float32)
    noisy += rng.standard_normal(noisy.shape, dtype=np.float32) * (camera.noise * 255)
    return Image.fromarray(np.clip(noisy, 0, 255).round().astype(np.uint8))


def render_sample(identity, camera, style, pose_rng, look_rng):
    """One image of ``identity`` through ``camera``; pose from ``pose_rng``, the rest from ``look_rng``."""
    pose = draw_pose(pose_rng, camera, identity)
    figure = build_figure(identity, pose)
    projected = _project(figure.joints, pose)
    canvas = _Canvas(*camera.size)
    _paint_person(canvas, identity, pose, figure, projected)
    _apply_patterns(canvas, identity, pose, figure)
    for eye in (1, 2):
        if _face_points_facing_camera(pose.yaw)[eye]:
            canvas.dot(projected[eye], EYES)
    _paint_occluder(canvas, camera, look_rng)
    visible = _keypoint_visibility(canvas, projected[:, :2], pose)
    keypoints = np.concatenate([projected[:, :2], visible[:, None].astype(float)], axis=1)
    image = _finish(_colorize(canvas, identity, camera, style, look_rng), camera, look_rng)
    return Sample(image=image, keypoints=keypoints, labels=canvas.labels)


@functools.lru_cache(maxsize=1024)
def _identity(seed, dataset, pid):
    """Cached: every image of a person needs it. Callers must not modify it."""
    return draw_identity(_rng(seed, dataset, "identity", pid), pid)


@functools.lru_cache(maxsize=64)
def _camera_style(seed, dataset, camera):
    return draw_camera_style(_rng(seed, dataset, "camera", camera.name), camera)


def render_sysu_sample(seed, pid, camera_name, index):
    camera = SYSU_CAMERAS[camera_name]
    return render_sample(
        _identity(seed, SYSU_DIRNAME, pid), camera, _camera_style(seed, SYSU_DIRNAME, camera),
        _rng(seed, SYSU_DIRNAME, "pose", pid, camera_name, index),
        _rng(seed, SYSU_DIRNAME, "look", pid, camera_name, index))


def render_regdb_sample(seed, pid, modality, index):
    """``modality``: "Visible" or "Thermal". Both modalities of one index share the pose."""
    camera = REGDB_CAMERAS[modality]
    return render_sample(
        _identity(seed, REGDB_DIRNAME, pid), camera, _camera_style(seed, REGDB_DIRNAME, camera),
        _rng(seed, REGDB_DIRNAME, "pose", pid, index),
        _rng(seed, REGDB_DIRNAME, "look", pid, modality, index))


# ----------------------------------------------------------------------------- datasets

def _generate_once(root, dirname, seed, params, write):
    """Build ``root/dirname`` with ``write(folder, seed, **params)`` unless it is already there."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    target = Path(root) / dirname
    marker = json.loads(json.dumps({"generator": __name__, "generator_version": GENERATOR_VERSION,
                                    "dataset": dirname, "seed": seed, "params": params}))
    marker_path = target / MARKER_FILENAME
    if target.exists():
        if not marker_path.is_file():
            raise FileExistsError(f"{target} exists and was not made by {__name__} (no {MARKER_FILENAME}): "
                                  f"refusing to replace it; choose another output folder")
        try:
            if json.loads(marker_path.read_text(encoding="utf-8")) == marker:
                return str(target)
        except json.JSONDecodeError:
            pass   # a damaged marker: rebuild
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{dirname}.building-", dir=target.parent))
    try:
        write(building, seed, **params)
        (building / MARKER_FILENAME).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
        os.chmod(building, 0o755)   # mkdtemp creates 0700
        if target.exists():
            shutil.rmtree(target)
        os.replace(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return str(target)


def _check_count(name, value, minimum=1):
    if not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _save_image(image, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        image.save(path, "JPEG", quality=90)
    else:
        image.save(path, "BMP")


def sysu_cameras_of(seed, pid):
    """Cameras that see ``pid``: one of cam1/cam2, one of cam4/cam5, one IR camera, maybe more."""
    rng = _rng(seed, SYSU_DIRNAME, "cameras", pid)
    cameras = set()
    for group, extra_prob in ((SYSU_INDOOR_RGB, 0.5), (SYSU_OUTDOOR_RGB, 0.5), (SYSU_IR, 0.6)):
        first = int(rng.integers(2))
        cameras.add(group[first])
        if rng.random() < extra_prob:
            cameras.add(group[1 - first])
    return sorted(cameras)


def _sysu_splits(seed, num_train_ids, num_val_ids, num_test_ids):
    ids = _rng(seed, SYSU_DIRNAME, "splits").permutation(num_train_ids + num_val_ids + num_test_ids) + 1
    bounds = np.cumsum([num_train_ids, num_val_ids])
    return {name: sorted(int(i) for i in part) for name, part in zip(("train", "val", "test"), np.split(ids, bounds))}


def _write_sysu(folder, seed, num_train_ids, num_val_ids, num_test_ids, images_per_cam):
    splits = _sysu_splits(seed, num_train_ids, num_val_ids, num_test_ids)
    (folder / "exp").mkdir()
    for name, ids in splits.items():
        (folder / "exp" / f"{name}_id.txt").write_text(",".join(map(str, ids)) + "\n")
    fewest, most = images_per_cam
    keypoints = {}
    for pid in range(1, num_train_ids + num_val_ids + num_test_ids + 1):
        for camera_name in sysu_cameras_of(seed, pid):
            count = int(_rng(seed, SYSU_DIRNAME, "count", pid, camera_name).integers(fewest, most + 1))
            for index in range(1, count + 1):
                relative = f"{camera_name}/{pid:04d}/{index:04d}.jpg"
                sample = render_sysu_sample(seed, pid, camera_name, index)
                _save_image(sample.image, folder / relative)
                keypoints[relative] = sample.keypoints
    save_keypoints(folder / KEYPOINTS_FILENAME, keypoints, SYNTHETIC_SOURCE)


def regdb_trial_ids(seed, num_ids, trial):
    """(train ids, test ids) of one trial: a random half of 1..num_ids trains."""
    ids = _rng(seed, REGDB_DIRNAME, "split", trial).permutation(num_ids) + 1
    return sorted(int(i) for i in ids[:num_ids // 2]), sorted(int(i) for i in ids[num_ids // 2:])


def _regdb_path(modality, pid, index):
    return f"{modality}/{pid}/{REGDB_FILE_PREFIX[modality]}_{pid:04d}_{index:02d}.bmp"


def _write_regdb(folder, seed, num_ids, images_per_modality):
    keypoints = {}
    for pid in range(1, num_ids + 1):
        for modality in REGDB_CAMERAS:
            for index in range(1, images_per_modality + 1):
                relative = _regdb_path(modality, pid, index)
                sample = render_regdb_sample(seed, pid, modality, index)
                _save_image(sample.image, folder / relative)
                keypoints[relative] = sample.keypoints
    (folder / "idx").mkdir()
    for trial in REGDB_TRIALS:
        for split, ids in zip(("train", "test"), regdb_trial_ids(seed, num_ids, trial)):
            for modality in REGDB_CAMERAS:
                lines = [f"{_regdb_path(modality, pid, index)} {pid}\n"
                         for pid in ids for index in range(1, images_per_modality + 1)]
                (folder / "idx" / f"{split}_{modality.lower()}_{trial}.txt").write_text("".join(lines))
    save_keypoints(folder / KEYPOINTS_FILENAME, keypoints, SYNTHETIC_SOURCE)


def make_synthetic_sysu(root, *, num_train_ids=48, num_val_ids=16, num_test_ids=32, images_per_cam=(2, 5), seed=0):
    """Write ``root/SYSU-MM01`` (ids 1..N, N the sum of the three counts) and return its path.

    ``images_per_cam``: (fewest, most) images of an identity in a camera that sees it, inclusive.
    """
    for name, value in (("num_train_ids", num_train_ids), ("num_val_ids", num_val_ids), ("num_test_ids", num_test_ids)):
        _check_count(name, value)
    fewest, most = images_per_cam
    _check_count("images_per_cam[0]", fewest)
    _check_count("images_per_cam[1]", most, minimum=fewest)
    params = {"num_train_ids": num_train_ids, "num_val_ids": num_val_ids, "num_test_ids": num_test_ids,
              "images_per_cam": [fewest, most]}
    return _generate_once(root, SYSU_DIRNAME, seed, params, _write_sysu)


def make_synthetic_regdb(root, *, num_ids=40, images_per_modality=10, seed=0):
    """Write ``root/RegDB`` (ids 1..num_ids, ten trials) and return its path."""
    _check_count("num_ids", num_ids, minimum=2)
    _check_count("images_per_modality", images_per_modality)
    params = {"num_ids": num_ids, "images_per_modality": images_per_modality}
    return _generate_once(root, REGDB_DIRNAME, seed, params, _write_regdb)


def make_synthetic_datasets(root, seed=0):
    """Both datasets with their default sizes: {"SYSU-MM01": path, "RegDB": path}."""
    return {SYSU_DIRNAME: make_synthetic_sysu(root, seed=seed), REGDB_DIRNAME: make_synthetic_regdb(root, seed=seed)}
