"""Unrolled proximal gradient descent with learned proximal networks (eq. 4 and 6 of the imaging paper).

* ``mode='pgd'``:      u_k = prox_k(u_{k-1} - τ_k ∇E(u_{k-1})), learnable step sizes τ_k > 0;
* ``mode='general'``:  [u_k, s_k] = f_k([u_{k-1}, ∇E(u_{k-1}), s_{k-1}]), the proximal network sees u and ∇E as
  separate channels together with ``memory`` channels s (Celledoni et al. 2021: 8 iterations, 5 memory channels,
  u_0 = 0).

E(u) = ½‖Au − y‖² comes from the physics operator passed at call time, ``model(y, physics)``
(``physics.grad_data_fidelity``): the operator is data, not part of the model, so it is not a submodule and none
of its buffers (masks, matrices) end up in the model's state dict. The proximal networks can be
tied (one network shared by all iterations) or untied (one per iteration). If the physics commutes with a group
action (A T_g = S_g A with S_g orthogonal, e.g. denoising, or a Radon transform whose angles are closed under
90° turns) and the proximal networks are equivariant, the whole reconstruction map is equivariant.
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.loading import AllOrNothingLoad
from ..utils.checks import check_positive_float, check_positive_int
from .base import RECONSTRUCTORS

INITS = ("zero", "pinv", "adjoint")
MODES = ("pgd", "general")


def _channels_of(net: nn.Module, attr: str) -> int | None:
    t = getattr(net, attr, None)
    return None if t is None else int(t.size)


#: the most unrolled iterations (each holds its activations for back-propagation)
MAX_ITERATIONS = 1000


@RECONSTRUCTORS.register("unrolled_pgd")
class UnrolledPGD(AllOrNothingLoad, nn.Module):
    """Unrolled PGD reconstruction network ``y -> u_K``.

    Args:
        physics: a `equinet.physics.LinearPhysics` used only to estimate the initial step size 1/‖A‖²
            (may be ``None`` when ``step_size`` is given). It is not stored as a submodule: call the model as
            ``model(y, physics)``.
        prox: a proximal network (tied, or copied ``n_iter`` times when ``tied=False``), a list of ``n_iter``
            networks, or a callable ``k -> network``.
        n_iter: number of unrolled iterations.
        mode: 'pgd' or 'general' (see the module docstring).
        memory: memory channels for ``mode='general'``.
        image_channels: channels of u (1 for real images, 2 for complex MRI images).
        step_size: initial τ (default 1/‖A‖², from power iteration); ``learn_step`` makes τ_k learnable.
        init: u_0 = 0 ('zero'), A†y ('pinv') or Aᵀy ('adjoint').
    """

    def __init__(self, physics, prox, n_iter: int = 8, mode: str = "pgd", tied: bool = False, memory: int = 0,
                 image_channels: int = 1, step_size: float | None = None, learn_step: bool = True,
                 init: str = "zero"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        n_iter = check_positive_int(n_iter, "n_iter")
        if n_iter > MAX_ITERATIONS:
            raise ValueError(f"n_iter = {n_iter} is above the supported maximum {MAX_ITERATIONS}")
        image_channels = check_positive_int(image_channels, "image_channels")
        if isinstance(memory, bool) or not isinstance(memory, int) or memory < 0 or (memory and mode != "general"):
            raise ValueError("memory channels need mode='general' and memory >= 0")
        self.n_iter, self.mode, self.memory = n_iter, mode, int(memory)
        self.image_channels, self.init = int(image_channels), init
        if isinstance(prox, nn.Module):
            nets = [prox] if tied else [prox] + [copy.deepcopy(prox) for _ in range(n_iter - 1)]
        elif isinstance(prox, Sequence):
            nets = list(prox)
            if len(nets) != n_iter:
                raise ValueError(f"got {len(nets)} proximal networks for {n_iter} iterations")
        elif callable(prox):
            nets = [prox(k) for k in range(1 if tied else n_iter)]
        else:
            raise TypeError(f"prox must be a module, a list of modules or a factory, got {type(prox).__name__}")
        self.tied = len(nets) == 1
        self.prox = nn.ModuleList(nets)
        c_in, c_out = self.expected_prox_channels
        for k, net in enumerate(self.prox):
            ci, co = _channels_of(net, "in_type"), _channels_of(net, "out_type")
            if (ci is not None and ci != c_in) or (co is not None and co != c_out):
                raise ValueError(
                    f"proximal network {k} maps {ci} -> {co} channels, but {mode} iterations with "
                    f"{self.image_channels} image channels and {self.memory} memory channels need {c_in} -> {c_out}")
        if step_size is None:
            if physics is None:
                raise ValueError("UnrolledPGD needs a physics operator (for the step size 1/‖A‖²) or a step_size")
            from ..interop.deepinv_physics import as_physics
            physics = as_physics(physics)
            with torch.no_grad():
                L = float(physics.norm()) ** 2 if hasattr(physics, "norm") else 1.0
            step_size = 1.0 / max(L, 1e-12)
        step_size = check_positive_float(step_size, "step_size")
        # τ_k = softplus(ρ_k) > 0
        rho = math.log(math.expm1(step_size)) if step_size < 20 else step_size
        self.step_param = nn.Parameter(torch.full((n_iter,), rho), requires_grad=learn_step)

    @classmethod
    def from_backbone(cls, build_backbone, physics, channels: int, n_iter: int = 8, tied: bool = False,
                      learn_step: bool = True, init: str = "zero") -> "UnrolledPGD":
        """The configured model: ``build_backbone(residual=True)`` as the proximal network of ``n_iter`` PGD steps
        on ``channels``-channel images (the configuration's ``[model]`` options are this method's keywords)."""
        return cls(physics, build_backbone(residual=True), n_iter=n_iter, tied=tied, learn_step=learn_step,
                   image_channels=channels, init=init)

    @property
    def expected_prox_channels(self) -> tuple[int, int]:
        c = self.image_channels
        return (c, c) if self.mode == "pgd" else (2 * c + self.memory, c + self.memory)

    @property
    def step_sizes(self) -> torch.Tensor:
        return F.softplus(self.step_param)

    def initial(self, y: torch.Tensor, physics) -> torch.Tensor:
        if self.init == "pinv":
            return physics.pinv(y)
        if self.init == "adjoint":
            return physics.adjoint(y)
        return torch.zeros_like(physics.adjoint(y))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for key in [k for k in state_dict if k.startswith(prefix + "physics.")]:
            del state_dict[key]  # checkpoints from before the physics left the module: its buffers are not weights
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, y: torch.Tensor, physics, return_iterates: bool = False):
        """Reconstruct from measurements ``y`` of the operator ``physics``."""
        from ..interop.deepinv_physics import as_physics  # a deepinv operator, seen as an equinet one
        A = as_physics(physics)
        if not callable(getattr(A, "grad_data_fidelity", None)):
            raise TypeError(f"UnrolledPGD needs the physics at call time, model(y, physics), with "
                            f"grad_data_fidelity (an equinet.physics.LinearPhysics; a deepinv operator through "
                            f"equinet.interop.from_deepinv(physics)); got {type(A).__name__}")
        if not bool(torch.isfinite(y).all()):
            raise ValueError("measurements contain NaN or inf")
        u = self.initial(y, A)
        if u.shape[1] != self.image_channels:
            raise ValueError(f"the physics produces images with {u.shape[1]} channels, but the network was built "
                             f"for image_channels={self.image_channels}")
        s = u.new_zeros(u.shape[0], self.memory, *u.shape[2:]) if self.memory else None
        taus = self.step_sizes
        iterates = []
        for k in range(self.n_iter):
            net = self.prox[0 if self.tied else k]
            grad = A.grad_data_fidelity(u, y)
            if self.mode == "pgd":
                u = net(u - taus[k] * grad)
            else:
                z = torch.cat([u, taus[k] * grad] + ([s] if s is not None else []), dim=1)
                out = net(z)
                u = out[:, :self.image_channels]
                s = out[:, self.image_channels:] if self.memory else None
            if return_iterates:
                iterates.append(u)
        return (u, iterates) if return_iterates else u
