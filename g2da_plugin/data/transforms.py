"""Joint image + keypoint transforms: the geometric augmentation moves the keypoints with the pixels.

Each transform is called as ``t(image, keypoints) -> (image, keypoints)``; ``keypoints`` is a
(K, 3) array ``[x, y, score]`` in the pixels of the image it comes with (the convention of
:mod:`~g2da_plugin.data.keypoint_geometry`), or ``None`` (then only
the image is transformed). The classes mirror torchvision's, draw their random numbers exactly as
torchvision does (``torch.randint`` / ``torch.rand`` from torch's global generator, which ``SEED``
and the DataLoader's per-worker seeding fix), and so give, for the same seed, the very images
FastReID's ``build_transforms`` gives, as uint8 (tested; :mod:`.uint8_images` says what rounds):

=====================================  ============================================================
:class:`JointResize`                   ``T.Resize(size, interpolation=3)``; keypoints scaled by
                                       the ratio of sizes (x * W' / W, y * H' / H)
:class:`JointPad`                      ``T.Pad(padding, fill, padding_mode)``; keypoints shifted by
                                       the left / top padding
:class:`JointRandomCrop`               ``T.RandomCrop(size)``; keypoints shifted by the crop corner
:class:`JointRandomHorizontalFlip`     ``T.RandomHorizontalFlip(p)``; x -> W - x and the COCO
                                       left/right pairs swapped (the person's left stays "left")
:class:`JointToTensor`                 FastReID's ``ToTensor`` without its float cast (uint8
                                       0..255, :mod:`.uint8_images`); keypoints to float32
:class:`ImageOnly`                     any image transform that does not move pixels
=====================================  ============================================================

Keypoints are never clipped or re-scored here: a keypoint the crop pushes out of the image keeps
its coordinates (the heatmap renderer, :func:`~g2da_plugin.modeling.skeleton_graph.render_heatmaps`,
gives keypoints outside the input image zero weight).

:func:`build_joint_transforms` reads FastReID's own ``INPUT`` keys. Supported: ``SIZE_TRAIN`` /
``SIZE_TEST``, ``PADDING`` (+ random crop back to ``SIZE_TRAIN``), ``FLIP``, and the photometric
augmentations ``CJ`` (colour jitter), ``REA`` (random erasing) and ``RPT`` (random patch), which
change pixel values but not where a body part is, so they are applied to the image only, at the
places FastReID's ``build_transforms`` puts them. Augmentations that move pixels and that these
classes do not reproduce on keypoints -- ``CROP`` (random resized crop / centre crop), ``AFFINE``,
``AUTOAUG`` and ``AUGMIX`` (both include rotations, shears and translations) -- raise a ValueError
naming the key; to add one, write its joint version here.
"""

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from torchvision.transforms import InterpolationMode

from fastreid.data.transforms import build_transforms
from fastreid.data.transforms.transforms import RandomPatch

from ..utils.errors import InputError
from .keypoint_geometry import flip_keypoints
from .uint8_images import ToUInt8Tensor, UInt8RandomErasing, as_uint8_transforms

__all__ = [
    "JointCompose",
    "JointResize",
    "JointPad",
    "JointRandomCrop",
    "JointRandomHorizontalFlip",
    "JointToTensor",
    "ImageOnly",
    "scale_keypoints",
    "train_resize",
    "build_joint_transforms",
]


def _as_keypoints(keypoints):
    if keypoints is None:
        return None
    if isinstance(keypoints, torch.Tensor):
        keypoints = keypoints.detach().cpu().numpy()
    keypoints = np.array(keypoints, dtype=np.float32)  # a copy: callers' arrays are never modified
    if keypoints.ndim != 2 or keypoints.shape[1] != 3:
        raise ValueError(f"keypoints must be a (K, 3) array of [x, y, score], got shape {keypoints.shape}")
    return keypoints


def _image_size(image):
    """(width, height) of a PIL image or a (C, H, W) tensor."""
    if isinstance(image, torch.Tensor):
        return image.shape[-1], image.shape[-2]
    return image.size


class JointCompose:
    """``T.Compose`` for joint transforms: ``(image, keypoints) -> (image, keypoints)``."""

    joint = True  # CrossModalityDataset checks for this before passing keypoints

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, image, keypoints=None):
        keypoints = _as_keypoints(keypoints)
        for t in self.transforms:
            image, keypoints = t(image, keypoints)
        return image, keypoints

    def __repr__(self):
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({lines}\n)"


