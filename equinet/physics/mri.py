"""Single-coil Cartesian MRI: a subsampled, orthonormal, centred 2-D FFT.

Images are complex and stored as two real channels ``[B, 2, H, W]`` (real, imaginary); measurements are the
masked k-space in the same layout, with exact zeros where nothing was sampled. The k-space is centred
(``fftshift(fft2(ifftshift(x)), norm="ortho")``, the fastMRI convention), so the zero frequency sits at
index ``(H // 2, W // 2)``. Sampling masks are Cartesian line masks: whole columns (all ``H`` rows of one
``k_x`` index) are acquired.
"""

from __future__ import annotations

import math
import numbers
from typing import Optional

import torch

from ..utils.checks import check_mask, check_seed
from .base import PHYSICS, LinearPhysics, as_image_size

__all__ = ["MRI", "cartesian_line_mask", "real_to_channels", "magnitude"]


def cartesian_line_mask(image_size, acceleration: float = 4.0, center_fraction: float = 0.08,
                        seed: int = 0) -> torch.Tensor:
    """A [H, W] 0/1 float mask sampling ``round(W / acceleration)`` full columns of centred k-space.

    The ``round(W * center_fraction)`` columns around the zero frequency (column ``W // 2``) are always
    sampled; the remaining lines are drawn uniformly without replacement from the other columns with a
    ``torch.Generator`` seeded by ``seed``.
    """
    h, w = as_image_size(image_size)
    if isinstance(acceleration, bool) or not isinstance(acceleration, numbers.Real) or not acceleration >= 1 \
            or not math.isfinite(acceleration):
        raise ValueError(f"acceleration must be a finite number >= 1, got {acceleration!r}")
    if isinstance(center_fraction, bool) or not isinstance(center_fraction, numbers.Real) \
            or not 0 <= center_fraction <= 1:
        raise ValueError(f"center_fraction must be in [0, 1], got {center_fraction!r}")
    seed = check_seed(seed)
    n_lines = max(1, int(round(w / float(acceleration))))
    n_center = min(int(round(w * float(center_fraction))), n_lines)
    start = w // 2 - n_center // 2
    center = torch.arange(start, start + n_center)
    chosen = torch.zeros(w, dtype=torch.bool)
    chosen[center] = True
    others = torch.nonzero(~chosen).flatten()
    g = torch.Generator().manual_seed(int(seed))
    pick = others[torch.randperm(others.numel(), generator=g)[: n_lines - n_center]]
    chosen[pick] = True
    return chosen.to(torch.get_default_dtype()).expand(h, w).clone()


def real_to_channels(x: torch.Tensor) -> torch.Tensor:
    """Real images ``[B, 1, H, W]`` as MRI images ``[B, 2, H, W]`` (real part ``x``, imaginary part 0)."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"expected real images [B, 1, H, W], got {getattr(x, 'shape', type(x).__name__)}")
    return torch.cat([x, torch.zeros_like(x)], dim=1)


def magnitude(u: torch.Tensor) -> torch.Tensor:
    """The magnitude ``|u|`` ``[B, 1, H, W]`` of MRI images ``[B, 2, H, W]`` (real, imaginary channels)."""
    if not isinstance(u, torch.Tensor) or u.dim() != 4 or u.shape[1] != 2:
        raise ValueError(f"expected MRI images [B, 2, H, W], got {getattr(u, 'shape', type(u).__name__)}")
    return u.pow(2).sum(dim=1, keepdim=True).sqrt()


def _fft2c(z: torch.Tensor) -> torch.Tensor:
    if z.numel() == 0:  # an empty batch (the FFT refuses zero-sized transforms)
        return z.clone()
    return torch.fft.fftshift(torch.fft.fft2(torch.fft.ifftshift(z, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))


def _ifft2c(k: torch.Tensor) -> torch.Tensor:
    if k.numel() == 0:
        return k.clone()
    return torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(k, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))


@PHYSICS.register("mri")
class MRI(LinearPhysics):
    """Subsampled orthonormal Fourier transform ``y = M F x`` on two-channel (real, imaginary) images.

    Args:
        image_size: ``N`` or ``(H, W)``.
        acceleration: undersampling factor R; ``round(W / R)`` k-space columns are sampled.
        center_fraction: fraction of the columns around zero frequency that are always sampled.
        seed: seed of the random line selection.
        mask: optional user mask of shape ``(H, W)`` with entries 0/1 (overrides the three arguments above).
        noise: a noise model for `measure` (noise is added only on sampled k-space entries).

    ``pinv`` is the zero-filled inverse FFT, which equals the adjoint because ``F`` is unitary and ``M`` a
    0/1 projector; it is a right inverse on the range: ``A pinv(A x) = A x``.
    """

    mask: torch.Tensor  # a buffer

    channels = 2

    def __init__(self, image_size, acceleration: float = 4.0, center_fraction: float = 0.08, seed: int = 0,
                 mask: Optional[torch.Tensor] = None, noise=None):
        size = as_image_size(image_size)
        super().__init__(size, noise=noise)
        if mask is None:
            mask = cartesian_line_mask(size, acceleration, center_fraction, seed)
            self.acceleration = float(acceleration)
        else:
            mask = check_mask(mask, size, "MRI mask", "(H, W)")
            self.acceleration = float(mask.numel() / max(float(mask.sum()), 1.0))
        self.register_buffer("mask", mask)

    def _mask_like(self, t: torch.Tensor) -> torch.Tensor:
        return self.mask.to(device=t.device, dtype=t.dtype)

    def _measurement_mask(self, y: torch.Tensor) -> torch.Tensor:
        return self._mask_like(y)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        k = _fft2c(torch.complex(x[:, 0], x[:, 1]))
        m = self._mask_like(x)
        return torch.stack((k.real, k.imag), dim=1) * m

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:
        m = self._mask_like(y)
        z = _ifft2c(torch.complex(y[:, 0] * m, y[:, 1] * m))
        return torch.stack((z.real, z.imag), dim=1)

    def _pinv(self, y: torch.Tensor) -> torch.Tensor:
        return self._adjoint(y)

    def extra_repr(self) -> str:
        return f"image_size={self._image_size}, acceleration={self.acceleration:.3g}"
