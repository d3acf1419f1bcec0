"""Supervised training of ``u = model(y, physics)`` on images: a thin wrapper over `Trainer`.

`fit_supervised` simulates ``y = physics.measure(x, generator)`` with fresh seeded noise every step and
minimises ``loss(model(y, physics), x)`` (MSE by default) with Adam and an optional cosine schedule. Its random
streams are those of the trainer with one micro-batch: batch order ``(seed, 0, epoch)``, step generator
``(seed, 1, step)``, so runs are bitwise identical to those of the loop it replaced.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Union

import torch
from torch import nn

from ..losses.base import Loss, LossInputs
from ..utils.checks import check_nonnegative_float, check_positive_float
from ..utils.progress import Progress
from .log import History
from .schedules import SCHEDULES, make_schedule
from .trainer import Trainer, resolve_device

__all__ = ["History", "fit_supervised", "mse_loss", "resolve_device", "SCHEDULES"]


def mse_loss(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all entries."""
    return torch.mean((u - x) ** 2)


class _CallableSupervised(Loss):
    """``{'loss': fn(x1, x)}``: a plain ``(estimate, ground truth) -> scalar`` function as a supervised Loss."""

    name = "loss"
    needs_ground_truth = True

    def __init__(self, fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        super().__init__()
        if not callable(fn):
            raise TypeError("loss must be callable (estimate, ground truth) -> scalar tensor")
        self.fn = fn

    def terms(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        value = self.fn(inputs.x1, inputs.ground_truth())
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise TypeError("loss must return a scalar tensor")
        return {"loss": value}


def fit_supervised(model: nn.Module, physics, images, *, loss: Callable = mse_loss,
                   measure: Optional[Callable] = None, steps: Optional[int] = None, epochs: Optional[int] = None,
                   batch_size: int = 8, lr: float = 1e-3, seed: int = 0, schedule: Optional[str] = None,
                   min_lr: float = 0.0, weight_decay: float = 0.0, device="cpu",
                   progress: Union[bool, Progress] = False, checkpoint: Optional[str] = None,
                   **kwargs) -> History:
    """Supervised training of a reconstruction network ``u = model(y, physics)`` on ground-truth ``images``.

    Each step draws a batch, simulates ``y = physics.measure(x, generator)`` (or a custom ``measure(x, generator)``)
    and takes an Adam step (``lr``, ``weight_decay``) on ``loss(u, x)``; ``schedule='cosine'`` decays the lr to
    ``min_lr``. Other keyword arguments (``checkpoint_every``, ``resume``, ``grad_clip``, ``callback``, ``out``,
    ``validation``, ...) are those of `Trainer`. Returns the run's `History`.
    """
    if measure is None and not callable(getattr(physics, "measure", None)):
        raise TypeError("physics must provide measure(x, generator) (an equinet.physics.LinearPhysics) "
                        "or pass measure=")
    lr = check_positive_float(lr, "lr")
    min_lr = check_nonnegative_float(min_lr, "min_lr")
    weight_decay = check_nonnegative_float(weight_decay, "weight_decay")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if isinstance(images, torch.Tensor) and images.dim() != 4:
        raise ValueError(f"images must be a tensor [N, C, H, W], got shape {tuple(images.shape)}")
    trainer = Trainer(model, _CallableSupervised(loss), physics, images, steps=steps, epochs=epochs,
                      batch_size=batch_size, seed=seed, device=resolve_device(device), measure=measure,
                      optimizer=lambda p: torch.optim.Adam(p, lr=lr, weight_decay=weight_decay),
                      scheduler=lambda opt, total: make_schedule(schedule, opt, total, min_lr),
                      progress=progress, checkpoint=checkpoint, fingerprint={"min_lr": min_lr}, **kwargs)
    return trainer.fit()
