"""Painting a person: body parts and carried items in depth order, then the garments' patterns."""

import math
from typing import Callable, NamedTuple

import numpy as np

from .figures import project
from .materials import BOTTOM_A, BOTTOM_B, ITEM, SHOES, SKIN, TOP_A, TOP_B


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
    toe = project(figure.joints[ankle_i] + (0, 0.02 * figure.height, 0.09 * figure.height), pose)
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
    neck_top = project(figure.head_centre + (0, 0.3 * figure.head_radii[1], 0), pose)
    neck_bottom = project((0, figure.shoulder_y, 0), pose)
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
    x, y, depth = project(centre, pose)
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
        bag_top = project(np.add(centre, (0, -size[1] / 2, 0)), pose)
        strap = _Part(bag.layer, bag.depth, lambda: canvas.capsule(shoulder, bag_top, 0.8, ITEM))
        return [strap, bag]
    return []   # "none", and the hat is part of the head


def paint_person(canvas, identity, pose, figure, projected):
    parts = [_arm_part(canvas, figure, identity, projected, side) for side in (1, -1)]
    parts += [_leg_part(canvas, figure, identity, pose, projected, side) for side in (1, -1)]
    parts += _torso_parts(canvas, figure, pose)
    parts += _item_parts(canvas, figure, identity, pose, projected)
    head_centre = project(figure.head_centre, pose)
    parts.append(_Part(_HEAD, 0.0, lambda: canvas.head(head_centre, figure.head_radii, pose, identity)))
    for part in sorted(parts, key=lambda p: (p.layer, -p.depth)):
        part.paint()


def apply_patterns(canvas, identity, pose, figure):
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
