"""COCO keypoint geometry (g2da_plugin/data/keypoint_geometry.py): the COCO order, the left/right pairs a
flip swaps, flip_keypoints on arrays and tensors, the skeleton, and the mean pose."""

import numpy as np
import pytest
import torch

from g2da_plugin.data.keypoint_geometry import (
    BODY_KEYPOINTS, COCO_FLIP_INDEX, COCO_FLIP_PAIRS, COCO_KEYPOINT_NAMES, COCO_SKELETON, FACE_KEYPOINTS, MEAN_POSE,
    NUM_KEYPOINTS, flip_keypoints, mean_pose_keypoints,
)

# Written out here rather than imported, so a wrong order in the module is caught.
COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
              "left_knee", "right_knee", "left_ankle", "right_ankle"]


def mirror_name(name):
    return name.replace("left", "X").replace("right", "left").replace("X", "right")


def named(indices):
    return [COCO_NAMES[i] for i in indices]


def random_keypoints(rng, shape=(2,), width=64):
    return np.concatenate([rng.uniform(0, width, (*shape, 17, 2)), rng.uniform(0, 1, (*shape, 17, 1))], axis=-1)


def test_coco_order_and_groups():
    assert list(COCO_KEYPOINT_NAMES) == COCO_NAMES and NUM_KEYPOINTS == 17
    assert named(FACE_KEYPOINTS) == ["nose", "left_eye", "right_eye", "left_ear", "right_ear"]
    assert named(BODY_KEYPOINTS) == COCO_NAMES[5:]


def test_flip_pairs_swap_each_left_name_with_its_right_name():
    assert COCO_FLIP_PAIRS == ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
    assert named(COCO_FLIP_INDEX) == [mirror_name(name) for name in COCO_NAMES]


def test_skeleton_links_the_coco_limbs_and_is_mirror_symmetric():
    limbs = {frozenset(named(limb)) for limb in COCO_SKELETON}
    assert len(limbs) == len(COCO_SKELETON) == 19
    for limb in ({"left_ankle", "left_knee"}, {"left_knee", "left_hip"}, {"left_hip", "right_hip"},
                 {"left_shoulder", "left_hip"}, {"left_shoulder", "right_shoulder"}, {"left_elbow", "left_wrist"},
                 {"left_shoulder", "left_elbow"}, {"nose", "left_eye"}, {"left_eye", "right_eye"},
                 {"left_eye", "left_ear"}, {"left_ear", "left_shoulder"}):
        assert limb in limbs and {mirror_name(name) for name in limb} in limbs


def test_flip_mirrors_x_and_swaps_left_and_right():
    keypoints = random_keypoints(np.random.default_rng(4))
    flipped = flip_keypoints(keypoints, 64)
    assert flipped.shape == keypoints.shape
    for k, name in enumerate(COCO_NAMES):
        source = COCO_NAMES.index(mirror_name(name))   # the nose is its own mirror
        np.testing.assert_allclose(flipped[:, k], np.stack([64 - keypoints[:, source, 0], keypoints[:, source, 1],
                                                            keypoints[:, source, 2]], axis=-1))
    np.testing.assert_allclose(flip_keypoints(flipped, 64), keypoints)
    # The centre of the top-left pixel (0.5) maps to the centre of the top-right pixel.
    assert flip_keypoints(np.full((17, 3), 0.5), 64)[0, 0] == 63.5


def test_flip_of_a_tensor_is_a_tensor_equal_to_the_flip_of_the_array_and_leaves_its_input_alone():
    keypoints = random_keypoints(np.random.default_rng(5), shape=(3, 2)).astype(np.float32)
    tensor = torch.as_tensor(keypoints.copy())
    flipped = flip_keypoints(tensor, 64)
    assert isinstance(flipped, torch.Tensor) and flipped.dtype == torch.float32
    np.testing.assert_allclose(flipped.numpy(), flip_keypoints(keypoints, 64))
    assert torch.equal(tensor, torch.as_tensor(keypoints))
    array_input = keypoints.copy()
    flip_keypoints(array_input, 64)
    assert np.array_equal(array_input, keypoints)


@pytest.mark.parametrize("width, height", [(64, 128), (37, 83)])
def test_mean_pose_is_an_upright_frontal_person_filling_the_crop(width, height):
    keypoints = mean_pose_keypoints(width, height, score=0.25)
    assert keypoints.shape == (17, 3) and keypoints.dtype == np.float32
    np.testing.assert_allclose(keypoints[:, :2], MEAN_POSE * [width, height], rtol=1e-6)
    assert (keypoints[:, 2] == 0.25).all()
    x, y = dict(zip(COCO_NAMES, keypoints[:, 0])), dict(zip(COCO_NAMES, keypoints[:, 1]))
    assert y["nose"] == pytest.approx(0.10 * height) and y["left_ankle"] == pytest.approx(0.90 * height)
    assert x["left_shoulder"] - x["right_shoulder"] == pytest.approx(0.30 * width)
    assert x["left_hip"] - x["right_hip"] == pytest.approx(0.20 * width)
    # Facing the camera: the person's left on the image's right; head above shoulders above hips above ankles.
    assert all(x[name] > width / 2 for name in COCO_NAMES if name.startswith("left"))
    assert y["left_eye"] < y["nose"] < y["left_shoulder"] < y["left_hip"] < y["left_knee"] < y["left_ankle"]
    # Symmetric: a flip maps it onto itself.
    np.testing.assert_allclose(flip_keypoints(keypoints, width), keypoints, atol=1e-5)
