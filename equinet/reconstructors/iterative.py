"""What the plug-and-play solvers share: the denoiser and its equivariance, the linear physics, the step size, the
iteration loop with its stopping rule, history and divergence check.

A solver (`equinet.reconstructors.pnp`, `equinet.reconstructors.red`) subclasses `PlugAndPlay` and implements
``start(x0, y, A, step)`` (its state from the first iterate) and ``iterate(state, y, A, step) -> (state, x)`` (one
iteration; ``x`` is the iterate whose residual is tracked and which is returned).

* the physics must be linear (an `equinet.physics.LinearPhysics`, or a deepinv operator seen through
  `equinet.interop.as_physics`): anything else is a TypeError naming what it got;
* the step size is given (a finite number > 0) or ``1/L`` with ``L = ‖A‖²`` the Lipschitz constant of the data
  term's gradient (power iteration on AᵀA, `equinet.physics.LinearPhysics.norm`, computed once per physics object;
  on the images' shape for an operator built without an image size);
* the loop runs ``n_iter`` iterations, or stops earlier once the relative residual ‖x_k − x_{k−1}‖ / ‖x_{k−1}‖
  (the largest over the batch) is at most ``tol``;
* ``model.history`` (a `SolverHistory`) holds the residual of every iteration and, if ``x_true`` is given, the PSNR;
* a diverging run (an iterate that is not finite, or whose norm passes ``max_growth`` × max(‖x₀‖, ‖y‖)) raises a
  `DivergenceError` naming the iteration (``on_divergence='raise'``), or stops and returns the last sound iterate
  (``'stop'``; ``history.diverged_at`` says where).
"""
from __future__ import annotations

import math
import numbers
import weakref
from dataclasses import dataclass, field
from typing import Any, List, Optional

import torch
from torch import nn

from ..metrics import psnr
from ..nn.averaging import RandomlyAveraged
from ..nn.loading import AllOrNothingLoad
from ..physics.base import LinearPhysics
from ..utils.checks import check_nonnegative_float, check_positive_float, check_positive_int
from .denoiser import make_denoiser

__all__ = ["PlugAndPlay", "SolverHistory", "DivergenceError", "linear_physics", "lipschitz", "INITS",
           "ON_DIVERGENCE"]

INITS = ("pinv", "adjoint", "zero")
ON_DIVERGENCE = ("raise", "stop")
#: the most iterations of one solve
MAX_ITERATIONS = 100_000

_LIPSCHITZ: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


class DivergenceError(RuntimeError):
    """A plug-and-play run diverged; ``iteration`` is the first bad iteration, ``history`` the run so far."""

    def __init__(self, message: str, iteration: int, history: "SolverHistory"):
        super().__init__(message)
        self.iteration, self.history = iteration, history


@dataclass
class SolverHistory:
    """One solve: ``residual[k-1]`` = max over the batch of ‖x_k − x_{k−1}‖ / ‖x_{k−1}‖, ``psnr[k-1]`` = the mean
    PSNR (dB) of x_k against the ground truth (empty without one), for the iterations k = 1, 2, … that ran (the
    residual is inf after an iterate x_{k−1} = 0, e.g. the first one from ``init='zero'``).

    >>> h = SolverHistory(step_size=1.0, residual=[0.5, 0.1, 0.01], psnr=[20.0, 24.5, 24.0])
    >>> h.n_iter, h.best_iteration
    (3, 2)
    """

    step_size: float
    residual: List[float] = field(default_factory=list)
    psnr: List[float] = field(default_factory=list)
    converged: bool = False
    diverged_at: Optional[int] = None

    @property
    def n_iter(self) -> int:
        """The iterations that ran to the end (a diverged one is not counted)."""
        return len(self.residual)

    @property
    def best_iteration(self) -> Optional[int]:
        """The iteration of the highest PSNR (None without a ground truth)."""
        return None if not self.psnr else 1 + max(range(len(self.psnr)), key=self.psnr.__getitem__)


def linear_physics(physics, who: str) -> LinearPhysics:
    """``physics`` as an equinet `LinearPhysics` (a deepinv operator through `equinet.interop.as_physics`), or a
    TypeError saying that ``who`` needs a linear operator.

    >>> try:
    ...     linear_physics(lambda x: x ** 2, "PnPPGD")
    ... except TypeError as err:
    ...     print(str(err)[:29], "...", str(err)[-12:])
    PnPPGD needs a linear physics ... got function
    """
    from ..interop.deepinv_physics import as_physics
    A = as_physics(physics)
    if not isinstance(A, LinearPhysics):
        raise TypeError(f"{who} needs a linear physics (an equinet.physics.LinearPhysics with adjoint and pinv, or a "
                        f"deepinv LinearPhysics), got {type(physics).__name__}")
    return A


