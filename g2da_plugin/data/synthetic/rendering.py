"""Rendering one image: person, occluder, keypoint visibility, background and colour, then optics and sensor."""

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from ..keypoint_geometry import FACE_KEYPOINTS
from .cameras import REGDB_CAMERAS, REGDB_DIRNAME, SYSU_CAMERAS, SYSU_DIRNAME, draw_camera_style
from .canvas import Canvas
from .colours import camera_palette, random_colour
from .figures import build_figure, draw_pose, face_points_facing_camera, project
from .identities import draw_identity
from .materials import BACKGROUND, EYES, OCCLUDER
from .person import apply_patterns, paint_person
from .random_streams import random_stream


@dataclass(frozen=True)
class Sample:
    image: Image.Image      # "RGB" or "L"
    keypoints: np.ndarray   # (17, 3) x, y, v
    labels: np.ndarray      # (H, W) uint8 material of every pixel


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
    visible[list(FACE_KEYPOINTS)] &= face_points_facing_camera(pose.yaw)
    return visible


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


def _colorize(canvas, identity, camera, style, rng):
    channels = 3 if camera.modality == "rgb" else 1
    palette = camera_palette(identity, camera)
    palette[OCCLUDER] = random_colour(rng) if channels == 3 else rng.uniform(0.1, 0.45)
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
    projected = project(figure.joints, pose)
    canvas = Canvas(*camera.size)
    paint_person(canvas, identity, pose, figure, projected)
    apply_patterns(canvas, identity, pose, figure)
    for eye in (1, 2):
        if face_points_facing_camera(pose.yaw)[eye]:
            canvas.dot(projected[eye], EYES)
    _paint_occluder(canvas, camera, look_rng)
    visible = _keypoint_visibility(canvas, projected[:, :2], pose)
    keypoints = np.concatenate([projected[:, :2], visible[:, None].astype(float)], axis=1)
    image = _finish(_colorize(canvas, identity, camera, style, look_rng), camera, look_rng)
    return Sample(image=image, keypoints=keypoints, labels=canvas.labels)


@functools.lru_cache(maxsize=1024)
def _identity(seed, dataset, pid):
    """Cached: every image of a person needs it. Callers must not modify it."""
    return draw_identity(random_stream(seed, dataset, "identity", pid), pid)


@functools.lru_cache(maxsize=64)
def _camera_style(seed, dataset, camera):
    return draw_camera_style(random_stream(seed, dataset, "camera", camera.name), camera)


def render_sysu_sample(seed, pid, camera_name, index):
    camera = SYSU_CAMERAS[camera_name]
    return render_sample(
        _identity(seed, SYSU_DIRNAME, pid), camera, _camera_style(seed, SYSU_DIRNAME, camera),
        random_stream(seed, SYSU_DIRNAME, "pose", pid, camera_name, index),
        random_stream(seed, SYSU_DIRNAME, "look", pid, camera_name, index))


def render_regdb_sample(seed, pid, modality, index):
    """``modality``: "Visible" or "Thermal". Both modalities of one index share the pose."""
    camera = REGDB_CAMERAS[modality]
    return render_sample(
        _identity(seed, REGDB_DIRNAME, pid), camera, _camera_style(seed, REGDB_DIRNAME, camera),
        random_stream(seed, REGDB_DIRNAME, "pose", pid, index),
        random_stream(seed, REGDB_DIRNAME, "look", pid, modality, index))
