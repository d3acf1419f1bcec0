"""SURE for mixed Poisson-Gaussian noise (PG-URE) in the measurement domain; derivation in ``docs/losses.md``."""
from __future__ import annotations

from typing import Optional

from ._common import pg_params
from ._sure import SureLoss, optional_nonneg, optional_positive
from .base import LOSSES, LossInputs

__all__ = ["SurePGLoss"]


@LOSSES.register("sure_pg")
class SurePGLoss(SureLoss):
    """For ``y = γ z + σ n``, ``z ~ Poisson(A x / γ)``, ``n ~ N(0, I)`` (variance ``γ A x + σ²``):

        PG-URE = mean((y - h)^2) - γ mean(y) - σ²
                 + 2 mean(b ⊙ (γ y + σ²) ⊙ (h(y + τ b) - h(y))) / τ
                 - mean(b' ⊙ (2 γ σ² + γ² y) ⊙ (h(y + τ' b') + h(y - τ' b') - 2 h)) / τ'^2

    The exact identity (Stein for the Gaussian part, Hudson for the Poisson part, see the docs) is
    ``E[(y_i - μ_i) h_i(y)] = E[y_i (h_i(y) - h_i(y - γ e_i)) + σ² ∂_i h_i(y - γ e_i)]``; its Taylor expansion to
    second order gives the two derivative terms, with a **minus** sign on the curvature term. The curvature probe
    ``b'`` must have ``E b'^3 = 1`` (golden two-point law); a symmetric probe makes the term vanish in expectation.
    ``poisson_second_order=False`` drops the ``γ² y`` part (Le Montagner et al. 2014 keep only ``2 γ σ²``).
    ``gain``/``sigma`` default to those of ``physics.noise`` (a ``PoissonGaussianNoise``). Term ``'sure'``.

    ``tau2=None`` (default) takes the curvature step ``τ' = γ``, the step of Hudson's finite difference the term
    expands: for a ReLU network ``h`` is piecewise linear, each kink the probe crosses adds ``O(1/τ')`` to the
    second difference, and the gradient's Monte-Carlo error grows like ``w/τ'`` (``tau2=1e-2`` at ``γ = 1``
    made it about twice the gradient itself on a small CT problem: ``tests/losses/test_sure_gradient.py``). With
    ``τ' = γ`` that error is ``O(γ y + σ²)``, the size of the first-order weights, at any gain.
    """

    def __init__(self, gain: Optional[float] = None, sigma: Optional[float] = None, tau: float = 1e-2,
                 tau2: Optional[float] = None, probe: str = "gaussian", poisson_second_order: bool = True,
                 weight: float = 1.0):
        super().__init__(tau, probe, weight)
        self.gain = optional_positive(gain, "gain")
        self.sigma = optional_nonneg(sigma, "sigma")
        self.tau2 = optional_positive(tau2, "tau2")
        if not isinstance(poisson_second_order, bool):
            raise TypeError(f"poisson_second_order must be a bool, got {type(poisson_second_order).__name__}")
        self.poisson_second_order = poisson_second_order

    def terms(self, inputs: LossInputs):
        g, s = pg_params(inputs.physics, self.gain, self.sigma, type(self).__name__)
        s2 = s * s
        y = inputs.y
        h0 = self._h0(inputs)
        sure = (y - h0).pow(2).mean() - g * y.mean() - s2 + 2 * self._first_order(inputs, h0, g * y + s2)
        w = 2 * g * s2 + (g * g * y if self.poisson_second_order else 0.0)
        sure = sure - self._second_order(inputs, h0, w, g if self.tau2 is None else self.tau2, self._h)
        return {self.name: self.weight * sure}

    def extra_repr(self):
        return (f"gain={self.gain}, sigma={self.sigma}, tau2={self.tau2}, "
                f"poisson_second_order={self.poisson_second_order}, " + super().extra_repr())
