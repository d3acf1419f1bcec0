"""Data augmentation with re-simulated measurements (imaging paper, Fig. 7a)."""
from __future__ import annotations

from ._common import check_image_like, check_transform, check_weight, mse, remeasure
from .base import LOSSES, Loss, LossInputs

__all__ = ["DALoss"]


@LOSSES.register("da")
class DALoss(Loss):
    """Supervised loss on transformed ground truth: ``x' = T_g x``, ``y' = noise(A x')`` (fresh noise from the
    physics' model), ``weight * mean((f(y', A) - x')^2)``; term ``'da'``.

    Needs ground truth (the trainer must provide ``x``); ``g`` is drawn per image from ``inputs.generator``; the
    measurement is drawn as in the robust EI term (Poisson rates clamped at 0, e.g. after a 'fourier' rotation's
    ringing).
    """

    name = "da"
    needs_ground_truth = True

    def __init__(self, transform, weight: float = 1.0):
        super().__init__()
        self.transform = check_transform(transform)
        self.weight = check_weight(weight)

    def terms(self, inputs: LossInputs):
        x = inputs.ground_truth()
        check_image_like(x, "DALoss")
        params = self.transform.sample(x.shape[0], inputs.generator)
        xg = self.transform.apply(x, params)
        yg = remeasure(inputs.physics, xg, inputs.generator, noisy=True)
        return {self.name: self.weight * mse(inputs.model(yg, inputs.physics), xg)}

    def extra_repr(self):
        return f"transform={self.transform!r}, weight={self.weight}"
