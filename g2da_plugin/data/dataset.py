"""The dataset object that feeds FastReID's loaders with cross-modality samples."""

import contextlib
import logging

import numpy as np
import torch
from fastreid.data.common import CommDataset
from fastreid.data.data_utils import read_image

from ..utils.errors import InputError, MissingInputError
from ..utils.rng import seeded
from .keypoint_geometry import NUM_KEYPOINTS, mean_pose_keypoints
from .transforms import scale_keypoints

logger = logging.getLogger(__name__)

__all__ = ["CrossModalityDataset", "MissingKeypointsError", "MISSING_POLICIES", "read_rgb_image"]

#: Values of ``INPUT.KEYPOINTS.MISSING``.
MISSING_POLICIES = ("error", "mean_pose")


class MissingKeypointsError(MissingInputError):
    """An image has no entry in its dataset's keypoints file (``INPUT.KEYPOINTS.MISSING error``): what is
    missing is part of a file, so the tools report it as one line, like a missing image or dataset."""


def read_rgb_image(img_path):
    """The image file as an RGB PIL image (IR: the gray value on the three channels)."""
    try:
        return read_image(img_path, "RGB")
    except (OSError, ValueError) as e:  # a missing, truncated or not-an-image file
        raise InputError(f"cannot read image {img_path}: {e}") from None


class CrossModalityDataset(CommDataset):
    """FastReID's ``CommDataset`` over ``(img_path, pid, camid, modality)`` items.

    Each sample adds ``modalities`` to FastReID's dict. IR images are read as 3-channel RGB (the
    gray value repeated), so both streams take 3 channels.

    With ``keypoints`` (a mapping ``img_path -> (17, 3) [x, y, score]`` in that image's pixels),
    each sample also carries ``"keypoints"``: a float32 (17, 3) tensor in the pixels of the
    TRANSFORMED image. ``transform`` must then be a joint transform
    (:func:`~g2da_plugin.data.transforms.build_joint_transforms`), called as
    ``transform(image, keypoints) -> (image, keypoints)``, so that the geometric augmentation moves
    the keypoints with the pixels. Without ``keypoints`` the dataset behaves as before
    (``transform(image)``, FastReID's transforms).

    Images absent from ``keypoints``: ``missing="error"`` raises :class:`MissingKeypointsError`
    at construction, naming the first such image, how many there are and ``keypoints_file``;
    ``missing="mean_pose"`` gives them :data:`~.keypoint_geometry.MEAN_POSE` scaled to the image (every score
    ``mean_pose_score``) and logs how many did (also in :attr:`num_mean_pose`).

    With ``image_cache`` (a :class:`~.image_cache.ResizedImageCache` of ``img_items``' images, in
    order) images come resized from it instead of their files; keypoints are scaled to the cached
    size first, so the transforms see what they would after resizing the file's image.
    """

    def __init__(self, img_items, transform=None, relabel=True, keypoints=None, missing="error",
                 keypoints_file=None, mean_pose_score=1.0, image_cache=None):
        super().__init__(img_items, transform, relabel)
        if image_cache is not None and len(image_cache) != len(img_items):
            raise ValueError(f"the image cache holds {len(image_cache)} images, the dataset {len(img_items)}")
        self.image_cache = image_cache
        self.with_keypoints = keypoints is not None
        self.num_mean_pose = 0
        self.mean_pose_score = float(mean_pose_score)
        if not self.with_keypoints:
            return
        if missing not in MISSING_POLICIES:
            raise InputError(f"INPUT.KEYPOINTS.MISSING must be one of {MISSING_POLICIES}, got {missing!r}")
        if not getattr(transform, "joint", False):
            raise TypeError("a dataset with keypoints needs a joint image+keypoint transform "
                            "(g2da_plugin.data.transforms.build_joint_transforms), got "
                            f"{type(transform).__name__}")
        if not 0.0 <= self.mean_pose_score <= 1.0:
            raise InputError(f"INPUT.KEYPOINTS.MEAN_POSE_SCORE must lie in [0, 1], got {mean_pose_score}")
        where = f" in {keypoints_file}" if keypoints_file else ""
        # One array, not a dict of arrays: cheap to share with forked DataLoader workers.
        self._keypoints = np.zeros((len(img_items), NUM_KEYPOINTS, 3), np.float32)
        self._has_keypoints = np.zeros(len(img_items), bool)
        missing_paths = []
        for index, item in enumerate(img_items):
            value = keypoints.get(item[0])
            if value is None:
                missing_paths.append(item[0])
                continue
            value = np.asarray(value, dtype=np.float32)
            if value.shape != (NUM_KEYPOINTS, 3):
                raise InputError(f"keypoints of image {item[0]}{where}: expected shape ({NUM_KEYPOINTS}, 3), "
                                 f"got {value.shape}")
            self._keypoints[index] = value
            self._has_keypoints[index] = True
        if missing_paths:
            count = f"{len(missing_paths)} of {len(img_items)} images"
            if missing == "error":
                raise MissingKeypointsError(
                    f"no keypoints for image {missing_paths[0]}{where} ({count} have none); compute them "
                    f"(tools/extract_keypoints.py) or set INPUT.KEYPOINTS.MISSING mean_pose")
            self.num_mean_pose = len(missing_paths)
            logger.warning("%s have no keypoints%s: they use the mean pose template (score %.2f)",
                           count, where, self.mean_pose_score)

    def _image(self, index, img_path):
        """(image, (width, height) of the image file)."""
        if self.image_cache is not None:
            return self.image_cache.image(index), self.image_cache.original_size(index)
        image = read_rgb_image(img_path)
        return image, image.size

    def __getitem__(self, key):
        """``key``: a dataset index, or ``(index, seed)`` (the training sampler's): the augmentation of
        that sample then draws from generators seeded with ``seed`` alone."""
        index, seed = key if isinstance(key, tuple) else (key, None)
        img_path, pid, camid, modality = self.img_items[index]
        img, file_size = self._image(index, img_path)
        keypoints = None
        with seeded(seed) if seed is not None else contextlib.nullcontext():
            if self.with_keypoints:
                if self._has_keypoints[index]:
                    keypoints = self._keypoints[index]
                else:
                    keypoints = mean_pose_keypoints(file_size[0], file_size[1], self.mean_pose_score)
                if img.size != file_size:  # a cached image: already resized
                    keypoints = scale_keypoints(keypoints, file_size, img.size)
                img, keypoints = self.transform(img, keypoints)
            elif self.transform is not None:
                img = self.transform(img)
        if self.relabel:
            pid = self.pid_dict[pid]
            camid = self.cam_dict[camid]
        sample = {
            "images": img,
            "targets": pid,
            "camids": camid,
            "modalities": modality,
            "img_paths": img_path,
        }
        if self.with_keypoints:
            sample["keypoints"] = torch.as_tensor(keypoints, dtype=torch.float32)
        return sample
