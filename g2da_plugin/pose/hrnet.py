"""HRNet-w32 (mmpose, top-down heatmaps, COCO) run on whole person crops, batched.

mmpose's own ``inference_topdown`` pads every box to the model's 3:4 aspect and runs one image at
a time; re-identification crops are already person boxes of about 1:2. Here each crop is resized
(bilinear, anisotropically when its aspect is not exactly 1:2) to ``input_size`` (default
256 x 128: the crops' aspect, both sides divisible by 32 as HRNet needs), a batch goes through the
model's backbone and head, and the heatmaps (a quarter of the input size) are decoded as mmpose's
``MSRAHeatmap`` codec does with ``unbiased=False``: argmax, then a quarter-pixel step towards the
higher neighbour. Differences from that codec: a keypoint whose heatmap peak is <= 0 keeps its
argmax position (mmpose marks it -1) and gets score 0; scores are the peaks clipped to [0, 1], so
they fit the keypoints file's ``v``.

Heatmap cells map back to the crop's pixels by
:func:`~g2da_plugin.data.keypoint_geometry.heatmap_cells_to_pixels`.

Flip test (on by default, as in the config's ``test_cfg``): the mirrored crop's heatmaps are
mirrored back, left/right channels swapped, shifted one cell right (``shift_heatmap``, as mmpose
does) and averaged with the direct ones. It doubles the cost; ``flip_test=False`` turns it off.
"""

import hashlib
import os

import numpy as np
import torch

from ..data.keypoint_geometry import COCO_FLIP_INDEX, NUM_KEYPOINTS, heatmap_cells_to_pixels
from ..utils.errors import InputError
from .mmpose_compat import HRNET_W32_COCO_CONFIG, build_pose_model

__all__ = ["HRNetEstimator", "ResizeToInput", "decode_heatmaps"]


def _file_digest(path, length=16):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:length]


def decode_heatmaps(heatmaps):
    """(N, K, H, W) heatmaps -> ((N, K, 2) float heatmap-cell coordinates x, y, (N, K) peak values).

    mmpose's ``get_heatmap_maximum`` + ``refine_keypoints`` (including its bounds: x is refined
    only when 1 < x < W - 1 and y > 0, y when 1 < y < H - 1 and x > 0), batched, except that a keypoint with a
    non-positive peak keeps its argmax position instead of becoming -1.
    """
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    values, index = flat.max(dim=-1)
    x = (index % w).long()
    y = torch.div(index, w, rounding_mode="floor").long()

    def at(yy, xx):
        return torch.gather(flat, 2, (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).unsqueeze(-1)).squeeze(-1)

    dx = torch.where((x > 1) & (x < w - 1) & (y > 0), at(y, x + 1) - at(y, x - 1), torch.zeros_like(values))
    dy = torch.where((y > 1) & (y < h - 1) & (x > 0), at(y + 1, x) - at(y - 1, x), torch.zeros_like(values))
    coords = torch.stack([x.to(heatmaps.dtype) + 0.25 * torch.sign(dx), y.to(heatmaps.dtype) + 0.25 * torch.sign(dy)],
                         dim=-1)
    return coords, values


class ResizeToInput:
    """PIL image (any mode) -> (3 x H x W uint8 RGB array resized to ``input_size``, (height, width))."""

    def __init__(self, input_size):
        self.input_size = tuple(input_size)

    def __call__(self, image):
        import cv2

        array = np.asarray(image.convert("RGB"))
        resized = cv2.resize(array, (self.input_size[1], self.input_size[0]), interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(resized.transpose(2, 0, 1)), array.shape[:2]


class HRNetEstimator:
    """mmpose's HRNet-w32 COCO top-down model on whole crops (module docstring).

    Args:
        checkpoint: the model's weights (an OpenMMLab checkpoint such as
            ``td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth``). ``None`` keeps
            random initial weights: for tests and timing only.
        device: a torch device string.
        config: an mmpose config file, or a path inside mmpose's bundled configs.
        input_size: (height, width) of the model input; both divisible by 32.
        flip_test: average with the mirrored crop; ``None`` follows the config's ``test_cfg``.
        allow_pickle: see :func:`~g2da_plugin.pose.mmpose_compat.load_openmmlab_checkpoint`.
    """

    backend = "hrnet"

    def __init__(self, checkpoint=None, device="cpu", config=HRNET_W32_COCO_CONFIG, input_size=(256, 128),
                 flip_test=None, allow_pickle=True):
        height, width = (int(v) for v in input_size)
        if height <= 0 or width <= 0 or height % 32 or width % 32:
            raise InputError(f"input_size must be positive multiples of 32 (HRNet), got {tuple(input_size)}")
        self.input_size = (height, width)
        #: PIL image -> (3 x H x W uint8 RGB array at the input size, (original height, width)); picklable.
        self.prepare = ResizeToInput(self.input_size)
        self.device = torch.device(device)
        self.model, cfg = build_pose_model(config, checkpoint, self.device, allow_pickle=allow_pickle)
        preprocessor = cfg.model.get("data_preprocessor", {})
        # The config's mean/std are in RGB order (bgr_to_rgb: its pipeline loads BGR and swaps).
        mean = preprocessor.get("mean", (123.675, 116.28, 103.53))
        std = preprocessor.get("std", (58.395, 57.12, 57.375))
        self._mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        test_cfg = cfg.model.get("test_cfg", {}) or {}
        self.flip_test = bool(test_cfg.get("flip_test", False)) if flip_test is None else bool(flip_test)
        self.shift_heatmap = bool(test_cfg.get("shift_heatmap", False))
        import mmpose

        weights = (f"checkpoint={os.path.basename(os.fspath(checkpoint))} sha256={_file_digest(checkpoint)}"
                   if checkpoint is not None else "checkpoint=none(random-init)")
        self.source = (f"mmpose-{mmpose.__version__} {os.path.splitext(os.path.basename(cfg.filename))[0]} "
                       f"input={height}x{width} flip_test={self.flip_test} {weights}")

    @torch.inference_mode()
    def heatmaps(self, inputs):
        """(N, 3, H, W) uint8 or float RGB batch -> (N, 17, H/4, W/4) heatmaps (flip test included)."""
        inputs = (inputs.to(self.device, non_blocking=True).float() - self._mean) / self._std
        heatmaps = self.model.head(self.model.extract_feat(inputs))
        if self.flip_test:
            flipped = self.model.head(self.model.extract_feat(inputs.flip(-1)))
            flipped = flipped.flip(-1)[:, list(COCO_FLIP_INDEX)]
            if self.shift_heatmap:
                flipped[..., 1:] = flipped[..., :-1].clone()
            heatmaps = (heatmaps + flipped) * 0.5
        return heatmaps

    def predict_prepared(self, items):
        """A list of :meth:`prepare` outputs -> (N, 17, 3) float32 [x, y, score] in image pixels."""
        if not items:
            return np.zeros((0, NUM_KEYPOINTS, 3), np.float32)
        batch = torch.from_numpy(np.stack([array for array, _ in items]))
        heatmaps = self.heatmaps(batch).float()
        coords, values = decode_heatmaps(heatmaps.cpu().double())
        xy = heatmap_cells_to_pixels(coords, heatmaps.shape[-2:], self.input_size, [size for _, size in items])
        return torch.cat([xy, values.clamp(0, 1)[..., None]], dim=-1).numpy().astype(np.float32)

    def predict(self, images):
        """PIL images -> (N, 17, 3) float32 [x, y, score]."""
        return self.predict_prepared([self.prepare(image) for image in images])

    def close(self):
        pass
