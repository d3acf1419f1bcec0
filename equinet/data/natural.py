"""Random crops of the natural images shipped inside the scikit-image wheel (no downloads).

scikit-image is an optional dependency (``pip install 'equinet-imaging[images]'``); it is imported only when a
natural image is requested. The images used are the ones bundled in the wheel's ``skimage/data`` folder,
so they load offline.
"""

from __future__ import annotations

import numbers
from functools import lru_cache
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..utils.seeding import check_seed
from .registry import DATASETS

__all__ = ["NaturalImageCrops", "natural_image_crops", "load_image", "GRAY_IMAGES", "RGB_IMAGES", "TRAIN_PHOTOS",
           "TEST_PHOTOS"]

#: photographs stored as grayscale in scikit-image's wheel
GRAY_IMAGES: Tuple[str, ...] = ("camera", "brick", "grass", "gravel", "moon", "coins")
#: colour photographs stored in scikit-image's wheel
RGB_IMAGES: Tuple[str, ...] = ("astronaut", "chelsea", "coffee", "rocket")

#: a split of the photographs: learn on these...
TRAIN_PHOTOS: Tuple[str, ...] = ("brick", "grass", "gravel", "moon", "coins", "astronaut", "chelsea", "rocket")
#: ...and test on these (held out)
TEST_PHOTOS: Tuple[str, ...] = ("camera", "coffee")

_MISSING = ("equinet.data.NaturalImageCrops needs scikit-image for its bundled photographs; "
            "install the optional extra with: pip install 'equinet-imaging[images]'")


def _skimage():
    """Import ``skimage.data`` and ``skimage.color`` or raise an ImportError that says how to install them."""
    try:
        import skimage.color as color
        import skimage.data as data
    except ImportError as err:
        raise ImportError(_MISSING) from err
    return data, color


@lru_cache(maxsize=None)
def _load(name: str, grayscale: bool) -> np.ndarray:
    data, color = _skimage()
    loader = getattr(data, name, None)
    if loader is None or not callable(loader):
        raise ValueError(f"scikit-image has no bundled image {name!r}; choose from {GRAY_IMAGES + RGB_IMAGES}")
    try:
        img = np.asarray(loader())
    except Exception as err:  # e.g. images that scikit-image would have to download with pooch
        raise ValueError(f"scikit-image image {name!r} could not be loaded offline "
                         f"({type(err).__name__}: {err})") from err
    if img.dtype == np.uint8:
        img = img.astype(np.float64) / 255.0
    else:
        img = img.astype(np.float64)
    if img.ndim == 3 and img.shape[-1] == 4:
        img = img[..., :3]
    if img.ndim == 3:
        img = color.rgb2gray(img) if grayscale else img
    elif not grayscale:
        img = np.repeat(img[..., None], 3, axis=-1)
    img = np.clip(img, 0.0, 1.0)
    img = img[None] if img.ndim == 2 else np.moveaxis(img, -1, 0)
    img.setflags(write=False)
    return img


def load_image(name: str, grayscale: bool = True) -> torch.Tensor:
    """A bundled scikit-image photograph as a float64 tensor ``[C, H, W]`` in [0, 1] (C = 1 or 3).

    Colour images are converted with ``skimage.color.rgb2gray`` when ``grayscale``; grayscale images are
    repeated over 3 channels when not.
    """
    if not isinstance(name, str):
        raise TypeError(f"image name must be a str, got {type(name).__name__}")
    return torch.from_numpy(_load(name, bool(grayscale)).copy())


