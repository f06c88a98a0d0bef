"""COCO keypoint geometry, the one home of every fact about the 17 keypoints.

Pixel convention (keypoints files, transforms, heatmaps, estimators): x grows rightwards and y
downwards in pixels of the image; pixel (0, 0) covers [0, 1) x [0, 1), so the centre of the
top-left pixel is (0.5, 0.5) and a horizontal flip maps x to ``width - x``. "left" is the
person's left, on the image's right when the person faces the camera.
"""

import numpy as np
import torch

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "NUM_KEYPOINTS",
    "FACE_KEYPOINTS",
    "BODY_KEYPOINTS",
    "COCO_FLIP_PAIRS",
    "COCO_FLIP_INDEX",
    "COCO_SKELETON",
    "MEAN_POSE",
    "mean_pose_keypoints",
    "flip_keypoints",
    "heatmap_cells_to_pixels",
]

COCO_KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_KEYPOINTS = len(COCO_KEYPOINT_NAMES)
#: Nose, left/right eye, left/right ear: the head (a slice, so a model takes them without an index tensor).
FACE_SLICE = slice(0, 5)
#: Shoulders to ankles.
BODY_SLICE = slice(5, NUM_KEYPOINTS)
FACE_KEYPOINTS = tuple(range(NUM_KEYPOINTS)[FACE_SLICE])
BODY_KEYPOINTS = tuple(range(NUM_KEYPOINTS)[BODY_SLICE])

#: Left/right pairs that a horizontal flip swaps.
COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))


def _flip_index():
    index = list(range(NUM_KEYPOINTS))
    for a, b in COCO_FLIP_PAIRS:
        index[a], index[b] = b, a
    return tuple(index)


#: ``flipped[k] = original[COCO_FLIP_INDEX[k]]`` (after mirroring x).
COCO_FLIP_INDEX = _flip_index()

#: The COCO skeleton's limbs, as pairs of keypoint indices (0-based).
COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

#: A mean upright pedestrian pose, ``(x / W, y / H)`` in normalised crop coordinates: facing the
#: camera, filling the crop as a detector box does (nose at 0.10 of the height, ankles at 0.90),
#: shoulders 0.30 of the width apart, hips 0.20; symmetric, so a flip maps it onto itself. Typical
#: proportions, not fitted to any dataset: the fallback of ``INPUT.KEYPOINTS.MISSING mean_pose``
#: and the pose of the ``MeanPose`` stand-in estimator.
MEAN_POSE = np.array([
    (0.50, 0.100),  # nose
    (0.53, 0.085),  # left_eye
    (0.47, 0.085),  # right_eye
    (0.57, 0.095),  # left_ear
    (0.43, 0.095),  # right_ear
    (0.65, 0.210),  # left_shoulder
    (0.35, 0.210),  # right_shoulder
    (0.70, 0.350),  # left_elbow
    (0.30, 0.350),  # right_elbow
    (0.70, 0.480),  # left_wrist
    (0.30, 0.480),  # right_wrist
    (0.60, 0.500),  # left_hip
    (0.40, 0.500),  # right_hip
    (0.59, 0.700),  # left_knee
    (0.41, 0.700),  # right_knee
    (0.58, 0.900),  # left_ankle
    (0.42, 0.900),  # right_ankle
], dtype=np.float32)


def mean_pose_keypoints(width, height, score=1.0):
    """:data:`MEAN_POSE` in the pixels of a ``width`` x ``height`` image, every score ``score``: (17, 3)."""
    keypoints = np.empty((NUM_KEYPOINTS, 3), np.float32)
    keypoints[:, 0] = MEAN_POSE[:, 0] * width
    keypoints[:, 1] = MEAN_POSE[:, 1] * height
    keypoints[:, 2] = score
    return keypoints


def flip_keypoints(keypoints, width):
    """Keypoints of horizontally flipped images: x -> ``width - x``, COCO left/right pairs swapped
    (the person's left stays "left"). ``keypoints``: (..., 17, 3) tensor or array; a copy is returned."""
    if isinstance(keypoints, torch.Tensor):
        flipped = keypoints[..., list(COCO_FLIP_INDEX), :].clone()
    else:
        flipped = np.asarray(keypoints)[..., list(COCO_FLIP_INDEX), :].copy()
    flipped[..., 0] = width - flipped[..., 0]
    return flipped


def heatmap_cells_to_pixels(coords, heatmap_size, input_size, image_sizes):
    """Top-down heatmap cell coordinates -> image pixels in the convention above.

    mmpose (like OpenCV) puts pixel centres at integer coordinates: heatmap cell ``j`` is model-input
    pixel ``stride * j`` there, i.e. ``stride * j + 0.5`` here; a resize maps by the plain ratio of
    sizes; the result is clipped to the image.

    Args:
        coords: (N, K, 2) tensor of cell coordinates (x, y), possibly fractional.
        heatmap_size: (h, w) of the heatmaps.
        input_size: (H', W') of the model input the image was resized to.
        image_sizes: (N, 2) tensor or one (H, W): the original images' sizes.
    Returns:
        (N, K, 2) tensor of pixel coordinates.
    """
    in_h, in_w = (float(v) for v in input_size)
    sizes = torch.as_tensor(image_sizes, dtype=coords.dtype, device=coords.device).reshape(-1, 2)
    height, width = sizes[:, 0:1], sizes[:, 1:2]
    stride_x, stride_y = in_w / heatmap_size[1], in_h / heatmap_size[0]
    x = ((coords[..., 0] * stride_x + 0.5) * (width / in_w)).clamp(min=0)
    y = ((coords[..., 1] * stride_y + 0.5) * (height / in_h)).clamp(min=0)
    return torch.stack([torch.minimum(x, width), torch.minimum(y, height)], dim=-1)
