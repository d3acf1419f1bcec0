"""SURE for Gaussian noise (Stein 1981) in the measurement domain, with a Monte-Carlo divergence (Ramani et al.
2008)."""
from __future__ import annotations

from typing import Optional

from ._common import gaussian_sigma
from ._sure import SureLoss, optional_nonneg
from .base import LOSSES, LossInputs

__all__ = ["SureGaussianLoss"]


@LOSSES.register("sure_gaussian")
class SureGaussianLoss(SureLoss):
    """For ``y = A x + σ n``, ``n ~ N(0, I)``, with ``h(y) = A f(y, A)`` and ``m`` the number of entries:

        SURE = mean((y - h(y))^2) - σ² + 2 σ² mean(b ⊙ (h(y + τ b) - h(y))) / τ

    whose expectation over the noise (and the probe ``b``) is ``E mean((h(y) - A x)^2)`` up to ``O(τ²)``.
    ``sigma=None`` reads σ from ``physics.noise`` (a ``GaussianNoise``). Term ``'sure'``.
    """

    def __init__(self, sigma: Optional[float] = None, tau: float = 1e-2, probe: str = "gaussian",
                 weight: float = 1.0):
        super().__init__(tau, probe, weight)
        self.sigma = optional_nonneg(sigma, "sigma")

    def terms(self, inputs: LossInputs):
        s2 = gaussian_sigma(inputs.physics, self.sigma, type(self).__name__) ** 2
        h0 = self._h0(inputs)
        sure = (inputs.y - h0).pow(2).mean() - s2 + 2 * s2 * self._first_order(inputs, h0, 1.0)
        return {self.name: self.weight * sure}

    def extra_repr(self):
        return f"sigma={self.sigma}, " + super().extra_repr()
