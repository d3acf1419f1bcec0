"""Sampling angular solutions on the pixel grid: radial rings, per-ring frequency caps, anti-aliasing.

A basis function is ``ψ_i(r) · (A cos fφ + B sin fφ)`` with a Gaussian ring profile ψ_i of centre r_i and width
σ. The rule (`SamplingRule`) fixes

* rings at r_i = 0, Δ, 2Δ, ... up to the kernel radius R = (k - 1)/2;
* the angular band limit of ring i: ``F_i = min(max_frequency, floor(frequency_slope · r_i))`` (F = 0 at the
  centre): a ring of radius r carries about 2πr samples, so frequencies above ~r alias;
* a smooth radial taper that brings the profile to zero at r = R + 1/2, so the corners of the square window
  (which a rotation moves outside it) carry no weight;
* box anti-aliasing: each pixel value is the mean of ``supersample²`` point values over the pixel's square.
  The square and its sub-samples are invariant under the grid-preserving elements, so sampled kernels satisfy
  the constraint exactly for 90° rotations and the flips of D_4, whatever the rule.

The default rule was chosen by measuring the off-grid (22.5°, 45°) equivariance error against the basis size;
see ``docs/kernels.md`` and ``experiments/benchmarks/bench_kernel_basis.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .angular import AngularBasis

# Gaussian pre-filter width (pixels) per kernel size, measured: it cancels the 4-fold anisotropy that square
# sampling gives a kernel's 4th moments; see docs/kernels.md and `bench_kernel_basis.py --scan-prefilter`.
AUTO_PREFILTER = {1: 0.0, 2: 0.0, 3: 0.45, 4: 0.375, 5: 0.4, 6: 0.4, 7: 0.375}
AUTO_PREFILTER_LARGE = 0.375


@dataclass(frozen=True)
class SamplingRule:
    """How continuous basis functions become k x k pixel kernels (see the module docstring)."""

    ring_spacing: float = 1.0
    width: float = 0.6
    outer_width: float | None = 0.5
    frequency_slope: float = 2.0
    max_frequency: int = 3
    outer_max_frequency: int = 2
    taper: bool = True
    taper_start: float = 1.0
    prefilter: float | None = None
    supersample: int = 5

    def __post_init__(self):
        if not self.ring_spacing > 0:
            raise ValueError(f"ring_spacing must be > 0, got {self.ring_spacing}")
        if not self.width > 0:
            raise ValueError(f"width must be > 0, got {self.width}")
        if self.prefilter is not None and self.prefilter < 0:
            raise ValueError(f"prefilter must be >= 0 or None (automatic), got {self.prefilter}")
        if self.frequency_slope < 0 or self.max_frequency < 0 or self.outer_max_frequency < 0:
            raise ValueError("frequency_slope and max_frequency must be >= 0")
        if int(self.supersample) != self.supersample or self.supersample < 1:
            raise ValueError(f"supersample must be an integer >= 1, got {self.supersample}")

    def rings(self, kernel_size: int) -> list[tuple[float, int]]:
        """(radius, angular band limit) of every ring for a kernel of the given size."""
        R = (kernel_size - 1) / 2
        n = int(math.floor(R / self.ring_spacing + 1e-9))
        out = []
        for i in range(n + 1):
            r = i * self.ring_spacing
            F = 0 if r == 0 else min(self.max_frequency, int(math.floor(self.frequency_slope * r + 1e-9)))
            if i == n and i > 0:
                F = min(F, self.outer_max_frequency)
            out.append((r, F))
        return out

    @property
    def key(self) -> tuple:
        return (self.ring_spacing, self.width, self.outer_width, self.frequency_slope, self.max_frequency,
                self.outer_max_frequency, self.taper, self.taper_start, self.prefilter, self.supersample)

    def prefilter_for(self, kernel_size: int) -> float:
        """Width of the isotropic Gaussian pre-filter for this kernel size (``prefilter=None``: measured table)."""
        if self.prefilter is not None:
            return float(self.prefilter)
        return AUTO_PREFILTER.get(kernel_size, AUTO_PREFILTER_LARGE)


def _subsamples(rule: "SamplingRule", kernel_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-sample offsets (n, 2) and weights (n,) of the anti-aliasing filter; symmetric under the group D_4."""
    s = int(rule.supersample)
    pf = rule.prefilter_for(kernel_size)
    if pf > 0:  # isotropic Gaussian pre-filter (keeps angular frequencies), sampled finely
        h = 3.0 * pf
        m = int(np.ceil(h * s))
        o = np.arange(-m, m + 1) / s
        ox, oy = np.meshgrid(o, o, indexing="ij")
        w = np.exp(-0.5 * (ox ** 2 + oy ** 2) / pf ** 2)
    else:  # box: the mean over the pixel's square
        o = (np.arange(s) + 0.5) / s - 0.5
        ox, oy = np.meshgrid(o, o, indexing="ij")
        w = np.ones_like(ox)
    w = w.ravel() / w.sum()
    return np.stack([ox.ravel(), oy.ravel()], axis=1), w


