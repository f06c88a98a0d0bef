"""A one-time cache of the training images decoded and resized to ``INPUT.SIZE_TRAIN``
(``INPUT.CACHE``), so that decoding and resizing leave the loaders' hot loop.

Two files in ``INPUT.CACHE.DIR``: ``train_<H>x<W>_<key>.u8``, the (N, H, W, 3) uint8 pixels of the
images in the training set's order, and ``.json`` beside it, the index (key, size, each image's
original width and height). The key hashes every image's path, byte size and modification time
with the size and the interpolation, so a changed dataset or size is another cache. Each file is
written atomically, the index last: a build that stops half-way leaves no index, and a cache whose
index is missing, unreadable, of another key or whose pixel file has the wrong length is rebuilt
(one warning line). Old caches are left in the folder; delete them by hand.

The pixels are those of the training transforms' first step, :func:`~.transforms.train_resize`;
resizing a cached image to its own size returns it unchanged, so the training transforms run on
it as they are and give the uncached images bit for bit (tested). Keypoints are in the original
images' pixels: the dataset scales them to the cached size first, as that resize would have.
"""

import hashlib
import json
import logging
import os

import numpy as np
import torch
from PIL import Image

from ..utils.errors import InputError
from ..utils.file_io import atomic_write, atomic_write_text
from .dataset import read_rgb_image

logger = logging.getLogger(__name__)

__all__ = ["ResizedImageCache", "cache_key", "open_or_build_cache"]

#: Bumped when the files' layout changes: older caches are then rebuilt.
FORMAT = 1


class ResizedImageCache:
    """The pixels of a built cache, read through a memory map opened in each process on first use."""

    def __init__(self, pixels_path, original_sizes, size):
        self.pixels_path = pixels_path
        self.original_sizes = [tuple(s) for s in original_sizes]
        self.size = tuple(size)
        self._pixels = None

    def __len__(self):
        return len(self.original_sizes)

    def image(self, index):
        """The cached (resized) image ``index`` as an RGB PIL image."""
        if self._pixels is None:
            height, width = self.size
            self._pixels = np.memmap(self.pixels_path, np.uint8, "r", shape=(len(self), height, width, 3))
        return Image.fromarray(self._pixels[index])

    def original_size(self, index):
        """(width, height) of image ``index`` before the resize."""
        return self.original_sizes[index]

    def __getstate__(self):
        # a DataLoader worker maps the file itself rather than receiving a copy of the pixels
        return dict(self.__dict__, _pixels=None)


def cache_key(paths, resize):
    """sha256 of the images (path, bytes, mtime), the size and the interpolation of ``resize``."""
    digest = hashlib.sha256(json.dumps([FORMAT, list(resize.size), resize.interpolation.value]).encode())
    for path in paths:
        try:
            stat = os.stat(path)
        except OSError as e:
            raise InputError(f"cannot read image {path}: {e}") from None
        digest.update(json.dumps([os.path.abspath(path), stat.st_size, stat.st_mtime_ns]).encode())
    return digest.hexdigest()


def _checked_size(resize):
    size = resize.size
    if isinstance(size, int) or len(size) != 2 or min(size) <= 0:
        raise InputError(f"INPUT.CACHE.ENABLED needs INPUT.SIZE_TRAIN as [height, width], got {size!r}")
    return tuple(int(s) for s in size)


class _ResizedImages(torch.utils.data.Dataset):
    """Image ``i`` decoded and resized: ((H, W, 3) uint8 array, original (width, height))."""

    def __init__(self, paths, resize):
        self.paths = paths
        self.resize = resize

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, index):
        image = read_rgb_image(self.paths[index])
        resized, _ = self.resize(image)
        return np.array(resized), image.size


def _load_index(index_path, pixels_path, key, size, count):
    """The original sizes of a complete cache of ``key``, or None (with the reason logged) to rebuild it."""
    if not os.path.isfile(index_path):
        return None
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
        complete = (index["format"] == FORMAT and index["key"] == key and tuple(index["size"]) == size
                    and len(index["original_sizes"]) == count
                    and os.path.getsize(pixels_path) == count * size[0] * size[1] * 3)
    except (OSError, ValueError, KeyError, TypeError) as e:
        complete, index = False, {"error": e}
    if not complete:
        logger.warning("image cache %s is incomplete or corrupt (%s): rebuilding it", index_path,
                       index.get("error", "index and pixels disagree"))
        return None
    return index["original_sizes"]


def _build(paths, resize, pixels_path, index_path, key, size, workers):
    logger.info("building the image cache %s: %d images at %dx%d", pixels_path, len(paths), *size)
    original_sizes = []

    def write_pixels(f):
        loader = torch.utils.data.DataLoader(_ResizedImages(paths, resize), batch_size=None, num_workers=workers)
        for pixels, original_size in loader:
            f.write(np.ascontiguousarray(pixels).tobytes())
            original_sizes.append([int(v) for v in original_size])

    atomic_write(pixels_path, write_pixels)
    atomic_write_text(index_path, json.dumps({"format": FORMAT, "key": key, "size": list(size),
                                              "original_sizes": original_sizes}))
    return original_sizes


def open_or_build_cache(paths, resize, folder, workers=0):
    """The :class:`ResizedImageCache` of ``paths`` resized by ``resize`` (a
    :class:`~.transforms.JointResize` to (H, W)), built in ``folder`` (decoding with ``workers``
    DataLoader workers) unless a complete one is there."""
    size = _checked_size(resize)
    key = cache_key(paths, resize)
    stem = os.path.join(folder, f"train_{size[0]}x{size[1]}_{key[:16]}")
    pixels_path, index_path = stem + ".u8", stem + ".json"
    original_sizes = _load_index(index_path, pixels_path, key, size, len(paths))
    if original_sizes is None:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as e:
            raise InputError(f"INPUT.CACHE.DIR {folder}: cannot create it ({e})") from None
        original_sizes = _build(paths, resize, pixels_path, index_path, key, size, workers)
    return ResizedImageCache(pixels_path, original_sizes, size)
