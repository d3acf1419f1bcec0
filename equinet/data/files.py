"""Helpers shared by the loaders of real data on disk (``equinet.data.lodopab``, ``fastmri``, ``image_folder``).

h5py is optional (``pip install 'equinet-imaging[data]'``): `require_h5py` imports it on first use and raises an
ImportError naming the extra. `DataFormatError` is the one error a loader raises for a path that does not hold what
it expects; its message says what was expected. `fit_image` brings one image to the working size, `ImageItems` is
a dataset of images read on demand, `measured` turns such a dataset into a streaming measurement dataset.
"""
from __future__ import annotations

import fnmatch
import glob
import importlib
import os
from typing import Callable, List, Optional, Protocol, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..utils.checks import check_image_size as as_image_size
from ..utils.seeding import check_seed, generator
from .streaming import StreamingMeasurementDataset

__all__ = ["DataFormatError", "require_h5py", "find_files", "fit_image", "ImageItems", "measured"]

H5PY_MISSING = ("reading {what} needs h5py, which is not installed; install the optional extra: "
                "pip install 'equinet-imaging[data]'")


class DataFormatError(ValueError):
    """A path given to a loader does not hold data in the format the loader reads (the message says what it expects)."""


def require_h5py(what: str = "HDF5 files"):
    """The ``h5py`` module, or an ImportError naming the ``equinet-imaging[data]`` extra."""
    try:
        return importlib.import_module("h5py")
    except ImportError:
        raise ImportError(H5PY_MISSING.format(what=what)) from None


def find_files(path, patterns: Sequence[str], expects: str) -> List[str]:
    """Sorted files under the folder ``path`` matching any of ``patterns`` (or ``[path]`` if it is such a file);
    `DataFormatError` saying what was expected when there are none."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataFormatError(f"{path!r} does not exist; expected {expects}")
    if os.path.isfile(path):
        if any(fnmatch.fnmatch(os.path.basename(path), p) for p in patterns):
            return [path]
        raise DataFormatError(f"{path!r} is not {expects}")
    files = sorted({f for p in patterns for f in glob.glob(os.path.join(path, p)) if os.path.isfile(f)})
    if not files:
        raise DataFormatError(f"no files matching {' or '.join(patterns)} in {path!r}; expected {expects}")
    return files


def fit_image(img: torch.Tensor, size=None) -> torch.Tensor:
    """``[C, H, W]`` -> the centred square crop of side ``min(H, W)``, resized (antialiased bilinear) to ``size``
    (an int or ``(H, W)``; None keeps the image as it is). float32.

    >>> fit_image(torch.ones(1, 6, 8), 3).shape
    torch.Size([1, 3, 3])
    """
    img = img.to(torch.float32)
    if size is None:
        return img
    h, w = as_image_size(size)
    s = min(img.shape[-2:])
    top, left = (img.shape[-2] - s) // 2, (img.shape[-1] - s) // 2
    img = img[..., top:top + s, left:left + s]
    if (s, s) == (h, w):
        return img.contiguous()
    return F.interpolate(img[None], size=(h, w), mode="bilinear", align_corners=False,
                         antialias=(h < s or w < s))[0]


class ImageItems(Dataset):
    """Images ``[C, H, W]`` read on demand: item ``i`` is ``fit_image(read(i), size)`` (nothing is cached)."""

    def __init__(self, n: int, read: Callable[[int], torch.Tensor], size=None, description: str = ""):
        self.n, self.read, self.size, self.description = int(n), read, size, description

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        i = int(i)
        if not -self.n <= i < self.n:
            raise IndexError(f"index {i} out of range for a dataset of {self.n} images")
        return fit_image(self.read(i % self.n), self.size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, size={self.size}, {self.description})"


class ImageSet(Protocol):
    """A dataset of images ``[C, H, W]`` with a length (``torch.utils.data.Dataset`` subclasses, lists)."""

    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> torch.Tensor: ...


def measured(images: ImageSet, physics, seed: int = 0, ground_truth: bool = False) -> StreamingMeasurementDataset:
    """A streaming measurement dataset of ``images``: item ``i`` is read and measured when asked for,
    ``y_i = physics.measure(x_i, generator(seed, i))`` (the same noise as `simulate_measurements` gives item ``i``).
    """
    if not callable(getattr(physics, "measure", None)):
        raise TypeError(f"physics must provide measure(x, generator), got {type(physics).__name__}")
    seed = check_seed(seed)

    @torch.no_grad()
    def read(i):
        x = images[i]
        return x, physics.measure(x[None], generator(seed, i))[0]

    return StreamingMeasurementDataset(len(images), read, ground_truth, f"measured {images!r}")


def optional_size(size) -> Optional[tuple]:
    return None if size is None else as_image_size(size)
