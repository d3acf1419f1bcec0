"""Plug-and-play solvers: a denoiser in place of the proximal operator of a regulariser.

* `PnPPGD` (``'pnp_pgd'``): proximal gradient descent, x ← D(x − γ Aᵀ(Ax − y));
* `PnPADMM` (``'pnp_admm'``): ADMM with the data term's proximal operator,
  x ← prox_{γf}(z − u), z ← D(x + u), u ← u + x − z, returning z (the denoised iterate).

prox_{γf}(v) = argmin ½‖Ax − y‖² + ‖x − v‖²/(2γ) is the physics' own ``prox_data_fidelity(v, y, gamma)`` if it
has one, otherwise conjugate gradients on (AᵀA + I/γ) x = Aᵀy + v/γ (`data_prox`).
Both take any denoiser ``D(x, sigma)`` or ``D(x)`` with the equivariance options of
`equinet.reconstructors.denoiser.make_denoiser`, and every option of `equinet.reconstructors.iterative.PlugAndPlay`
(iterations, tolerance, step size, history, divergence).

>>> import torch
>>> from equinet.physics import Inpainting
>>> A = Inpainting(16, drop=0.5, seed=0)
>>> x = torch.rand(1, 1, 16, 16)
>>> model = PnPPGD(lambda u: 0.9 * u, n_iter=200, tol=1e-8)
>>> x_hat = model(A(x), A, x_true=x)
>>> model.history.converged, len(model.history.residual) < 200
(True, True)
"""
from __future__ import annotations

import torch

from ..physics.base import LinearPhysics
from ..utils.checks import check_positive_float, check_positive_int
from .base import RECONSTRUCTORS
from .iterative import PlugAndPlay

__all__ = ["PnPPGD", "PnPADMM", "data_prox"]


def data_prox(A: LinearPhysics, v: torch.Tensor, y: torch.Tensor, gamma: float, n_iter: int = 50,
              tol: float = 1e-7) -> torch.Tensor:
    """prox_{γf}(v) for f(x) = ½‖Ax − y‖²: the physics' ``prox_data_fidelity(v, y, gamma)`` if it has one, else
    conjugate gradients on (AᵀA + I/γ) x = Aᵀy + v/γ from ``v`` (``n_iter`` steps at most, or until the residual is
    ``tol`` times the right-hand side's norm, per batch element).

    >>> import torch
    >>> from equinet.physics import Denoising
    >>> v, y = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    >>> data_prox(Denoising(), v, y, gamma=1.0).flatten().tolist()  # (y + v) / 2
    [0.5, 0.5, 0.5, 0.5]
    """
    own = getattr(A, "prox_data_fidelity", None)
    if callable(own):
        return own(v, y, gamma)
    inv = 1.0 / gamma
    b = A.adjoint(y) + inv * v
    dims = tuple(range(1, v.dim()))

    def op(u):
        return A.adjoint(A(u)) + inv * u

    x = v
    r = b - op(x)
    p = r
    rs = (r * r).sum(dim=dims, keepdim=True)
    stop = (tol ** 2) * (b * b).sum(dim=dims, keepdim=True)
    tiny = torch.finfo(rs.dtype).tiny
    for _ in range(n_iter):
        if bool((rs <= stop).all()):
            break
        q = op(p)
        alpha = rs / (p * q).sum(dim=dims, keepdim=True).clamp_min(tiny)
        x = x + alpha * p
        r = r - alpha * q
        rs_new = (r * r).sum(dim=dims, keepdim=True)
        p = r + (rs_new / rs.clamp_min(tiny)) * p
        rs = rs_new
    return x


@RECONSTRUCTORS.register("pnp_pgd")
class PnPPGD(PlugAndPlay):
    """Plug-and-play proximal gradient descent: x_{k+1} = D(x_k − γ Aᵀ(Ax_k − y)), γ = 1/‖A‖² by default.

    With D the identity this is gradient descent on ½‖Ax − y‖²; with D(x) = c·x (0 < c < 1) its fixed point is
    ((1 − c) I + cγ AᵀA)⁻¹ cγ Aᵀy. Arguments: `equinet.reconstructors.iterative.PlugAndPlay`.
    """

    def iterate(self, state, y, A, step):
        x = self.denoise(state - step * A.grad_data_fidelity(state, y))
        return x, x

    @classmethod
    def from_backbone(cls, build_backbone, physics, channels: int, n_iter: int = 20, tol: float = 0.0,
                      step_size: float | None = None, equivariance: str = "none", group: str = "C4", seed: int = 0,
                      init: str = "pinv") -> "PnPPGD":
        """The configured model: ``build_backbone(residual=True)`` as the denoiser ``D(x)`` (the configuration's
        ``[model]`` options are this method's keywords)."""
        return cls(build_backbone(residual=True), n_iter=n_iter, tol=tol, step_size=step_size,
                   equivariance=equivariance, group=group, seed=seed, init=init)


@RECONSTRUCTORS.register("pnp_admm")
class PnPADMM(PlugAndPlay):
    """Plug-and-play ADMM: x ← prox_{γf}(z − u), z ← D(x + u), u ← u + x − z (z₀ = x₀, u₀ = 0), returning z.

    ``step_size`` is the penalty γ of the data term's proximal operator (default 1/‖A‖²); ``cg_iter`` and
    ``cg_tol`` bound the conjugate gradients of `data_prox`. With D(x) = c·x (0 < c < 1) the fixed point is
    (AᵀA + (1 − c)/(cγ) I)⁻¹ Aᵀy. Other arguments: `equinet.reconstructors.iterative.PlugAndPlay`.

    >>> import torch
    >>> from equinet.physics import Denoising
    >>> y = torch.ones(1, 1, 4, 4)
    >>> model = PnPADMM(lambda u: 0.5 * u, step_size=1.0, n_iter=200, tol=1e-12)
    >>> round(float(model(y, Denoising()).mean()), 6)  # (1 + (1 − 0.5)/(0.5·1))⁻¹ · 1
    0.5
    """

    def __init__(self, denoiser, *args, cg_iter: int = 50, cg_tol: float = 1e-7, **kwargs):
        super().__init__(denoiser, *args, **kwargs)
        self.cg_iter = check_positive_int(cg_iter, "cg_iter")
        self.cg_tol = check_positive_float(cg_tol, "cg_tol")

    def start(self, x0, y, A, step):
        return x0, torch.zeros_like(x0)

    def iterate(self, state, y, A, step):
        z, u = state
        x = data_prox(A, z - u, y, step, self.cg_iter, self.cg_tol)
        z = self.denoise(x + u)
        return (z, u + x - z), z

    @classmethod
    def from_backbone(cls, build_backbone, physics, channels: int, n_iter: int = 20, tol: float = 0.0,
                      step_size: float | None = None, equivariance: str = "none", group: str = "C4", seed: int = 0,
                      init: str = "pinv", cg_iter: int = 50) -> "PnPADMM":
        """The configured model: ``build_backbone(residual=True)`` as the denoiser ``D(x)`` (the configuration's
        ``[model]`` options are this method's keywords)."""
        return cls(build_backbone(residual=True), n_iter=n_iter, tol=tol, step_size=step_size,
                   equivariance=equivariance, group=group, seed=seed, init=init, cg_iter=cg_iter)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", cg_iter={self.cg_iter}"
