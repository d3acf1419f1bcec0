"""Measurement datasets: what an acquisition gives a learning method.

`simulate_measurements` measures a set of images once, ``y_i = noise(A x_i)`` with the noise of item ``i``
drawn from a generator seeded by ``(seed, i)``: a fixed noise draw, as a real acquisition has, independent of the
batching and of the order of the items. The result is a `MeasurementDataset` (measurements only, for
unsupervised losses: MC, EI, SURE, REI) or, with ``ground_truth=True``, a `PairedMeasurementDataset` that
also holds the images (supervised training, DA, validation sets).

Both index like tensors: ``ds[i]`` is ``y_i`` (or ``(x_i, y_i)``), ``ds.batch(idx)`` gathers ``(x or None, y)`` for a
tensor of indices in one indexing operation.

Multiple operators: measured with an `equinet.physics.OperatorFamily`, a dataset also carries each item's member
index (``ds.operators``, ``ds.operators_of(idx)``; None for a single operator); the trainer, the validation and the
multi-operator loss give each item its own operator (``family.select(ds.operators_of(idx))``).
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


def _check_operators(operators, n: int) -> Optional[torch.Tensor]:
    if operators is None:
        return None
    ops = torch.as_tensor(operators)
    if ops.dim() != 1 or ops.is_floating_point() or ops.is_complex() or ops.dtype == torch.bool:
        raise ValueError(f"operators must be a 1-D integer tensor (one operator index per item), got dtype "
                         f"{ops.dtype} and shape {tuple(ops.shape)}")
    if ops.numel() != n:
        raise ValueError(f"operators must hold one index per item: {n} items, got {ops.numel()} indices")
    if ops.numel() and int(ops.min()) < 0:
        raise ValueError(f"operator indices must be >= 0, got {int(ops.min())}")
    return ops.detach().to(device="cpu", dtype=torch.int64).clone()


class MeasurementDataset(Dataset):
    """Measurements ``y`` only (``[N, C, ...]``): the ground truth is not available to training.

    ``operators``: for measurements of an `equinet.physics.OperatorFamily`, the member index of each item (``[N]``
    ints); None for a single operator.
    """

    has_ground_truth = False
    operators: Optional[torch.Tensor] = None

    def __init__(self, y: torch.Tensor, operators: Optional[torch.Tensor] = None):
        self.y = _check_batch_tensor(y, "y").detach()
        self.operators = _check_operators(operators, self.y.shape[0])

    def __len__(self) -> int:
        return self.y.shape[0]

    def operators_of(self, idx: torch.Tensor) -> Optional[torch.Tensor]:
        """The operator indices of the items ``idx`` (None: one operator for all)."""
        return None if self.operators is None else self.operators[idx]

    def __getitem__(self, i):
        return self.y[i]

    def batch(self, idx: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``(None, y[idx])``."""
        return None, self.y[idx]

    def __repr__(self) -> str:
        ops = "" if self.operators is None else f", operators={int(self.operators.max()) + 1}"
        return f"{type(self).__name__}(n={len(self)}, y={tuple(self.y.shape[1:])}{ops})"


class PairedMeasurementDataset(MeasurementDataset):
    """Images and their measurements ``(x [N, C, H, W], y [N, C, ...])`` (supervised losses, DA, validation)."""

    has_ground_truth = True

    def __init__(self, x: torch.Tensor, y: torch.Tensor, operators: Optional[torch.Tensor] = None):
        super().__init__(y, operators)
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
        ops = "" if self.operators is None else f", operators={int(self.operators.max()) + 1}"
        return f"{type(self).__name__}(n={len(self)}, x={tuple(self.x.shape[1:])}, y={tuple(self.y.shape[1:])}{ops})"


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
def simulate_measurements(physics, images, seed: int = 0, ground_truth: bool = False,
                          operators: Optional[torch.Tensor] = None) -> MeasurementDataset:
    """Measure ``images`` once with ``physics.measure``; the noise of item ``i`` comes from ``generator(seed, i)``.

    Args:
        physics: an `equinet.physics.LinearPhysics` with its noise model, or an `equinet.physics.OperatorFamily`
            (item ``i`` measured by member ``operators[i]``; the dataset keeps the indices).
        images: tensor ``[N, C, H, W]`` or a dataset of ``[C, H, W]`` tensors.
        seed: the acquisition's seed (item ``i``'s noise depends on ``(seed, i)`` only).
        ground_truth: keep the images (a `PairedMeasurementDataset`) or not (a `MeasurementDataset`).
        operators: a family's member index per item (default ``family.assignment(N)``: item ``i`` by member
            ``i mod g``); only with a family.

    >>> from equinet.physics import inpainting_family
    >>> ds = simulate_measurements(inpainting_family(8, 3, seed=0), torch.rand(4, 1, 8, 8))
    >>> ds.operators.tolist()
    [0, 1, 2, 0]
    """
    family = callable(getattr(physics, "select", None)) and callable(getattr(physics, "assignment", None))
    if not family and not callable(getattr(physics, "measure", None)):
        raise TypeError(f"physics must provide measure(x, generator) (an equinet.physics.LinearPhysics) or be an "
                        f"equinet.physics.OperatorFamily, got {type(physics).__name__}")
    if operators is not None and not family:
        raise ValueError("operators= gives each item a member of an operator family; the physics is a single "
                         f"operator ({type(physics).__name__})")
    seed = check_seed(seed)
    x = _images(images)
    ops = None
    if family:
        ops = physics.assignment(x.shape[0]) if operators is None else physics.check_operators(operators)
        if ops.numel() != x.shape[0]:
            raise ValueError(f"operators must hold one index per image: {x.shape[0]} images, got {ops.numel()}")
        y = torch.cat([physics[int(ops[i])].measure(x[i:i + 1], generator(seed, i)) for i in range(x.shape[0])])
    else:
        y = torch.cat([physics.measure(x[i:i + 1], generator(seed, i)) for i in range(x.shape[0])])
    return PairedMeasurementDataset(x, y, ops) if ground_truth else MeasurementDataset(y, ops)
