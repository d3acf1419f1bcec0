"""Learning-rate schedules of the trainer (``torch.optim.lr_scheduler`` objects, stepped once per training step)."""
from __future__ import annotations

import math

import torch

__all__ = ["SCHEDULES", "CosineSchedule", "make_schedule"]

SCHEDULES = (None, "constant", "cosine")


class CosineSchedule(torch.optim.lr_scheduler.LRScheduler):
    """Cosine decay from each group's initial lr to ``min_lr`` over ``total`` steps, in closed form:
    ``lr_t = min_lr + (lr_0 - min_lr) (1 + cos(pi t / total)) / 2`` (no accumulation of rounding errors)."""

    def __init__(self, optimizer: torch.optim.Optimizer, total: int, min_lr: float = 0.0, last_epoch: int = -1):
        if isinstance(total, bool) or not isinstance(total, int) or total < 1:
            raise ValueError(f"total must be a positive int, got {total!r}")
        self.total, self.min_lr = total, float(min_lr)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t = self.last_epoch
        return [self.min_lr + 0.5 * (base - self.min_lr) * (1.0 + math.cos(math.pi * t / self.total))
                for base in self.base_lrs]


def make_schedule(name, optimizer: torch.optim.Optimizer, total: int, min_lr: float = 0.0):
    """The scheduler called ``name`` (``None``/'constant': None; 'cosine': `CosineSchedule`)."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")
    return CosineSchedule(optimizer, total, min_lr) if name == "cosine" else None
