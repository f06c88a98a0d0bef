"""Online pose estimators: a frozen pose model run on the batch inside the forward pass.

``MODEL.POSE.MODE online`` makes :class:`~g2da_plugin.modeling.meta_arch.PosePartBaseline` call
one of these instead of reading the loader's cached keypoints. The interface is one call::

    estimator(images) -> keypoints

``images``: (B, 3, H, W) RGB in 0..255, uint8 (the batch as the loader gives it: augmented, not
normalised; IR images are gray repeated over the channels) or float, on any device. ``keypoints``: (B, 17, 3)
float ``[x, y, score]`` in the pixels of those images (the keypoints files' convention, pixel (0, 0)
covering [0, 1) x [0, 1)), COCO order, score in [0, 1], on the images' device, carrying no autograd
history. An estimator is frozen: it never trains and is not part of the model's state dict.

Estimators are registered in :data:`POSE_ESTIMATOR_REGISTRY` and built from the config by
:func:`build_online_pose_estimator` as ``cls(cfg)`` (``MODEL.POSE.ESTIMATOR.*``):

- ``HRNet``: mmpose's HRNet-w32 COCO top-down model (:class:`g2da_plugin.pose.hrnet.HRNetEstimator`,
  the estimator of the paper), run on the whole batch at ``ESTIMATOR.INPUT_SIZE``. Needs the pose
  extra (``tools/install_pose_extra.sh``). ``ESTIMATOR.WEIGHTS ""`` keeps random initial weights
  (timing only).
- ``MeanPose``: a stand-in returning :data:`g2da_plugin.data.keypoint_geometry.MEAN_POSE` for every image
  (tests, and a no-cost reference in timings).
"""

import torch
import torch.nn.functional as F

from fastreid.utils.registry import Registry

from ..data.keypoint_geometry import MEAN_POSE, NUM_KEYPOINTS, heatmap_cells_to_pixels
from ..utils.errors import InputError

__all__ = ["POSE_ESTIMATOR_REGISTRY", "build_online_pose_estimator", "heatmaps_to_keypoints", "MeanPose", "HRNet"]

POSE_ESTIMATOR_REGISTRY = Registry("POSE_ESTIMATOR")
POSE_ESTIMATOR_REGISTRY.__doc__ = """Online pose estimators, built as ``cls(cfg)``; see the module docstring."""


def build_online_pose_estimator(cfg):
    """The estimator named by ``MODEL.POSE.ESTIMATOR.NAME``."""
    name = cfg.MODEL.POSE.ESTIMATOR.NAME
    try:
        cls = POSE_ESTIMATOR_REGISTRY.get(name)
    except KeyError:
        raise InputError(f"MODEL.POSE.ESTIMATOR.NAME {name!r} is not a registered online pose estimator; "
                       f"registered: {', '.join(sorted(POSE_ESTIMATOR_REGISTRY._obj_map))}") from None
    return cls(cfg)


def _check_images(images):
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"an online pose estimator takes (B, 3, H, W) images, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")


def heatmaps_to_keypoints(heatmaps, estimator_input_size, image_size):
    """Top-down heatmaps (B, 17, h, w) of images resized to ``estimator_input_size`` (H', W') ->
    (B, 17, 3) ``[x, y, score]`` in the pixels of the ``image_size`` (H, W) images: mmpose's decoding
    (:func:`g2da_plugin.pose.hrnet.decode_heatmaps`), then
    :func:`~g2da_plugin.data.keypoint_geometry.heatmap_cells_to_pixels`; scores are the peaks
    clipped to [0, 1]."""
    from .hrnet import decode_heatmaps  # torch only; mmpose is not imported

    coords, values = decode_heatmaps(heatmaps)
    xy = heatmap_cells_to_pixels(coords, heatmaps.shape[-2:], estimator_input_size, image_size)
    return torch.cat([xy, values.clamp(0, 1)[..., None]], dim=-1)


@POSE_ESTIMATOR_REGISTRY.register()
class MeanPose:
    """Stand-in estimator: the mean pose template, scaled to the images, every score ``score``."""

    def __init__(self, cfg=None, score=1.0):
        self.score = float(score)

    def __call__(self, images):
        _check_images(images)
        b, _, height, width = images.shape
        keypoints = torch.empty(b, NUM_KEYPOINTS, 3, device=images.device, dtype=torch.float32)
        template = torch.as_tensor(MEAN_POSE, device=images.device)
        keypoints[..., 0] = template[:, 0] * width
        keypoints[..., 1] = template[:, 1] * height
        keypoints[..., 2] = self.score
        return keypoints


@POSE_ESTIMATOR_REGISTRY.register()
class HRNet:
    """mmpose HRNet-w32 (COCO) on the batch: resize (bilinear) to ``ESTIMATOR.INPUT_SIZE``, heatmaps,
    mmpose's argmax + quarter-pixel decoding (:func:`g2da_plugin.pose.hrnet.decode_heatmaps`), back
    to the batch's pixels. The same model and decoding as ``tools/extract_keypoints.py --backend
    hrnet``, but on the augmented image instead of the original one.

    Args (from ``MODEL.POSE.ESTIMATOR``): ``WEIGHTS`` (checkpoint; "" = random), ``INPUT_SIZE``
    (height, width; multiples of 32), ``FLIP_TEST``; device ``MODEL.DEVICE``.
    """

    def __init__(self, cfg=None, *, weights=None, input_size=None, flip_test=None, device=None):
        try:
            import mmpose  # noqa: F401

            from .hrnet import HRNetEstimator
        except ImportError as e:
            raise ImportError(f"MODEL.POSE.ESTIMATOR.NAME HRNet needs mmpose ({e}); install the pose extra: "
                              f"bash tools/install_pose_extra.sh") from e
        node = cfg.MODEL.POSE.ESTIMATOR if cfg is not None else None
        weights = weights if weights is not None else (node.WEIGHTS if node is not None else "")
        input_size = input_size if input_size is not None else (tuple(node.INPUT_SIZE) if node is not None else (256, 128))
        flip_test = flip_test if flip_test is not None else (bool(node.FLIP_TEST) if node is not None else False)
        device = device if device is not None else (cfg.MODEL.DEVICE if cfg is not None else "cpu")
        self.estimator = HRNetEstimator(checkpoint=weights or None, device=device, input_size=input_size,
                                        flip_test=flip_test)
        self.input_size = self.estimator.input_size
        for p in self.estimator.model.parameters():
            p.requires_grad_(False)
        self.estimator.model.eval()

    def __call__(self, images):
        _check_images(images)
        _, _, height, width = images.shape
        in_h, in_w = self.input_size
        with torch.inference_mode():
            x = images.to(self.estimator.device, dtype=torch.float32)
            if (height, width) != (in_h, in_w):
                x = F.interpolate(x, size=(in_h, in_w), mode="bilinear", align_corners=False)
            heatmaps = self.estimator.heatmaps(x).float()
            keypoints = heatmaps_to_keypoints(heatmaps, self.input_size, (height, width))
        # out of inference mode: a normal tensor, usable next to autograd
        return keypoints.to(images.device).clone()
