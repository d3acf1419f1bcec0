"""EI-regularised supervised learning (EI_sup in Table 1 of the EI paper)."""
from __future__ import annotations

from ._common import check_transform, check_weight, mse
from .base import LOSSES, Loss, LossInputs
from .ei import ei_term

__all__ = ["EISupLoss"]


@LOSSES.register("ei_sup")
class EISupLoss(Loss):
    """EI paper eq. 6 with the data-consistency term replaced by the supervised one (Sec. 4.1):
    terms ``'sup' = weight_sup * mean((x1 - x)^2)`` and ``'ei' = weight * mean((x3 - x2)^2)``.

    The EI term is computed from ``y`` and the physics only, exactly as in `EILoss`.
    """

    name = "ei_sup"
    needs_ground_truth = True

    def __init__(self, transform, weight: float = 1.0, weight_sup: float = 1.0, noise: bool = False):
        super().__init__()
        self.transform = check_transform(transform)
        self.weight = check_weight(weight)
        self.weight_sup = check_weight(weight_sup, "weight_sup")
        if not isinstance(noise, bool):
            raise TypeError(f"noise must be a bool, got {type(noise).__name__}")
        self.noise = noise

    def terms(self, inputs: LossInputs):
        x2, x3 = ei_term(inputs.without_ground_truth(), self.transform, self.noise)
        return {"sup": self.weight_sup * mse(inputs.x1, inputs.ground_truth()), "ei": self.weight * mse(x3, x2)}

    def extra_repr(self):
        return f"transform={self.transform!r}, weight={self.weight}, weight_sup={self.weight_sup}, noise={self.noise}"
