"""Measurement consistency (eq. 15 of the imaging paper; eq. 2 and the first term of eq. 6 of the EI paper)."""
from __future__ import annotations

from ._common import check_weight, mse
from .base import LOSSES, Loss, LossInputs

__all__ = ["MCLoss"]


@LOSSES.register("mc")
class MCLoss(Loss):
    """``weight * mean((A f(y) - y)^2)`` over the batch and all measurement entries; term ``'mc'``.

    It sees only ``y`` and the physics: zero for any measurement-consistent ``f`` (e.g. ``A^+ y`` with an exact
    pseudo-inverse), which is why it cannot learn the nullspace on its own (Proposition 1 of the EI paper).
    """

    name = "mc"

    def __init__(self, weight: float = 1.0):
        super().__init__()
        self.weight = check_weight(weight)

    def terms(self, inputs: LossInputs):
        return {self.name: self.weight * mse(inputs.physics(inputs.x1), inputs.y)}

    def extra_repr(self):
        return f"weight={self.weight}"