class NaturalImageCrops(Dataset):
    """Dataset of random ``image_size`` crops ``[C, h, w]`` in [0, 1] of scikit-image's bundled photographs.

    Item ``i`` is a deterministic function of ``(seed, i)``: a source image chosen uniformly from ``images``
    and a crop position chosen uniformly among all positions. ``images`` defaults to ``GRAY_IMAGES +
    RGB_IMAGES`` for ``grayscale=True`` and to ``RGB_IMAGES`` otherwise. No flips or rotations are applied.
    """

    n: int
    seed: int
    image_size: Tuple[int, int]
    grayscale: bool
    images: Tuple[str, ...]
    dtype: torch.dtype
    _arrays: List[np.ndarray]

    def __init__(self, n: int, image_size, seed: int = 0, grayscale: bool = True,
                 images: Optional[Sequence[str]] = None, dtype: Optional[torch.dtype] = None):
        _skimage()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative int, got {n!r}")
        check_seed(seed)
        if isinstance(image_size, numbers.Integral) and not isinstance(image_size, bool):
            size = (int(image_size), int(image_size))
        elif isinstance(image_size, (tuple, list)) and len(image_size) == 2 and all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in image_size):
            size = (int(image_size[0]), int(image_size[1]))
        else:
            raise TypeError(f"image_size must be an int or a pair of ints (h, w), got {image_size!r}")
        if min(size) < 1:
            raise ValueError(f"image_size must be positive, got {size}")
        if images is None:
            images = GRAY_IMAGES + RGB_IMAGES if grayscale else RGB_IMAGES
        if isinstance(images, str):
            images = (images,)
        images = tuple(images)
        if not images:
            raise ValueError("images must name at least one scikit-image photograph")
        self.n = int(n)
        self.seed = int(seed)
        self.image_size = size
        self.grayscale = bool(grayscale)
        self.images = images
        self.dtype = torch.get_default_dtype() if dtype is None else dtype
        self._arrays = [_load(name, self.grayscale) for name in images]
        small = [f"{name} {a.shape[1]}x{a.shape[2]}" for name, a in zip(images, self._arrays)
                 if a.shape[1] < size[0] or a.shape[2] < size[1]]
        if small:
            raise ValueError(f"crop size {size} is larger than these images: {', '.join(small)}; "
                             "use a smaller image_size or pass images=[...]")

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[torch.Tensor]:
        return (self[i] for i in range(self.n))

    def crop_info(self, index: int) -> Tuple[str, int, int]:
        """(image name, top row, left column) of item ``index``."""
        i = self._index(index)
        rng = np.random.default_rng([self.seed, i])
        k = int(rng.integers(len(self.images)))
        a = self._arrays[k]
        top = int(rng.integers(0, a.shape[1] - self.image_size[0] + 1))
        left = int(rng.integers(0, a.shape[2] - self.image_size[1] + 1))
        return self.images[k], top, left

    def _index(self, index) -> int:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        i = int(index) + (self.n if index < 0 else 0)
        if not 0 <= i < self.n:
            raise IndexError(f"index {index} out of range for {self.n} crops")
        return i

    def __getitem__(self, index: int) -> torch.Tensor:
        name, top, left = self.crop_info(index)
        a = self._arrays[self.images.index(name)]
        h, w = self.image_size
        return torch.from_numpy(a[:, top:top + h, left:left + w].copy()).to(self.dtype)


def natural_image_crops(n: int, image_size, seed: int = 0, grayscale: bool = True,
                        images: Optional[Sequence[str]] = None, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """``n`` crops stacked as ``[n, C, h, w]`` (the items of `NaturalImageCrops`)."""
    ds = NaturalImageCrops(n, image_size, seed, grayscale, images, dtype)
    if len(ds) == 0:
        c = 1 if ds.grayscale else 3
        return torch.zeros((0, c) + ds.image_size, dtype=ds.dtype)
    return torch.stack([ds[i] for i in range(len(ds))])


@DATASETS.register("natural")
def natural_images(n: int, image_size, seed: int = 0, grayscale: bool = True) -> torch.Tensor:
    """The first ``n`` items of `NaturalImageCrops` as one float32 tensor, the ``natural`` dataset."""
    ds = NaturalImageCrops(n, image_size, seed=seed, grayscale=grayscale)
    return torch.stack([ds[i] for i in range(n)]).float()


@DATASETS.register("natural_train")
def natural_train_images(n: int, image_size, seed: int = 0, grayscale: bool = True) -> torch.Tensor:
    """Like ``natural``, from the training photographs `TRAIN_PHOTOS` only (`TEST_PHOTOS` stay held out)."""
    ds = NaturalImageCrops(n, image_size, seed=seed, grayscale=grayscale,
                           images=TRAIN_PHOTOS if grayscale else [p for p in TRAIN_PHOTOS if p in RGB_IMAGES])
    return torch.stack([ds[i] for i in range(n)]).float()


@DATASETS.register("natural_test")
def natural_test_images(n: int, image_size, seed: int = 0, grayscale: bool = True) -> torch.Tensor:
    """Like ``natural``, from the held-out photographs `TEST_PHOTOS` only.

    >>> natural_test_images(2, 32).shape
    torch.Size([2, 1, 32, 32])
    """
    ds = NaturalImageCrops(n, image_size, seed=seed, grayscale=grayscale,
                           images=TEST_PHOTOS if grayscale else [p for p in TEST_PHOTOS if p in RGB_IMAGES])
    return torch.stack([ds[i] for i in range(n)]).float()
