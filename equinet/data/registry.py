"""The registry of image datasets a configuration can name (``[data] name``): functions
``(n, image_size, seed, grayscale) -> [n, C, H, W]`` in [0, 1]; each registers itself in its own module."""
from __future__ import annotations

from ..utils.registry import Registry

__all__ = ["DATASETS"]

#: name -> ``images(n, image_size, seed=0, grayscale=True)``
DATASETS: Registry = Registry("dataset")