def lipschitz(physics: LinearPhysics, like: torch.Tensor | None = None) -> float:
    """``‖A‖²``, the Lipschitz constant of ∇½‖Ax − y‖² (power iteration, once per physics object and image shape).

    An operator built without an image size (a blur, denoising) is measured on images shaped like ``like``.

    >>> from equinet.physics import Inpainting
    >>> round(lipschitz(Inpainting(8, drop=0.5, seed=0)), 6)
    1.0
    """
    sized = physics.image_size is not None or type(physics).norm is not LinearPhysics.norm
    if not sized and like is None:
        raise ValueError(f"{type(physics).__name__} has no image_size: give an image (like=...) to measure ‖A‖ on")
    key = None if sized else tuple(like.shape[1:])  # type: ignore[union-attr]
    try:
        cache = _LIPSCHITZ.setdefault(physics, {})
    except TypeError:
        cache = {}
    if key not in cache:
        with torch.no_grad():
            cache[key] = float(physics.norm()) ** 2 if sized else _power_iteration(physics, like)
    return cache[key]


def _power_iteration(A: LinearPhysics, like, n_iter: int = 100, tol: float = 1e-7, seed: int = 0) -> float:
    """λ_max(AᵀA) on one image shaped like ``like[0]``, as `LinearPhysics.norm` does (float64, seeded start)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((1,) + tuple(like.shape[1:]), generator=g, dtype=torch.float64).to(like.device)
    x = x / x.norm()
    lam = 0.0
    for _ in range(n_iter):
        z = A.adjoint(A(x))
        lam_new, nz = float((x * z).sum()), float(z.norm())
        if nz == 0.0:
            return 0.0
        x = z / nz
        done = abs(lam_new - lam) <= tol * abs(lam_new)
        lam = lam_new
        if done:
            break
    return max(lam, 0.0)


def _step_size(value, name: str = "step_size") -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (or None for 1/‖A‖²), got {value!r}")
    return float(value)


def _norms(t: torch.Tensor) -> torch.Tensor:
    return t.detach().reshape(t.shape[0], -1).norm(dim=1)


class PlugAndPlay(AllOrNothingLoad, nn.Module):
    """Base of the plug-and-play solvers (see the module docstring); ``model(y, physics, x_true=None) -> x``.

    Args:
        denoiser: ``D(x, sigma)`` or ``D(x)`` (`equinet.reconstructors.denoiser.BoundDenoiser`).
        sigma: the noise level given to ``D`` (None: ``D(x)``, for denoisers that take none).
        n_iter: the most iterations; tol: stop once the relative residual is at most ``tol`` (0: run all).
        step_size: γ (None: the solver's default from ``L = ‖A‖²``).
        equivariance, group, seed, method: the denoiser's equivariance (`make_denoiser`).
        init: x₀ = A†y ('pinv'), Aᵀy ('adjoint') or 0 ('zero').
        on_divergence: 'raise' a `DivergenceError`, or 'stop' and return the last sound iterate.
        max_growth: an iterate whose norm passes ``max_growth`` × max(‖x₀‖, ‖y‖) has diverged.
    """

    def __init__(self, denoiser, sigma: float | None = None, n_iter: int = 100, tol: float = 0.0,
                 step_size: float | None = None, equivariance: str = "none", group="C4", seed: int = 0,
                 method: str = "fourier", init: str = "pinv", on_divergence: str = "raise",
                 max_growth: float = 1e4):
        super().__init__()
        self.denoiser = make_denoiser(denoiser, sigma, equivariance, group, seed, method)
        self.n_iter = check_positive_int(n_iter, "n_iter")
        if self.n_iter > MAX_ITERATIONS:
            raise ValueError(f"n_iter = {n_iter} is above the supported maximum {MAX_ITERATIONS}")
        self.tol = check_nonnegative_float(tol, "tol")
        self.step_size = _step_size(step_size)
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if on_divergence not in ON_DIVERGENCE:
            raise ValueError(f"on_divergence must be one of {ON_DIVERGENCE}, got {on_divergence!r}")
        self.init, self.on_divergence = init, on_divergence
        self.max_growth = check_positive_float(max_growth, "max_growth")
        self.equivariance = equivariance
        self.history: Optional[SolverHistory] = None

    # ------------------------------------------------------------------------------- the solver's parts
    def default_step(self, L: float) -> float:
        """γ when none is given, from ``L = ‖A‖²`` (1/L)."""
        return 1.0 / max(L, 1e-12)

    def start(self, x0: torch.Tensor, y: torch.Tensor, A: LinearPhysics, step: float) -> Any:
        """The solver's state at x₀ (default: x₀ itself)."""
        return x0

    def iterate(self, state: Any, y: torch.Tensor, A: LinearPhysics, step: float):
        """One iteration: ``(new state, new iterate)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement iterate(state, y, A, step)")

    def denoise(self, x: torch.Tensor) -> torch.Tensor:
        """The (equivariant) denoiser applied to ``x``."""
        out = self.denoiser(x)
        if out.shape != x.shape:
            raise ValueError(f"the denoiser maps an input of shape {tuple(x.shape)} to {tuple(out.shape)}; a "
                             "denoiser must return a tensor of its input's shape")
        return out

    # ---------------------------------------------------------------------------------------- the loop
    def step_for(self, A: LinearPhysics, like: torch.Tensor | None = None) -> float:
        """The step size used with ``A`` (given, or `default_step` of ``‖A‖²``, measured on images like ``like``
        if ``A`` has no image size)."""
        if self.step_size is not None:
            return self.step_size
        L = lipschitz(A, like)
        step = _step_size(self.default_step(L), f"the step size of {type(self).__name__} (from ‖A‖² = {L:.4g})")
        assert step is not None
        return step

    def initial(self, y: torch.Tensor, A: LinearPhysics) -> torch.Tensor:
        if self.init == "pinv":
            return A.pinv(y)
        x = A.adjoint(y)
        return x if self.init == "adjoint" else torch.zeros_like(x)

    def forward(self, y: torch.Tensor, physics, x_true: torch.Tensor | None = None) -> torch.Tensor:
        """Reconstruct from measurements ``y`` of ``physics``; ``x_true`` (optional) adds the PSNR to the history."""
        who = type(self).__name__
        A = linear_physics(physics, who)
        if not isinstance(y, torch.Tensor) or not bool(torch.isfinite(y).all()):
            raise ValueError(f"{who}: the measurements must be a finite tensor")
        x = self.initial(y, A)
        step = self.step_for(A, x)
        for m in self.denoiser.modules():
            if isinstance(m, RandomlyAveraged):
                m.manual_seed()  # every solve draws the same sequence of elements
        if x_true is not None and x_true.shape != x.shape:
            raise ValueError(f"x_true has shape {tuple(x_true.shape)}, the reconstruction {tuple(x.shape)}")
        hist = self.history = SolverHistory(step_size=step)
        limit = self.max_growth * torch.maximum(_norms(x), _norms(y)).clamp_min(1e-12)
        state = self.start(x, y, A, step)
        for k in range(1, self.n_iter + 1):
            state, x_new = self.iterate(state, y, A, step)
            norm_new = _norms(x_new)
            if not bool(torch.isfinite(norm_new).all()) or bool((norm_new > limit).any()):
                hist.diverged_at = k
                bad = "is not finite" if not bool(torch.isfinite(norm_new).all()) else \
                    f"has norm {float(norm_new.max()):.3g}, over {self.max_growth:.3g} × its starting scale"
                msg = (f"{who} diverged at iteration {k}: the iterate {bad} (step size {step:.4g}, "
                       f"equivariance={self.equivariance!r}); lower step_size or use a more stable denoiser")
                if self.on_divergence == "raise":
                    raise DivergenceError(msg, k, hist)
                return x
            prev, delta = _norms(x), _norms(x_new - x)
            res = torch.where(prev > 0, delta / prev.clamp_min(torch.finfo(prev.dtype).tiny),
                              torch.where(delta > 0, math.inf, 0.0))
            hist.residual.append(float(res.max()))
            if x_true is not None:
                hist.psnr.append(float(psnr(x_new.detach(), x_true).mean()))
            x = x_new
            if self.tol > 0 and hist.residual[-1] <= self.tol:
                hist.converged = True
                break
        return x

    def extra_repr(self) -> str:
        step = "1/‖A‖²" if self.step_size is None else f"{self.step_size:g}"
        return (f"n_iter={self.n_iter}, tol={self.tol:g}, step_size={step}, equivariance={self.equivariance!r}, "
                f"init={self.init!r}")
