"""Online pose estimators (g2da_plugin.pose.online): the registry and its builder, the MeanPose stand-in,
the heatmap decoding back to the batch's pixels, and HRNet with random weights (the pose extra)."""

import pytest
import torch

from g2da_plugin.data.keypoint_geometry import MEAN_POSE
from g2da_plugin.pose.online import (POSE_ESTIMATOR_REGISTRY, HRNet, MeanPose, build_online_pose_estimator,
                                     heatmaps_to_keypoints)
from g2da_plugin.utils.errors import InputError
from tests.helpers import make_cfg


def test_registry_builds_the_named_estimator_and_lists_the_others():
    assert {"HRNet", "MeanPose"} <= set(POSE_ESTIMATOR_REGISTRY._obj_map)
    assert isinstance(build_online_pose_estimator(make_cfg(MODEL__POSE__ESTIMATOR__NAME="MeanPose")), MeanPose)
    with pytest.raises(InputError, match="MODEL.POSE.ESTIMATOR.NAME 'OpenPose'.*HRNet, MeanPose"):
        build_online_pose_estimator(make_cfg(MODEL__POSE__ESTIMATOR__NAME="OpenPose"))


def test_mean_pose_is_the_template_scaled_to_each_image():
    keypoints = MeanPose(score=0.5)(torch.zeros(2, 3, 64, 32))
    assert keypoints.shape == (2, 17, 3) and torch.all(keypoints[..., 2] == 0.5)
    assert torch.all((keypoints[..., 0] > 0) & (keypoints[..., 0] < 32) & (keypoints[..., 1] < 64))
    template = torch.as_tensor(MEAN_POSE, dtype=torch.float32)
    torch.testing.assert_close(keypoints[1, :, :2], template[:, :2] * torch.tensor([32.0, 64.0]))
    # twice the image, twice the coordinates
    doubled = MeanPose(score=0.5)(torch.zeros(1, 3, 128, 64))
    torch.testing.assert_close(doubled[0, :, :2], 2 * keypoints[0, :, :2])
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        MeanPose()(torch.zeros(3, 64, 32))


def test_online_heatmaps_map_back_to_the_batchs_pixels():
    heatmaps = torch.zeros(1, 17, 16, 8)          # estimator input 64 x 32: stride 4
    heatmaps[0, 5, 5, 3] = 0.8                    # symmetric neighbours: no sub-cell step
    heatmaps[0, 6, 5, 3], heatmaps[0, 6, 5, 4] = 1.5, 0.2   # right neighbour higher: +0.25 cell
    keypoints = heatmaps_to_keypoints(heatmaps, (64, 32), (72, 36))
    # cell j -> estimator pixel 4 j + 0.5 (pixel-centre convention) -> x 36 / 32, y 72 / 64
    assert torch.allclose(keypoints[0, 5], torch.tensor([(4 * 3 + 0.5) * 36 / 32, (4 * 5 + 0.5) * 72 / 64, 0.8]))
    assert torch.allclose(keypoints[0, 6], torch.tensor([(4 * 3.25 + 0.5) * 36 / 32, (4 * 5 + 0.5) * 72 / 64, 1.0]))


def test_hrnet_online_estimator_from_the_config_with_random_weights():
    # Needs the pose extra (tools/install_pose_extra.sh, which the test command runs).
    cfg = make_cfg(overrides={"MODEL.DEVICE": "cpu", "MODEL.POSE.ESTIMATOR.NAME": "HRNet",
                              "MODEL.POSE.ESTIMATOR.WEIGHTS": "", "MODEL.POSE.ESTIMATOR.INPUT_SIZE": [64, 32]})
    estimator = build_online_pose_estimator(cfg)    # random weights: shapes only
    assert isinstance(estimator, HRNet) and tuple(estimator.input_size) == (64, 32)
    assert not any(p.requires_grad for p in estimator.estimator.model.parameters())
    images = torch.rand(2, 3, 72, 36) * 255
    keypoints = estimator(images)
    assert keypoints.shape == (2, 17, 3) and not keypoints.is_inference()
    assert torch.all((keypoints[..., 0] >= 0) & (keypoints[..., 0] <= 36) & (keypoints[..., 1] <= 72))
    # keyword arguments take precedence over the config
    assert tuple(HRNet(cfg, input_size=(96, 64)).input_size) == (96, 64)