def _subpixel_polar(kernel_size: int, rule: "SamplingRule"):
    """Polar coordinates (k, k, n) of every pixel's sub-samples, and the sub-sample weights (n,)."""
    k = kernel_size
    c = (k - 1) / 2
    offs, w = _subsamples(rule, k)
    x = (np.arange(k)[None, :, None] - c) + offs[None, None, :, 0]
    y = (c - np.arange(k)[:, None, None]) + offs[None, None, :, 1]
    x, y = np.broadcast_arrays(x, y)
    return np.hypot(x, y), np.arctan2(y, x), w


@dataclass
class SampledFactors:
    """The sampled elements in factored form, in their fixed order (ring, frequency, angular solution):
    element (q, a) = A_f[a] ⊗ cos[q] + B_f[a] ⊗ sin[q], for the ring-frequency terms q = (ring, f) of ``terms``."""

    angular: AngularBasis
    terms: list  # [(ring index, f)] with at least one angular solution at f
    cos: np.ndarray  # (n_terms, k, k): ring profile × cos(fφ), anti-aliased
    sin: np.ndarray

    @property
    def size(self) -> int:
        return sum(self.angular.count(f) for _, f in self.terms)

    def dense(self) -> np.ndarray:
        """All elements as an array (n, d_out, d_in, k, k)."""
        ang, k = self.angular, self.cos.shape[-1]
        out = [ang.A[f][..., None, None] * self.cos[q] + ang.B[f][..., None, None] * self.sin[q]
               for q, (_, f) in enumerate(self.terms)]
        if not out:
            return np.zeros((0, ang.d_out, ang.d_in, k, k))
        return np.concatenate(out, axis=0)

    def _angular_index(self):
        """Stacked angular solutions A, B (n_ang, d_out·d_in) and, per element, its angular index and term."""
        ang = self.angular
        fs = sorted({f for _, f in self.terms})
        A = np.concatenate([ang.A[f].reshape(ang.count(f), -1) for f in fs])
        B = np.concatenate([ang.B[f].reshape(ang.count(f), -1) for f in fs])
        start = dict(zip(fs, np.cumsum([0] + [ang.count(f) for f in fs[:-1]])))
        alpha = np.concatenate([start[f] + np.arange(ang.count(f)) for _, f in self.terms])
        q = np.concatenate([np.full(ang.count(f), i) for i, (_, f) in enumerate(self.terms)])
        return A, B, alpha, q

    def gram(self) -> np.ndarray:
        """The Gram matrix of the elements, from the small angular and spatial Gram matrices (no pixel-size work)."""
        A, B, alpha, q = self._angular_index()
        C, S = self.cos.reshape(len(self.terms), -1), self.sin.reshape(len(self.terms), -1)
        AA, AB, BB = A @ A.T, A @ B.T, B @ B.T
        cc, cs, ss = C @ C.T, C @ S.T, S @ S.T
        ia, iq = np.ix_(alpha, alpha), np.ix_(q, q)
        return AA[ia] * cc[iq] + AB[ia] * cs[iq] + AB.T[ia] * cs.T[iq] + BB[ia] * ss[iq]

    def orthonormal(self, coefficients) -> np.ndarray | None:
        """Gram-Schmidt of the elements in their order, as (n, d_out, d_in, k, k), or None if ``coefficients``
        (`ordered_coefficients`) finds a dependent element.

        Elements of different angular solutions are mostly exactly orthogonal (the grid's symmetry), and
        Gram-Schmidt never mixes mutually orthogonal groups, so it runs per group of coupled angular solutions
        (couplings below ``DECOUPLED`` relative are rounding of exact zeros) and each result is a sum of a few
        outer products A ⊗ u + B ⊗ v: no pixel-size matrix product.
        """
        A, B, alpha, q = self._angular_index()
        G = self.gram()
        d = np.sqrt(np.diag(G))
        if np.any(d == 0):
            return None
        # coupling of two angular solutions: the largest normalised Gram entry between their elements
        order = np.argsort(alpha, kind="stable")
        starts = np.searchsorted(alpha[order], np.arange(A.shape[0]))
        Gn = (np.abs(G) / np.outer(d, d))[np.ix_(order, order)]
        K = np.maximum.reduceat(np.maximum.reduceat(Gn, starts, axis=0), starts, axis=1)
        ang, k = self.angular, self.cos.shape[-1]
        C, S = self.cos.reshape(len(self.terms), -1), self.sin.reshape(len(self.terms), -1)
        out = np.empty((len(alpha), ang.d_out * ang.d_in, k * k))
        comps = _components(K > DECOUPLED)
        # one angular solution alone (the usual case): batched over all such solutions with the same rings
        batches: dict = {}
        for comp in comps:
            if len(comp) == 1:
                rows = np.nonzero(alpha == comp[0])[0]
                batches.setdefault((len(rows), bool(np.any(B[comp[0]]))), []).append((comp[0], rows))
        for (_, has_b), items in batches.items():
            al = np.array([a for a, _ in items])
            R = np.stack([r for _, r in items])  # (n_c, m) element indices
            T = coefficients(G[R[:, :, None], R[:, None, :]])
            if T is None:
                return None
            # element (c, j) = A_c ⊗ u_cj + B_c ⊗ v_cj: a batched product with inner dimension 2 (1 without B)
            L = np.stack([A[al], B[al]], axis=-1) if has_b else A[al][:, :, None]  # (n_c, D, 1 or 2)
            U = np.stack([T @ C[q[R]], T @ S[q[R]]], axis=2) if has_b else (T @ C[q[R]])[:, :, None]
            for j in range(R.shape[1]):  # ring by ring: written in place where the rows are contiguous
                r0 = R[0, j]
                if np.array_equal(R[:, j], np.arange(r0, r0 + len(R))):
                    np.matmul(L, U[:, j], out=out[r0:r0 + len(R)])
                else:
                    out[R[:, j]] = L @ U[:, j]
        for comp in comps:
            if len(comp) == 1:
                continue
            rows = np.nonzero(np.isin(alpha, comp))[0]  # in the global order
            T = coefficients(G[np.ix_(rows, rows)])
            if T is None:
                return None
            acc = np.zeros((len(rows), ang.d_out * ang.d_in, k * k))
            for a in comp:
                sel = alpha[rows] == a
                Tq, qs = T[:, sel], q[rows][sel]
                acc += A[a][None, :, None] * (Tq @ C[qs])[:, None, :]
                acc += B[a][None, :, None] * (Tq @ S[qs])[:, None, :]
            out[rows] = acc
        return out.reshape(len(alpha), ang.d_out, ang.d_in, k, k)


