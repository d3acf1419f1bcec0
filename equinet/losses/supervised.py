"""Supervised loss: ``mean ||f(y, A) - x||^2`` (needs ground truth)."""
from __future__ import annotations

from ._common import check_weight, mse
from .base import LOSSES, Loss, LossInputs

__all__ = ["SupervisedLoss"]


@LOSSES.register("supervised")
class SupervisedLoss(Loss):
    """``weight * mean((x1 - x)^2)`` with ``x1 = model(y, physics)``; term ``'sup'``."""

    name = "sup"
    needs_ground_truth = True

    def __init__(self, weight: float = 1.0):
        super().__init__()
        self.weight = check_weight(weight)

    def terms(self, inputs: LossInputs):
        return {self.name: self.weight * mse(inputs.x1, inputs.ground_truth())}

    def extra_repr(self):
        return f"weight={self.weight}"
