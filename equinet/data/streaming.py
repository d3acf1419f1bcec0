"""Measurement datasets read item by item: real acquisitions on disk, other libraries' datasets.

`StreamingMeasurementDataset` is a `MeasurementDataset` whose items are produced on demand by a function
``read(i) -> (x or None, y)``: nothing is held in memory beyond the batch the trainer asks for, so a dataset larger
than memory trains as the in-memory ones do (``ds[i]``, ``ds.batch(idx)``, ``len(ds)``, ``has_ground_truth``).
`split_indices` is the one deterministic train/validation/test split of the loaders in ``equinet.data``.
"""
from __future__ import annotations

import numbers
from typing import Callable, Optional, Sequence, Tuple

import torch

from ..utils.seeding import check_seed, generator
from .measurements import MeasurementDataset

__all__ = ["StreamingMeasurementDataset", "split_indices", "SPLITS"]

#: split names accepted by the loaders
SPLITS = ("train", "val", "test", "all")


def split_indices(n: int, split: str = "all", fractions: Sequence[float] = (0.8, 0.1, 0.1),
                  seed: int = 0) -> torch.Tensor:
    """Indices of ``split`` among ``n`` items: a permutation seeded by ``seed`` cut at the cumulative ``fractions``
    (train, val, test); ``'all'`` is ``0..n-1``. Deterministic, and the three splits are disjoint and cover all.

    >>> split_indices(10, "val", seed=0).tolist() == split_indices(10, "val", seed=0).tolist()
    True
    >>> sorted(split_indices(10, "train").tolist() + split_indices(10, "val").tolist()
    ...        + split_indices(10, "test").tolist()) == list(range(10))
    True
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    fr = [float(f) for f in fractions]
    if len(fr) != 3 or any(not 0 <= f <= 1 for f in fr) or abs(sum(fr) - 1) > 1e-9:
        raise ValueError(f"fractions must be three numbers in [0, 1] summing to 1 (train, val, test), "
                         f"got {fractions!r}")
    if split == "all":
        return torch.arange(int(n))
    perm = torch.randperm(int(n), generator=generator(check_seed(seed), 5))
    cut1 = int(round(fr[0] * n))
    cut2 = cut1 + int(round(fr[1] * n))
    part = {"train": perm[:cut1], "val": perm[cut1:cut2], "test": perm[cut2:]}[split]
    return torch.sort(part).values


class StreamingMeasurementDataset(MeasurementDataset):
    """A `MeasurementDataset` whose item ``i`` is ``read(i) -> (x or None, y)``, read when asked for.

    Args:
        n: number of items.
        read: ``i -> (x [C, H, W] or None, y [C, ...])`` (tensors).
        has_ground_truth: whether ``read`` returns images ``x`` (paired data) or None (measurements only).
        description: a short text for ``repr`` (e.g. the file or folder read).

    ``ds[i]`` is ``y_i`` (or ``(x_i, y_i)`` when paired), ``ds.batch(idx)`` stacks the items ``idx``.

    >>> ds = StreamingMeasurementDataset(3, lambda i: (None, torch.full((1, 2), float(i))), False)
    >>> x, y = ds.batch(torch.tensor([2, 0]))
    >>> y.flatten(1).mean(1).tolist()
    [2.0, 0.0]
    """

    _n: int
    _read: Callable[[int], Tuple[Optional[torch.Tensor], torch.Tensor]]
    description: str

    def __init__(self, n: int, read: Callable[[int], Tuple[Optional[torch.Tensor], torch.Tensor]],
                 has_ground_truth: bool, description: str = ""):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"a streaming dataset needs at least one item, got n={n!r}")
        if not callable(read):
            raise TypeError(f"read must be a callable i -> (x or None, y), got {type(read).__name__}")
        self._n, self._read = int(n), read
        self.has_ground_truth = bool(has_ground_truth)
        self.description = str(description)

    def __len__(self) -> int:
        return self._n

    def _item(self, i: int):
        if not -self._n <= i < self._n:
            raise IndexError(f"index {i} out of range for a dataset of {self._n} items")
        x, y = self._read(int(i) % self._n)
        if not isinstance(y, torch.Tensor) or not y.is_floating_point():
            raise TypeError(f"item {i}: the measurement must be a floating-point tensor, got "
                            f"{getattr(y, 'dtype', type(y).__name__)}")
        if self.has_ground_truth and not isinstance(x, torch.Tensor):
            raise TypeError(f"item {i}: a paired dataset must give an image tensor, got {type(x).__name__}")
        return (x if self.has_ground_truth else None), y

    def __getitem__(self, i):
        x, y = self._item(int(i))
        return (x, y) if self.has_ground_truth else y

    def batch(self, idx: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """``(x[idx] or None, y[idx])``, read and stacked."""
        items = [self._item(int(i)) for i in torch.as_tensor(idx).reshape(-1)]
        y = torch.stack([it[1] for it in items])
        x = torch.stack([it[0] for it in items]) if self.has_ground_truth else None
        return x, y

    @property  # read-only here: the measurements are read on demand, not stored
    def y(self) -> torch.Tensor:  # type: ignore[override]
        """All measurements, read and stacked (loads the whole dataset: meant for small ones)."""
        return self.batch(torch.arange(self._n))[1]

    @property
    def x(self) -> torch.Tensor:
        """All images, read and stacked (paired datasets only; loads the whole dataset)."""
        if not self.has_ground_truth:
            raise AttributeError("this dataset holds measurements only (no images x)")
        x = self.batch(torch.arange(self._n))[0]
        assert x is not None  # a paired dataset's batch stacks its images
        return x

    def __repr__(self) -> str:
        kind = "paired" if self.has_ground_truth else "measurements only"
        where = f", {self.description}" if self.description else ""
        return f"{type(self).__name__}(n={self._n}, {kind}{where})"
