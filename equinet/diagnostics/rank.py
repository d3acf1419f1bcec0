"""The rank condition of equivariant imaging: rank M = n for M = [A T_1; …; A T_|G|] (eq. 18 of the imaging paper,
Theorem 1 of the EI paper).

Two routes, one convention: the rank is the number of singular values of M above ``rtol · σ_max(M)``.

* ``"exact"`` (small n): MᵀM = Σ_g (A T_g)ᵀ(A T_g) is assembled in float64 by applying every A T_g to the n basis
  images, and its eigenvalues σ² are computed. The Gram's eigenvalues carry an absolute error ~n·eps·σ_max², so
  singular values below ~5e-7·σ_max are not resolved; on the operators of ``equinet.physics`` at 32² the singular
  values fall into two clusters, ≥ 1e-5·σ_max and at that noise floor (measured in ``docs/identifiability.md``):
  the default ``rtol = 1e-5`` sits in the gap.
* ``"probe"`` (realistic n, matrix-free): stochastic Lanczos quadrature on MᵀM. Products MᵀM v = ∇_v ½Σ_g‖A T_g v‖²
  need only forward evaluations and one backward pass (vector-Jacobian products), so any differentiable linear
  operator and any differentiable transformation can be probed. For each Rademacher probe z, ``steps`` Lanczos
  steps (full reorthogonalisation) give Ritz values θ_j with weights s_j²; the nullity is estimated as
  n·Σ_{θ_j ≤ τ} s_j² averaged over the probes (Hutchinson estimate of the trace of the spectral projector
  below τ = rtol²·λ_max), with its standard error. A vector in N(M) is an exact eigenvector, so a nullspace is
  detected with certainty (each probe sees a χ² share of it); the count carries the Monte-Carlo error.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Optional

import scipy.linalg
import torch

from ..physics.base import as_image_size
from ._actions import as_actions

__all__ = ["RankResult", "rank_condition", "support_mask", "DEFAULT_RTOL", "DEFAULT_PROBE_RTOL"]

#: relative singular-value tolerance of the exact route (see the module docstring)
DEFAULT_RTOL = 1e-5
#: relative singular-value tolerance of the probing route: Lanczos resolves the low end of the spectrum to about
#: this level within the default number of steps for the operators of equinet.physics
#: (measured: docs/identifiability.md)
DEFAULT_PROBE_RTOL = 1e-2
EXACT_MAX_N = 4096


@dataclass
class RankResult:
    """Ranks of A and of M = [A T_1; …; A T_|G|], with the numbers behind them."""

    method: str
    n: int                      # image dimension C·H·W
    m: int                      # measurement entries per image (including structurally zero ones)
    n_transforms: int
    rank_A: float
    rank_M: float
    rtol: float
    rank_A_stderr: float = 0.0  # Monte-Carlo standard error (probe route; 0 for exact)
    rank_M_stderr: float = 0.0
    sigma_max: float = float("nan")
    gap_A: tuple = (float("nan"), float("nan"))  # (largest σ/σ_max below rtol, smallest above) — exact route
    gap_M: tuple = (float("nan"), float("nan"))
    details: dict = field(default_factory=dict)

    @property
    def nullity_A(self) -> float:
        return self.n - self.rank_A

    @property
    def nullity_M(self) -> float:
        return self.n - self.rank_M

    @property
    def full_rank(self) -> bool:
        """rank M = n (probe route: no nullspace detected, i.e. the estimated nullity is below 0.5)."""
        return self.nullity_M < 0.5

    @property
    def gain(self) -> float:
        """rank M − rank A: the dimensions of N(A) that the transformations expose."""
        return self.rank_M - self.rank_A

    def __str__(self):
        pm = (lambda s: f" ± {s:.1f}" if s else "")
        return (f"rank A = {self.rank_A:.0f}{pm(self.rank_A_stderr)}, "
                f"rank M = {self.rank_M:.0f}{pm(self.rank_M_stderr)}"
                f" of n = {self.n} ({self.method}, |G| = {self.n_transforms}, rtol {self.rtol:g})")


def _shape(physics, image_size):
    size = image_size if image_size is not None else getattr(physics, "image_size", None)
    if size is None:
        raise ValueError(f"{type(physics).__name__} has no image_size: pass image_size=(H, W)")
    h, w = as_image_size(size)
    return (getattr(physics, "channels", None) or 1, h, w)


def support_mask(support, image_size) -> Optional[torch.Tensor]:
    """The pixels the signals may occupy, as a bool mask [H, W] (None: all of them).

    ``support``: None or ``"all"`` (every pixel), ``"disk"`` (pixels whose centres lie in the disk through the outermost
    pixel centres of the shorter side, centred on the image centre — the rotation centre of ``equinet.groups.act``
    and ``equinet.transforms``; the
    support of ellipse phantoms and of what parallel-beam CT sees), or a bool tensor/array of shape (H, W).
    Restricting the rank condition to this subspace asks the right question when the signal model lives there:
    rotations by off-grid angles move corner pixels out of the field of view, so on the full grid those directions
    can never be exposed, whatever the operator."""
    h, w = image_size
    if support is None or (isinstance(support, str) and support == "all"):
        return None
    if isinstance(support, str):
        if support != "disk":
            raise ValueError(f"support must be None, 'all', 'disk' or a bool mask of shape ({h}, {w}), got {support!r}")
        yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64) - (h - 1) / 2,
                                torch.arange(w, dtype=torch.float64) - (w - 1) / 2, indexing="ij")
        return yy ** 2 + xx ** 2 <= ((min(h, w) - 1) / 2) ** 2
    mask = torch.as_tensor(support)
    if mask.dtype != torch.bool or tuple(mask.shape) != (h, w):
        raise ValueError(f"a support mask must be a bool tensor of shape ({h}, {w}) (the image size), got "
                         f"dtype {mask.dtype} and shape {tuple(mask.shape)}")
    if not bool(mask.any()):
        raise ValueError("the support mask selects no pixel")
    return mask


def _flat_support(mask, shape) -> Optional[torch.Tensor]:
    """The support mask over the flattened unknowns (C·H·W), or None for all."""
    return None if mask is None else mask.expand(*shape).reshape(-1)


def _support_indices(mask, shape) -> Optional[torch.Tensor]:
    """Flat indices (over C·H·W) of the unknowns inside the support, or None for all."""
    flat = _flat_support(mask, shape)
    return None if flat is None else torch.nonzero(flat, as_tuple=False).flatten()


def _check_rtol(rtol):
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or not 0 < float(rtol) < 1:
        raise ValueError(f"rtol must be a number in (0, 1), got {rtol!r}")
    return float(rtol)


def _apply(physics, action, x):
    y = physics(action(x)) if action is not None else physics(x)
    return y.reshape(x.shape[0], -1)


@torch.no_grad()
def _images_of_basis(physics, action, shape, index=None, chunk=1024):
    """(A T)ᵀ in float64 [k, m'] from the images of the basis vectors (all n, or those at the flat ``index``);
    measurement entries that are zero for every basis vector (unsampled k-space, dropped pixels) are removed."""
    n = math.prod(shape)
    index = torch.arange(n) if index is None else index
    k = int(index.numel())
    rows = []
    for j0 in range(0, k, chunk):
        j1 = min(k, j0 + chunk)
        E = torch.zeros(j1 - j0, n, dtype=torch.float64)
        E[torch.arange(j1 - j0), index[j0:j1]] = 1.0
        rows.append(_apply(physics, action, E.reshape(j1 - j0, *shape)))
    Y = torch.cat(rows)
    return Y[:, Y.abs().amax(0) > 0], Y.shape[1]


def _rank_from_sv(sig: torch.Tensor, rtol: float):
    smax = float(sig.max()) if sig.numel() else 0.0
    if smax == 0.0:
        return 0, smax, (0.0, float("nan"))
    rel = sig / smax
    keep = rel > rtol
    r = int(keep.sum())
    below = float(rel[~keep].max()) if r < rel.numel() else float("nan")
    above = float(rel[keep].min()) if r else float("nan")
    return r, smax, (below, above)


def _exact(physics, actions, shape, rtol, index=None):
    n = math.prod(shape) if index is None else int(index.numel())
    YA, m = _images_of_basis(physics, None, shape, index)
    GM = torch.zeros(n, n, dtype=torch.float64)
    for a in actions:
        Y = _images_of_basis(physics, a, shape, index)[0]
        GM += Y @ Y.T
    sv = []
    for G in (YA @ YA.T, GM):  # divide-and-conquer symmetric eigensolver (fast) on the Gram matrices
        lam = torch.from_numpy(scipy.linalg.eigvalsh(G.numpy(), driver="evd"))
        sv.append(lam.clamp_min(0).sqrt().flip(0))
    svA, svM = sv
    rA, _, gapA = _rank_from_sv(svA, rtol)
    rM, smax, gapM = _rank_from_sv(svM, rtol)
    return RankResult("exact", n, m, len(actions), float(rA), float(rM), rtol, sigma_max=smax, gap_A=gapA,
                      gap_M=gapM, details={"sv_M": svM, "sv_A": svA, "image_size": shape[1:]})


def _normal_product(physics, actions, shape, mask=None):
    """v [p, *shape] -> MᵀM v through one backward pass of ½Σ_g‖A T_g v‖² (each probe independently); with a
    support ``mask`` (bool, broadcastable to ``shape``) the operator is PᵀMᵀMP, P the embedding of the support."""
    def op(v):
        with torch.enable_grad():
            v = v.detach().requires_grad_(True)
            loss = 0.5 * _apply(physics, None, torch.cat([a(v) for a in actions])).pow(2).sum()
            (g,) = torch.autograd.grad(loss, v)
        g = g.detach()
        return g if mask is None else g * mask
    return op


def _lanczos_weights(op, z: torch.Tensor, steps: int):
    """Ritz values and squared first components for each probe (rows of z, flattened) after ``steps`` steps of
    Lanczos with full reorthogonalisation; probes whose Krylov space closes early stop there."""
    p, n = z.shape
    shape = op.shape
    V = torch.zeros(steps + 1, p, n, dtype=z.dtype)
    V[0] = z / z.norm(dim=1, keepdim=True)
    alpha = torch.zeros(steps, p, dtype=z.dtype)
    beta = torch.zeros(steps, p, dtype=z.dtype)
    active = torch.ones(p, dtype=torch.bool)
    length = torch.full((p,), steps, dtype=torch.long)
    scale = None
    for j in range(steps):
        w = op(V[j].reshape(p, *shape)).reshape(p, n)
        alpha[j] = (w * V[j]).sum(1)
        w = w - alpha[j, :, None] * V[j] - (beta[j - 1, :, None] * V[j - 1] if j else 0.0)
        for _ in range(2):  # full reorthogonalisation, twice
            c = torch.einsum("kpn,pn->kp", V[:j + 1], w)
            w = w - torch.einsum("kp,kpn->pn", c, V[:j + 1])
        b = w.norm(dim=1)
        if scale is None:
            scale = alpha[0].abs().max().clamp_min(1e-300)
        closed = active & (b <= 1e-10 * scale)
        length[closed] = j + 1
        active &= ~closed
        beta[j] = torch.where(active, b, torch.zeros_like(b))
        V[j + 1] = torch.where(active[:, None], w / b.clamp_min(1e-300)[:, None], torch.zeros_like(w))
        if not bool(active.any()):
            break
    out = []
    for i in range(p):
        k = int(length[i])
        T = torch.diag(alpha[:k, i]) + torch.diag(beta[:k - 1, i], 1) + torch.diag(beta[:k - 1, i], -1)
        theta, S = torch.linalg.eigh(T)
        out.append((theta, S[0] ** 2))
    return out


def _probe(physics, actions, shape, rtol, probes, steps, seed, mask=None):
    n_all = math.prod(shape)
    g = torch.Generator().manual_seed(int(seed))
    z = (torch.randint(0, 2, (probes, n_all), generator=g, dtype=torch.int64) * 2 - 1).to(torch.float64)
    flat = _flat_support(mask, shape)
    flat = None if flat is None else flat.to(torch.float64)
    if flat is not None:
        z = z * flat  # Rademacher probes of the support subspace (zero elsewhere)
    n = n_all if flat is None else int(flat.sum())
    with torch.no_grad():
        m = _apply(physics, None, torch.zeros(1, *shape, dtype=torch.float64)).shape[1]

    def estimate(acts):
        op = _normal_product(physics, acts, shape, None if mask is None else mask.to(torch.float64))
        op.shape = shape
        ritz = _lanczos_weights(op, z, min(steps, n))
        lam_max = max(float(t.max()) for t, _ in ritz)
        tau = rtol ** 2 * lam_max
        per_probe = torch.tensor([float(n * w[t <= tau].sum()) for t, w in ritz], dtype=torch.float64)
        nul = float(per_probe.mean())
        err = float(per_probe.std() / math.sqrt(probes)) if probes > 1 else float("nan")
        return n - nul, err, math.sqrt(max(lam_max, 0.0)), per_probe

    rA, eA, _, ppA = estimate([lambda x: x])
    rM, eM, smax, ppM = estimate(actions)
    diff = ppA - ppM  # the same probes for A and M: the gain's error comes from the per-probe differences
    gain_err = float(diff.std() / math.sqrt(probes)) if probes > 1 else float("nan")
    return RankResult("probe", n, m, len(actions), rA, rM, rtol, rank_A_stderr=eA, rank_M_stderr=eM,
                      sigma_max=smax, details={"nullity_per_probe_A": ppA, "nullity_per_probe_M": ppM,
                                               "gain_stderr": gain_err, "probes": probes, "steps": steps,
                                               "seed": seed, "image_size": shape[1:]})


def rank_condition(physics, transforms, image_size=None, method: str = "auto", rtol: Optional[float] = None,
                   probes: int = 8, steps: int = 80, seed: int = 0, offgrid: str = "bilinear",
                   max_transforms: int = 64, support=None) -> RankResult:
    """Ranks of A and of M = [A T_1; …; A T_|G|] (the necessary condition for learning from measurements alone).

    Args:
        physics: a linear operator (``equinet.physics``, or deepinv's: its noise-free ``A`` is used), or any linear
            callable on image batches with ``image_size`` given here.
        transforms: a finite equinet group, a list of callables on image batches, or an object with
            ``enumerate()``/``apply(x, params)`` (``equinet.transforms``).
        image_size: ``(H, W)`` if the operator does not fix it.
        method: ``"exact"`` (dense float64 Gram, n ≤ 4096), ``"probe"`` (matrix-free stochastic Lanczos) or
            ``"auto"`` (exact for n ≤ 1024, else probe).
        rtol: relative singular-value threshold (default 1e-5 exact, 1e-2 probe; see the module docstring).
        probes, steps, seed: the probing route's Rademacher probes, Lanczos steps and seed.
        offgrid: how group elements that do not preserve the pixel grid act ('bilinear' or 'fourier').
        max_transforms: at most this many transformations are used (evenly spaced in the given order, the first
            always kept; e.g. ``Shift(image_size=64)`` enumerates 4096 shifts). A subset can only lower rank M, so a
            full rank found on it holds for the whole set; ``details['transforms_used']`` says how many were used.
        support: the pixels the signals occupy (`support_mask`: None/'all', 'disk', or a bool mask [H, W]). With
            a support, M is restricted to images vanishing outside it and ``n`` counts only those unknowns
            (``details['support']``, ``details['n_total']``).
    """
    if method not in ("auto", "exact", "probe"):
        raise ValueError(f"method must be 'auto', 'exact' or 'probe', got {method!r}")
    from ..interop.deepinv_physics import as_physics  # a deepinv operator: its noise-free A, not physics(x)
    physics = as_physics(physics)
    shape = _shape(physics, image_size)
    actions, _, _ = as_actions(transforms, method=offgrid)
    if isinstance(max_transforms, bool) or not isinstance(max_transforms, numbers.Integral) or max_transforms < 1:
        raise ValueError(f"max_transforms must be a positive int, got {max_transforms!r}")
    total = len(actions)
    if total > max_transforms:
        actions = [actions[(i * total) // max_transforms] for i in range(max_transforms)]
    mask = support_mask(support, shape[1:])
    index = _support_indices(mask, shape)
    n = math.prod(shape) if index is None else int(index.numel())
    where = dict(transforms_total=total, transforms_used=len(actions), n_total=math.prod(shape),
                 support="all" if mask is None else (support if isinstance(support, str) else "mask"))
    if method == "auto":
        method = "exact" if n <= 1024 else "probe"
    if method == "exact":
        if n > EXACT_MAX_N:
            raise ValueError(f"method='exact' builds an n x n Gram matrix; n = {n} > {EXACT_MAX_N}: use 'probe'")
        result = _exact(physics, actions, shape, _check_rtol(DEFAULT_RTOL if rtol is None else rtol), index)
        result.details.update(where)
        return result
    for name, v in (("probes", probes), ("steps", steps)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    result = _probe(physics, actions, shape, _check_rtol(DEFAULT_PROBE_RTOL if rtol is None else rtol),
                    int(probes), int(steps), seed, mask)
    result.details.update(where)
    return result
