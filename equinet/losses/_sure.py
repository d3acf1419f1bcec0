"""Shared machinery of the SURE losses: ``h(y) = A f(y, A)`` at perturbed measurements, and Monte-Carlo
estimates of the divergence ``sum_i d_i dh_i/dy_i`` and of ``sum_i w_i d^2 h_i / dy_i^2`` for weights ``d``, ``w``.

* first order: ``E_b[ b ⊙ (h(y + τ b) - h(y)) / τ ] = diag(J_h(y)) + O(τ^2)`` for any probe with independent
  entries, mean 0, variance 1 and zero third moment (Gaussian or Rademacher);
* second order: ``E_b[ b ⊙ (h(y + τ b) + h(y - τ b) - 2 h(y)) / τ^2 ] = (d^2 h_i / dy_i^2)_i + O(τ^2)`` needs
  ``E b^3 = 1`` (``E[b_i b_j b_k]`` is non-zero only for ``i = j = k``); the two-point "golden" law
  ``{φ, 1 - φ}`` with ``P(φ) = (1 - 1/√5)/2`` is the one with mean 0, variance 1, skewness 1 and the smallest
  fourth moment (2). A symmetric probe (Gaussian, Rademacher) gives 0 in expectation: the term would vanish.
"""
from __future__ import annotations

from typing import Optional

import torch

from ..utils.checks import check_positive_float
from ._common import check_image_like, check_probe, check_weight, draw_probe
from .base import Loss, LossInputs


class SureLoss(Loss):
    """Base of the SURE losses (term ``'sure'``): an unbiased estimate of the measurement-domain risk
    ``mean((A f(y) - A x)^2)`` computed from ``y`` alone."""

    name = "sure"

    def __init__(self, tau: float = 1e-2, probe: str = "gaussian", weight: float = 1.0):
        super().__init__()
        self.tau = check_positive_float(tau, "tau")
        self.probe = check_probe(probe)
        self.weight = check_weight(weight)

    def _h(self, inputs: LossInputs, y: torch.Tensor) -> torch.Tensor:
        return inputs.physics(inputs.model(y, inputs.physics))

    def _h0(self, inputs: LossInputs) -> torch.Tensor:
        check_image_like(inputs.x1, type(self).__name__)
        h0 = inputs.physics(inputs.x1)
        if h0.shape != inputs.y.shape:
            raise ValueError(f"{type(self).__name__}: A x1 has shape {tuple(h0.shape)} but y has "
                             f"{tuple(inputs.y.shape)}")
        return h0

    def _first_order(self, inputs: LossInputs, h0: torch.Tensor, d: "torch.Tensor | float") -> torch.Tensor:
        """Monte-Carlo ``mean(d ⊙ diag J_h(y))``."""
        b = draw_probe(inputs.y, inputs.generator, self.probe)
        h1 = self._h(inputs, inputs.y + self.tau * b)
        return (d * b * (h1 - h0)).mean() / self.tau

    @staticmethod
    def _second_order(inputs: LossInputs, h0: torch.Tensor, w: torch.Tensor, tau: float, h_fn) -> torch.Tensor:
        """Monte-Carlo ``mean(w ⊙ (d^2 h_i / dy_i^2)_i)`` with the golden probe and central differences."""
        b = draw_probe(inputs.y, inputs.generator, "golden")
        hp = h_fn(inputs, inputs.y + tau * b)
        hm = h_fn(inputs, inputs.y - tau * b)
        return (w * b * (hp + hm - 2 * h0)).mean() / tau ** 2

    def extra_repr(self):
        return f"tau={self.tau}, probe={self.probe!r}, weight={self.weight}"


def optional_positive(value, name: str) -> Optional[float]:
    return None if value is None else check_positive_float(value, name)


def optional_nonneg(value, name: str) -> Optional[float]:
    return None if value is None else check_weight(value, name)
