"""Measurement datasets: what an acquisition gives a learning method.

`simulate_measurements` measures a set of images once, ``y_i = noise(A x_i)`` with the noise of item ``i``
drawn from a generator seeded by ``(seed, i)``: a fixed noise draw, as a real acquisition has, independent of the
batching and of the order of the items. The result is a `MeasurementDataset` (measurements only, for
unsupervised losses: MC, EI, SURE, REI) or, with ``ground_truth=True``, a `PairedMeasurementDataset` that
also holds the images (supervised training, DA, validation sets).

Both index like tensors: ``ds[i]`` is ``y_i`` (or ``(x_i, y_i)``), ``ds.batch(idx)`` gathers ``(x or None, y)`` for a
tensor of indices in one indexing operation.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch.utils.data import Dataset

from ..utils.seeding import check_seed, generator

__all__ = ["MeasurementDataset", "PairedMeasurementDataset", "simulate_measurements"]


def _check_batch_tensor(t, name: str) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [N, C, ...], got {type(t).__name__}")
    if t.dim() < 2 or t.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch [N, C, ...], got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {t.dtype}")
    return t


class MeasurementDataset(Dataset):
    """Measurements ``y`` only (``[N, C, ...]``): the ground truth is not available to training."""

    has_ground_truth = False

    def __init__(self, y: torch.Tensor):
        self.y = _check_batch_tensor(y, "y").detach()

    def __len__(self) -> int:
        return self.y.shape[0]

    def __getitem__(self, i):
        return self.y[i]

    def batch(self, idx: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``(None, y[idx])``."""
        return None, self.y[idx]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, y={tuple(self.y.shape[1:])})"


class PairedMeasurementDataset(MeasurementDataset):
    """Images and their measurements ``(x [N, C, H, W], y [N, C, ...])`` (supervised losses, DA, validation)."""

    has_ground_truth = True

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        super().__init__(y)
        self.x = _check_batch_tensor(x, "x").detach()
        if self.x.dim() != 4:
            raise ValueError(f"x must be an image batch [N, C, H, W], got shape {tuple(self.x.shape)}")
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"x and y must hold the same number of items, got {self.x.shape[0]} and {self.y.shape[0]}")

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def batch(self, idx: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``(x[idx], y[idx])``."""
        return self.x[idx], self.y[idx]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={len(self)}, x={tuple(self.x.shape[1:])}, y={tuple(self.y.shape[1:])})"


def _images(images) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        x = images
    elif hasattr(images, "__len__") and hasattr(images, "__getitem__"):
        if len(images) == 0:
            raise ValueError("images is empty")
        x = torch.stack([torch.as_tensor(images[i]) for i in range(len(images))])
    else:
        raise TypeError(f"images must be a tensor [N, C, H, W] or a dataset of [C, H, W] tensors, "
                        f"got {type(images).__name__}")
    x = _check_batch_tensor(x, "images")
    if x.dim() != 4:
        raise ValueError(f"images must be a batch [N, C, H, W], got shape {tuple(x.shape)}")
    return x


@torch.no_grad()
def simulate_measurements(physics, images, seed: int = 0, ground_truth: bool = False) -> MeasurementDataset:
    """Measure ``images`` once with ``physics.measure``; the noise of item ``i`` comes from ``generator(seed, i)``.

    Args:
        physics: an `equinet.physics.LinearPhysics` with its noise model.
        images: tensor ``[N, C, H, W]`` or a dataset of ``[C, H, W]`` tensors.
        seed: the acquisition's seed (item ``i``'s noise depends on ``(seed, i)`` only).
        ground_truth: keep the images (a `PairedMeasurementDataset`) or not (a `MeasurementDataset`).
    """
    if not callable(getattr(physics, "measure", None)):
        raise TypeError(f"physics must provide measure(x, generator) (an equinet.physics.LinearPhysics), "
                        f"got {type(physics).__name__}")
    seed = check_seed(seed)
    x = _images(images)
    y = torch.cat([physics.measure(x[i:i + 1], generator(seed, i)) for i in range(x.shape[0])])
    return PairedMeasurementDataset(x, y) if ground_truth else MeasurementDataset(y)
