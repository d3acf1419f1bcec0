"""Where a training run is in its data, and the random stream of each piece of a step.

The global batch of step ``t`` and the generator of each of its slices are pure functions of ``(seed, t)``: this
is the trainer's position in the data, restored by a checkpoint's step alone, and it does not depend on the number
of processes that share the work.
"""
from __future__ import annotations

import math

import torch

from ..data.measurements import MeasurementDataset
from ..utils.seeding import generator

__all__ = ["TrainingData", "batch_indices", "step_generator"]


def batch_indices(n: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """Indices of the global batch of ``step``: epoch-wise random permutations seeded by ``(seed, 0, epoch)``; the
    last batch of an epoch may be smaller. This is the trainer's position in the data: a function of the step."""
    per_epoch = math.ceil(n / batch_size)
    epoch, j = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=generator(seed, 0, epoch))
    return perm[j * batch_size:(j + 1) * batch_size]


def step_generator(seed: int, step: int, slice_index: int, micro_batches: int) -> torch.Generator:
    """The CPU generator of slice ``slice_index`` of step ``step``: seeded by ``(seed, 1, step)`` when the batch is
    one slice, else ``(seed, 1, step, slice_index)`` (noise, transform parameters and probes of that slice)."""
    return generator(seed, 1, step) if micro_batches == 1 else generator(seed, 1, step, slice_index)


class TrainingData:
    """The training items: images (``y`` simulated by the trainer at every step) or a measurement dataset."""

    def __init__(self, data):
        self.fixed = isinstance(data, MeasurementDataset)
        self.data = data
        if self.fixed:
            self.has_ground_truth = data.has_ground_truth
            self.n = len(data)
        elif isinstance(data, torch.Tensor):
            if data.dim() != 4:
                raise ValueError(f"images must be a tensor [N, C, H, W], got shape {tuple(data.shape)}")
            if not data.is_floating_point():
                raise TypeError(f"images must be floating point, got {data.dtype}")
            self.has_ground_truth, self.n = True, data.shape[0]
        elif hasattr(data, "__len__") and hasattr(data, "__getitem__"):
            self.has_ground_truth, self.n = True, len(data)
        else:
            raise TypeError("data must be images (a tensor [N, C, H, W] or a dataset of [C, H, W] tensors) or an "
                            f"equinet.data.MeasurementDataset, got {type(data).__name__}")
        if self.n == 0:
            raise ValueError("the training data (images) is empty")

    def fetch(self, idx: torch.Tensor):
        """``(x or None, y or None)`` of the items ``idx`` (y is None for images: simulated by the trainer)."""
        if self.fixed:
            return self.data.batch(idx)
        if isinstance(self.data, torch.Tensor):
            return self.data[idx], None
        return torch.stack([torch.as_tensor(self.data[int(i)]) for i in idx]), None
