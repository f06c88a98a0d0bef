"""Figures: a pose per image, the posed 3-D skeleton it gives a person, and its orthographic projection."""

import math
from dataclasses import dataclass

import numpy as np

from ..keypoint_geometry import NUM_KEYPOINTS


@dataclass(frozen=True)
class Pose:
    yaw: float       # 0: facing the camera, pi: back to it, +pi/2: facing the image's right
    phase: float     # walking phase, radians
    swing: float     # thigh swing amplitude, radians
    height: float    # person height, pixels
    centre_x: float
    foot_y: float


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


def project(points, pose):
    """Orthographic view: body frame -> image x, y and depth z (larger = farther from the camera)."""
    points = np.asarray(points, dtype=float)
    c, s = math.cos(pose.yaw), math.sin(pose.yaw)
    lateral, y, forward = points[..., 0], points[..., 1], points[..., 2]
    return np.stack([pose.centre_x + lateral * c + forward * s, y, lateral * s - forward * c], axis=-1)


def face_points_facing_camera(yaw):
    """A face point shows unless its direction points away from the camera (depth grows)."""
    lateral, forward = _FACE_DIRECTIONS[:, 0], _FACE_DIRECTIONS[:, 2]
    return lateral * math.sin(yaw) - forward * math.cos(yaw) < 0.25
