"""Folders of images (PNG, TIFF, JPEG: e.g. BSD, DIV2K or Urban100 crops) as training and test images.

`image_folder(path, split, image_size, channels)`: the image files directly in ``path`` (sorted by name), read
one at a time with Pillow (installed with matplotlib), converted to grayscale (``channels=1``) or RGB
(``channels=3``), scaled to [0, 1] by their bit depth (8-bit / 255, 16-bit / 65535, float TIFFs as stored), centre-
cropped to a square and resized to ``image_size``. Splits: `equinet.data.streaming.split_indices` over the sorted
names with ``seed`` and ``fractions`` (``'all'`` keeps every file). `equinet.data.files.measured` makes a streaming
measurement dataset of it for any operator.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch

from .files import DataFormatError, ImageItems, find_files, optional_size
from .streaming import split_indices

__all__ = ["image_folder", "read_image", "IMAGE_PATTERNS"]

#: file names read by `image_folder`
IMAGE_PATTERNS = ("*.png", "*.PNG", "*.tif", "*.tiff", "*.TIF", "*.TIFF", "*.jpg", "*.jpeg", "*.JPG", "*.JPEG")


def read_image(file: str, channels: int = 1) -> torch.Tensor:
    """One image file as a float32 ``[channels, H, W]`` tensor in [0, 1] (see the module docstring)."""
    from PIL import Image

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")
    try:
        with Image.open(file) as im:
            im.load()
            arr = np.asarray(im)
            mode = im.mode
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{file!r} cannot be read as an image ({err}); expected PNG, TIFF or JPEG") from None
    if arr.dtype == np.uint8:
        a = arr.astype(np.float32) / 255.0
    elif arr.dtype in (np.uint16, np.int32) or mode.startswith("I;16"):
        a = arr.astype(np.float32) / 65535.0
    elif arr.dtype == bool:
        a = arr.astype(np.float32)
    else:
        a = arr.astype(np.float32)
    if a.ndim == 3:
        a = a[..., :3]
        if channels == 1:
            a = a @ np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)  # scikit-image's rgb2gray weights
    if a.ndim == 2:
        a = np.repeat(a[None], channels, axis=0)
    else:
        a = np.moveaxis(a, -1, 0)
    return torch.from_numpy(np.ascontiguousarray(a))


def image_folder(path, split: str = "all", image_size=None, channels: int = 1, seed: int = 0,
                 fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> ImageItems:
    """The images of ``split`` in the folder ``path``, ``[channels, n, n]`` each, read on demand."""
    files = find_files(path, IMAGE_PATTERNS, "a folder of image files (PNG, TIFF or JPEG)")
    keep = split_indices(len(files), split, fractions, seed).tolist()
    chosen = [files[k] for k in keep]
    if not chosen:
        raise DataFormatError(f"split {split!r} of the {len(files)} images in {os.fspath(path)!r} is empty")
    return ImageItems(len(chosen), lambda i: read_image(chosen[i], channels), optional_size(image_size),
                      f"{split} images of {os.fspath(path)!r}")
