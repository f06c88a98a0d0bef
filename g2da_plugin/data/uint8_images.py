"""uint8 image tensors, what the loaders hand out: (3, H, W) in 0..255, a quarter of float32's bytes
to collate, pin and copy to the device, where the models normalise them
(:func:`g2da_plugin.compat.normalize_images` casts to float there).

Every pixel is the one FastReID's float path gives, except the random-erasing fill: FastReID's
``ToTensor`` only widens uint8 pixels to float, but ``INPUT.REA.VALUE`` (default the ImageNet mean,
123.675 116.28 103.53) becomes its nearest integer (124 116 104); ``"random"`` noise is rounded and
clipped to 0..255. The random draws are torchvision's own, so the same seed erases the same box.
"""

import numpy as np
import torch
import torchvision.transforms as T
from fastreid.data.transforms.transforms import ToTensor

__all__ = ["ToUInt8Tensor", "UInt8RandomErasing", "as_uint8_transforms"]


class ToUInt8Tensor:
    """FastReID's ``ToTensor`` without its cast to float: a PIL image or an (H, W[, C]) uint8 array
    -> a (C, H, W) uint8 tensor."""

    def __call__(self, pic):
        array = np.array(pic, copy=True)  # writable, and never a view of the caller's pixels
        if array.dtype != np.uint8:
            raise TypeError(f"ToUInt8Tensor takes 8-bit images, got an array of {array.dtype}")
        if array.ndim == 2:
            array = array[:, :, None]
        return torch.from_numpy(array).permute(2, 0, 1).contiguous()

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class UInt8RandomErasing(T.RandomErasing):
    """``T.RandomErasing`` on uint8 images: the same draws, the fill rounded and clipped to 0..255."""

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        top, left, height, width, fill = T.RandomErasing.get_params(img, scale, ratio, value)
        # torch.round is half-to-even, as rounding FastReID's float output would be
        return top, left, height, width, fill.to(torch.float32).round().clamp(0, 255).to(torch.uint8)


def _uint8_step(transform):
    if isinstance(transform, ToTensor):
        return ToUInt8Tensor()
    if isinstance(transform, T.RandomErasing):
        return UInt8RandomErasing(p=transform.p, scale=transform.scale, ratio=transform.ratio,
                                  value=transform.value, inplace=transform.inplace)
    return transform


def as_uint8_transforms(transforms):
    """FastReID's ``build_transforms`` pipeline (a ``T.Compose``) with its float ``ToTensor`` and
    ``RandomErasing`` swapped for :class:`ToUInt8Tensor` and :class:`UInt8RandomErasing`."""
    return T.Compose([_uint8_step(t) for t in transforms.transforms])