def scale_keypoints(keypoints, size, new_size):
    """(K, 3) keypoints of a ``size`` (width, height) image -> those of it resized to ``new_size``
    (a copy; x * W' / W, y * H' / H: :class:`JointResize`'s mapping)."""
    keypoints = keypoints.copy()
    keypoints[:, 0] *= new_size[0] / size[0]
    keypoints[:, 1] *= new_size[1] / size[1]
    return keypoints


class JointResize:
    """``T.Resize``: ``size`` (height, width), or an int for the shorter side (aspect kept).

    A resize maps the continuous image box [0, W] x [0, H] onto [0, W'] x [0, H'] (PIL's convention,
    the keypoints files' too), so keypoints scale by W'/W and H'/H exactly.
    """

    def __init__(self, size, interpolation=InterpolationMode.BICUBIC):
        self.size = size
        self.interpolation = interpolation

    def __call__(self, image, keypoints=None):
        size = _image_size(image)
        image = TF.resize(image, self.size, interpolation=self.interpolation)
        if keypoints is not None:
            keypoints = scale_keypoints(keypoints, size, _image_size(image))
        return image, keypoints

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size}, interpolation={self.interpolation.value})"


def _padding_ltrb(padding):
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = tuple(int(p) for p in padding)
    if len(padding) == 1:
        return padding * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding
    raise ValueError(f"padding must be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")


class JointPad:
    """``T.Pad``: ``padding`` an int (all sides), (left/right, top/bottom) or (left, top, right, bottom).

    Any ``padding_mode`` (constant, edge, reflect, symmetric) only adds pixels around the image, so
    keypoints shift by the left and top padding whatever the mode.
    """

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding = padding
        self.left, self.top, _, _ = _padding_ltrb(padding)
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, image, keypoints=None):
        image = TF.pad(image, self.padding, fill=self.fill, padding_mode=self.padding_mode)
        if keypoints is not None:
            keypoints = keypoints.copy()
            keypoints[:, 0] += self.left
            keypoints[:, 1] += self.top
        return image, keypoints

    def __repr__(self):
        return f"{self.__class__.__name__}(padding={self.padding}, fill={self.fill}, mode={self.padding_mode})"


class JointRandomCrop:
    """``T.RandomCrop(size)`` (no padding of its own): the corner is drawn by torchvision's own
    ``RandomCrop.get_params`` (two ``torch.randint``), keypoints shift by it."""

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, image, keypoints=None):
        width, height = _image_size(image)
        if height < self.size[0] or width < self.size[1]:
            raise ValueError(f"JointRandomCrop: image {height}x{width} is smaller than the crop {self.size}")
        top, left, crop_height, crop_width = T.RandomCrop.get_params(image, self.size)
        image = TF.crop(image, top, left, crop_height, crop_width)
        if keypoints is not None:
            keypoints = keypoints.copy()
            keypoints[:, 0] -= left
            keypoints[:, 1] -= top
        return image, keypoints

    def __repr__(self):
        return f"{self.__class__.__name__}(size={self.size})"


class JointRandomHorizontalFlip:
    """``T.RandomHorizontalFlip(p)`` (one ``torch.rand(1)`` per call); a flipped image's keypoints
    are mirrored (x -> W - x) and the COCO left/right pairs swapped, so index 5 is still the
    person's left shoulder -- which, in the mirror image, is where the right shoulder was."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, image, keypoints=None):
        if torch.rand(1) < self.p:
            width, _ = _image_size(image)
            image = TF.hflip(image)
            if keypoints is not None:
                keypoints = flip_keypoints(keypoints, width)
        return image, keypoints

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p})"


class JointToTensor:
    """:class:`~.uint8_images.ToUInt8Tensor` (a (C, H, W) uint8 tensor); keypoints to float32 tensors."""

    def __init__(self):
        self.to_tensor = ToUInt8Tensor()

    def __call__(self, image, keypoints=None):
        image = self.to_tensor(image)
        if keypoints is not None:
            keypoints = torch.as_tensor(keypoints, dtype=torch.float32)
        return image, keypoints

    def __repr__(self):
        return f"{self.__class__.__name__}()"


class ImageOnly:
    """Apply an image transform that does not move pixels (colour jitter, random erasing, ...);
    keypoints pass through unchanged."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, image, keypoints=None):
        return self.transform(image), keypoints

    def __repr__(self):
        return f"{self.__class__.__name__}({self.transform})"


