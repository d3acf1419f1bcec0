"""Deterministic test inputs: i.i.d. Gaussian images and smooth analytic fields that rotate exactly.

Coordinates follow ``docs/conventions.md``: pixel (row, col) of an S x S array is the point
(col - (S-1)/2, (S-1)/2 - row).
"""
from __future__ import annotations

import numpy as np
import torch

from ..groups.group import GroupElement

#: parameters of the smooth protocol (fractions of the image size S unless stated; chosen by measurement, see
#: docs/testing.md)
N_BLOBS = 24
SIGMA_PX = (1.5, 3.0)     # blob widths in pixels (as in equinet.kernels.diagnostics)
CENTRE_RADIUS = 0.2       # blob centres uniform in the disk r <= 0.2·S (value at the border <= 5e-3 for S >= 32)
WEIGHT_RADIUS = 0.36      # off-grid outputs weighted by w(r) = exp(-(r / 0.36·S)^6) on both sides
WEIGHT_POWER = 6
DISK_RADIUS = 0.35        # off-grid errors read on r <= 0.35·S of the output


def pixel_points(size: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """The (x, y) coordinates of the pixels of a size x size image, row-major: [size², 2]."""
    c = (size - 1) / 2
    ys, xs = torch.meshgrid(c - torch.arange(size, dtype=dtype, device=device),
                            torch.arange(size, dtype=dtype, device=device) - c, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def output_weight(size: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """w(r) = exp(-(r / (WEIGHT_RADIUS·size))^WEIGHT_POWER) on a size x size image: [size, size].

    Radial, so T_g(w·y) = w·T_g y exactly; smooth (no spectral content near Nyquist) and 7e-4 at the border, so the
    band-limited rotation of w·y does not see the image's edges. 1 at the centre, 0.43 at r = 0.35·size.
    """
    r = pixel_points(size, dtype, device).norm(dim=1).view(size, size)
    return torch.exp(-(r / (WEIGHT_RADIUS * size)) ** WEIGHT_POWER)


def disk_mask(h: int, w: int, fraction: float = DISK_RADIUS, device=None) -> torch.Tensor:
    """Boolean [h, w] mask of the pixels within fraction·min(h, w) of the array centre."""
    y = (h - 1) / 2 - torch.arange(h, dtype=torch.float64, device=device)
    x = torch.arange(w, dtype=torch.float64, device=device) - (w - 1) / 2
    return (y[:, None] ** 2 + x[None, :] ** 2) <= (fraction * min(h, w)) ** 2


def random_images(batch: int, channels: int, size: int, seed: int) -> torch.Tensor:
    """I.i.d. N(0, 1) images [batch, channels, size, size] in float64 on the CPU, from a seeded generator."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(batch, channels, size, size, generator=gen, dtype=torch.float64)


class BlobField:
    """A smooth analytic field R² -> R^channels per batch item, sampled exactly at any rotated grid.

    Each item is a sum of ``N_BLOBS`` Gaussian blobs (σ uniform in ``SIGMA_PX``, centres uniform in the disk
    r <= ``CENTRE_RADIUS``·size, N(0, 1) amplitudes per channel), so it nearly vanishes at the image border.
    `sample` with an element g returns T_g u = π(g) u(H_g⁻¹ x) without any interpolation.
    """

    def __init__(self, batch: int, channels: int, size: int, seed: int):
        rng = np.random.default_rng(seed)
        rad = CENTRE_RADIUS * size * np.sqrt(rng.uniform(0.0, 1.0, (batch, N_BLOBS)))
        ang = rng.uniform(0.0, 2 * np.pi, (batch, N_BLOBS))
        self.centres = torch.as_tensor(np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=-1))  # [B, n, 2]
        self.sigmas = torch.as_tensor(rng.uniform(*SIGMA_PX, (batch, N_BLOBS)))                       # [B, n]
        self.amps = torch.as_tensor(rng.standard_normal((batch, N_BLOBS, channels)))                   # [B, n, C]
        self.size, self.channels = size, channels

    def sample(self, g: GroupElement | None = None, rep=None) -> torch.Tensor:
        """T_g u on the pixel grid, [batch, channels, size, size] in float64 (u itself when g is None)."""
        pts = pixel_points(self.size)
        if g is not None:
            pts = pts @ torch.as_tensor(g.inverse.matrix, dtype=torch.float64).T  # H⁻¹ x
        d2 = ((pts ** 2).sum(1)[None, :, None] + (self.centres ** 2).sum(-1)[:, None, :]
              - 2.0 * pts[None] @ self.centres.transpose(1, 2)).clamp_min(0.0)        # [B, P, n]
        vals = torch.exp(-0.5 * d2 / self.sigmas[:, None, :] ** 2) @ self.amps          # [B, P, C]
        u = vals.transpose(1, 2).reshape(-1, self.channels, self.size, self.size)
        if g is not None and rep is not None and not rep.is_trivial():
            u = torch.einsum("oc,bchw->bohw", torch.as_tensor(rep(g), dtype=torch.float64), u)
        return u
