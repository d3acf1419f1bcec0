"""SURE for Poisson noise (PURE; Hudson 1978, Le Montagner et al. 2014) in the measurement domain."""
from __future__ import annotations

from typing import Optional

from ._common import poisson_gain
from ._sure import SureLoss, optional_positive
from .base import LOSSES, LossInputs

__all__ = ["SurePoissonLoss"]


@LOSSES.register("sure_poisson")
class SurePoissonLoss(SureLoss):
    """For ``y = γ z``, ``z ~ Poisson(A x / γ)`` (gain ``γ``: mean ``A x``, variance ``γ A x``):

        PURE = mean((y - h)^2) - γ mean(y) + 2 γ mean(b ⊙ y ⊙ (h(y + τ b) - h(y))) / τ
               [ - γ² mean(b' ⊙ y ⊙ (h(y + τ' b') + h(y - τ' b') - 2 h)) / τ'^2   if second_order ]

    from Hudson's identity ``E[μ_i h_i(y)] = E[y_i h_i(y - γ e_i)]`` and a Taylor expansion of
    ``h_i(y) - h_i(y - γ e_i)``: first order (default, as in PURE) leaves a bias ``O(γ²)``; ``second_order=True``
    adds the ``-γ²/2`` curvature term (probe ``b'`` golden, see ``_sure``) and leaves ``O(γ³)``.
    ``gain=None`` reads γ from ``physics.noise`` (a ``PoissonNoise``). ``tau2=None``: curvature step ``τ' = γ``
    (see `SurePGLoss`: a smaller step makes the gradient noisy for piecewise-linear networks). Term ``'sure'``.
    """

    def __init__(self, gain: Optional[float] = None, tau: float = 1e-2, probe: str = "gaussian",
                 second_order: bool = False, tau2: Optional[float] = None, weight: float = 1.0):
        super().__init__(tau, probe, weight)
        self.gain = optional_positive(gain, "gain")
        if not isinstance(second_order, bool):
            raise TypeError(f"second_order must be a bool, got {type(second_order).__name__}")
        self.second_order = second_order
        self.tau2 = optional_positive(tau2, "tau2")

    def terms(self, inputs: LossInputs):
        g = poisson_gain(inputs.physics, self.gain, type(self).__name__)
        y = inputs.y
        h0 = self._h0(inputs)
        sure = (y - h0).pow(2).mean() - g * y.mean() + 2 * g * self._first_order(inputs, h0, y)
        if self.second_order:
            sure = sure - self._second_order(inputs, h0, g * g * y, g if self.tau2 is None else self.tau2, self._h)
        return {self.name: self.weight * sure}

    def extra_repr(self):
        return f"gain={self.gain}, second_order={self.second_order}, tau2={self.tau2}, " + super().extra_repr()