def _size(size):
    return size[0] if len(size) == 1 else list(size)


def _refuse_geometric(cfg, is_train):
    """Raise for the FastReID augmentations that move pixels and have no joint version here."""
    refused = []
    if cfg.INPUT.CROP.ENABLED:
        refused.append("INPUT.CROP.ENABLED (random resized crop / centre crop)")
    if is_train:
        if cfg.INPUT.AFFINE.ENABLED:
            refused.append("INPUT.AFFINE.ENABLED (random affine)")
        if cfg.INPUT.AUTOAUG.ENABLED and cfg.INPUT.AUTOAUG.PROB > 0:
            refused.append("INPUT.AUTOAUG.ENABLED (AutoAugment: rotations, shears, translations)")
        if cfg.INPUT.AUGMIX.ENABLED and cfg.INPUT.AUGMIX.PROB > 0:
            refused.append("INPUT.AUGMIX.ENABLED (AugMix: rotations, shears, translations)")
    if refused:
        raise InputError(
            "keypoints travel with the images (INPUT.KEYPOINTS.ENABLED True), but "
            + " and ".join(refused)
            + " moves pixels in a way the joint image+keypoint transforms (g2da_plugin/data/transforms.py) "
              "do not reproduce on keypoints: turn it off, or add its joint version")


def train_resize(cfg):
    """The first step of the training transforms: resize to ``INPUT.SIZE_TRAIN`` (FastReID's bicubic)."""
    return JointResize(_size(cfg.INPUT.SIZE_TRAIN))


def build_image_transforms(cfg, is_train=True):
    """FastReID's ``build_transforms`` (image only, uint8 out), with ``INPUT.GRAYSCALE`` in front when
    training."""
    transforms = as_uint8_transforms(build_transforms(cfg, is_train=is_train))
    if is_train and cfg.INPUT.GRAYSCALE.ENABLED:
        transforms = T.Compose([T.RandomGrayscale(p=cfg.INPUT.GRAYSCALE.PROB), transforms])
    return transforms


def build_joint_transforms(cfg, is_train=True):
    """The joint counterpart of FastReID's ``build_transforms(cfg, is_train)`` (same keys, same order,
    same random draws), returning a :class:`JointCompose`.

    Train: resize to ``INPUT.SIZE_TRAIN``, [pad ``INPUT.PADDING.SIZE`` (``MODE``) + random crop back],
    [horizontal flip with ``INPUT.FLIP.PROB``], [colour jitter], [random grayscale], uint8 ToTensor, [random erasing],
    [random patch]. Test: resize to ``INPUT.SIZE_TEST``, uint8 ToTensor. Geometric augmentations without a joint
    version raise ValueError (module docstring).
    """
    _refuse_geometric(cfg, is_train)
    res = []
    if is_train:
        size_train = cfg.INPUT.SIZE_TRAIN
        if size_train[0] > 0:
            res.append(train_resize(cfg))
        if cfg.INPUT.PADDING.ENABLED:
            res.append(JointPad(cfg.INPUT.PADDING.SIZE, padding_mode=cfg.INPUT.PADDING.MODE))
            res.append(JointRandomCrop(_size(size_train)))
        if cfg.INPUT.FLIP.ENABLED:
            res.append(JointRandomHorizontalFlip(p=cfg.INPUT.FLIP.PROB))
        cj = cfg.INPUT.CJ
        if cj.ENABLED:
            res.append(ImageOnly(T.RandomApply([T.ColorJitter(cj.BRIGHTNESS, cj.CONTRAST, cj.SATURATION, cj.HUE)],
                                               p=cj.PROB)))
        if cfg.INPUT.GRAYSCALE.ENABLED:
            res.append(ImageOnly(T.RandomGrayscale(p=cfg.INPUT.GRAYSCALE.PROB)))
        res.append(JointToTensor())
        if cfg.INPUT.REA.ENABLED:
            res.append(ImageOnly(UInt8RandomErasing(p=cfg.INPUT.REA.PROB, value=cfg.INPUT.REA.VALUE)))
        if cfg.INPUT.RPT.ENABLED:
            res.append(ImageOnly(RandomPatch(prob_happen=cfg.INPUT.RPT.PROB)))
    else:
        size_test = cfg.INPUT.SIZE_TEST
        if size_test[0] > 0:
            res.append(JointResize(_size(size_test)))
        res.append(JointToTensor())
    return JointCompose(res)
