"""Sampling angular solutions on the pixel grid: radial rings, per-ring frequency caps, anti-aliasing.

A basis function is ``ψ_i(r) · (A cos fφ + B sin fφ)`` with a Gaussian ring profile ψ_i of centre r_i and width
σ. The rule (:class:`SamplingRule`) fixes

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


def sample_basis(angular: AngularBasis, kernel_size: int, rule: SamplingRule) -> np.ndarray:
    """All ring x frequency x angular-solution functions sampled on the grid: (n, d_out, d_in, k, k)."""
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
    out = []
    for i, (ri, Fi) in enumerate(rings):
        width = rule.outer_width if (rule.outer_width and i == len(rings) - 1 and i > 0) else rule.width
        prof = np.exp(-0.5 * ((r - ri) / width) ** 2) * window
        for f in range(Fi + 1):
            n = angular.count(f)
            if n == 0:
                continue
            cf, sf = np.cos(f * phi), np.sin(f * phi)
            if f > 0:
                cf, sf = np.where(at_centre, 0.0, cf), np.where(at_centre, 0.0, sf)
            cos_ = (prof * cf) @ wts  # (k, k)
            sin_ = (prof * sf) @ wts
            # (n, d_out, d_in, k, k)
            out.append(angular.A[f][..., None, None] * cos_ + angular.B[f][..., None, None] * sin_)
    if not out:
        return np.zeros((0, angular.d_out, angular.d_in, k, k))
    return np.concatenate(out, axis=0)
