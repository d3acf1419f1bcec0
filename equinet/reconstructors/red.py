"""Regularisation by denoising (RED, Romano, Elad & Milanfar 2017), solved by gradient descent:
x_{k+1} = x_k − γ (Aᵀ(Ax_k − y) + λ (x_k − D(x_k))).

For a denoiser with a symmetric Jacobian the bracket is the gradient of ½‖Ax − y‖² + λ/2 ⟨x, x − D(x)⟩; the default
step is γ = 1/(‖A‖² + λ). With D(x) = c·x the fixed point is (AᵀA + λ(1 − c) I)⁻¹ Aᵀy.

>>> import torch
>>> from equinet.physics import Denoising
>>> A, y = Denoising(), torch.ones(1, 1, 4, 4)
>>> model = RED(lambda x: 0.5 * x, lam=1.0, n_iter=500, tol=1e-10)
>>> round(float(model(y, A).mean()), 6)  # (1 + 1·(1 − 0.5))⁻¹ · 1
0.666667
"""
from __future__ import annotations

from ..utils.checks import check_positive_float
from .base import RECONSTRUCTORS
from .iterative import PlugAndPlay

__all__ = ["RED"]


@RECONSTRUCTORS.register("red")
class RED(PlugAndPlay):
    """RED gradient descent; ``lam`` (λ > 0) weighs the denoiser's residual x − D(x). Other arguments:
    `equinet.reconstructors.iterative.PlugAndPlay` (the default step is 1/(‖A‖² + λ))."""

    def __init__(self, denoiser, *args, lam: float = 1.0, **kwargs):
        super().__init__(denoiser, *args, **kwargs)
        self.lam = check_positive_float(lam, "lam")

    def default_step(self, L: float) -> float:
        return 1.0 / max(L + self.lam, 1e-12)

    def iterate(self, state, y, A, step):
        x = state - step * (A.grad_data_fidelity(state, y) + self.lam * (state - self.denoise(state)))
        return x, x

    @classmethod
    def from_backbone(cls, build_backbone, physics, channels: int, n_iter: int = 20, tol: float = 0.0,
                      step_size: float | None = None, lam: float = 1.0, equivariance: str = "none",
                      group: str = "C4", seed: int = 0, init: str = "pinv") -> "RED":
        """The configured model: ``build_backbone(residual=True)`` as the denoiser ``D(x)`` (the configuration's
        ``[model]`` options are this method's keywords)."""
        return cls(build_backbone(residual=True), n_iter=n_iter, tol=tol, step_size=step_size, lam=lam,
                   equivariance=equivariance, group=group, seed=seed, init=init)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", lam={self.lam:g}"