#: normalised Gram entries at most this large are rounding of exact zeros (measured: <= 4e-16, while coupled
#: entries are >= 2e-2); treating a smaller coupling as zero would change the basis by at most about this much
DECOUPLED = 1e-12


def _components(adj: np.ndarray) -> list[list[int]]:
    """Connected components of a symmetric boolean adjacency matrix, each sorted, ordered by smallest member."""
    n = adj.shape[0]
    label = -np.ones(n, dtype=int)
    comps: list = []
    for s0 in range(n):
        if label[s0] >= 0:
            continue
        label[s0] = len(comps)
        members, stack = [s0], [s0]
        while stack:
            u = stack.pop()
            for w in np.nonzero(adj[u] & (label < 0))[0]:
                label[w] = len(comps)
                members.append(int(w))
                stack.append(int(w))
        comps.append(sorted(members))
    return comps


def sample_factors(angular: AngularBasis, kernel_size: int, rule: SamplingRule) -> SampledFactors:
    """The ring x frequency images of the rule and the angular solutions they multiply (see `SampledFactors`)."""
    k = kernel_size
    r, phi, wts = _subpixel_polar(k, rule)
    R = (k - 1) / 2
    window = np.ones_like(r)
    if rule.taper:
        edge = R + 0.5
        t = np.clip((r - (edge - rule.taper_start)) / rule.taper_start, 0.0, 1.0)
        window = np.where(r >= edge, 0.0, 0.5 * (1 + np.cos(np.pi * t)))
    at_centre = r < 1e-12  # φ is undefined there: harmonics with f > 0 vanish at the origin
    rings = rule.rings(k)
    terms, cos_l, sin_l = [], [], []
    trig: dict = {}
    for i, (ri, Fi) in enumerate(rings):
        width = rule.outer_width if (rule.outer_width and i == len(rings) - 1 and i > 0) else rule.width
        prof = np.exp(-0.5 * ((r - ri) / width) ** 2) * window
        for f in range(Fi + 1):
            if angular.count(f) == 0:
                continue
            if f not in trig:
                cf, sf = np.cos(f * phi), np.sin(f * phi)
                if f > 0:
                    cf, sf = np.where(at_centre, 0.0, cf), np.where(at_centre, 0.0, sf)
                trig[f] = (cf, sf)
            cf, sf = trig[f]
            terms.append((i, f))
            cos_l.append((prof * cf) @ wts)  # (k, k)
            sin_l.append((prof * sf) @ wts)
    empty = np.zeros((0, k, k))
    return SampledFactors(angular, terms, np.stack(cos_l) if cos_l else empty, np.stack(sin_l) if sin_l else empty)


def sample_basis(angular: AngularBasis, kernel_size: int, rule: SamplingRule) -> np.ndarray:
    """All ring x frequency x angular-solution functions sampled on the grid: (n, d_out, d_in, k, k)."""
    return sample_factors(angular, kernel_size, rule).dense()
