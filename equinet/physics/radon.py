"""Parallel-beam Radon transform and filtered back-projection in pure torch.

Geometry (``docs/conventions.md``: x to the right, y up, angles counter-clockwise from +x). For the angle
``theta`` the projection normal is ``n = (cos theta, sin theta)``; detector bin ``k`` sits at signed
distance ``t_k = k - c_det`` from the rotation centre and collects the line integral of the image along
``{t_k n + s n_perp}``, ``n_perp = (sin theta, -cos theta)``. The line integral is discretised exactly as
``skimage.transform.radon`` does it: the image is sampled by bilinear interpolation (zero outside) at the
unit-spaced points ``s = v - c_det``, ``v = 0..D-1``, and the samples are summed. The resulting linear map is
stored as a sparse matrix, so the forward operator, its exact adjoint (the transposed matrix) and FBP are
single sparse-dense products: batched, differentiable, and usable on any device and float dtype.

Two centre conventions are offered:

* ``center="geometric"`` (default): the rotation centre is the geometric centre of the array,
  ``c = (N - 1) / 2`` (pixel centre for odd ``N``, pixel corner for even ``N``), and ``c_det = (D - 1) / 2``.
  This is the convention of ``equinet`` (``torch.rot90`` rotates about it), and with angle sets closed
  under 90-degree turns the sinogram of ``rot90(x)`` is an exact cyclic shift of the sinogram of ``x``.
  For odd ``N`` it is identical to scikit-image.
* ``center="skimage"``: the centre is the pixel ``N // 2`` (scikit-image's choice); reproduces
  ``skimage.transform.radon``/``iradon`` to rounding error for every ``N``, but for even ``N`` it is not
  equivariant to ``rot90``.
"""

from __future__ import annotations

import math
import numbers
from typing import Dict, Optional, Tuple

import numpy as np
import scipy.sparse as sp
import torch

from ..utils.checks import check_memory
from ._sparse import SparseMatrix
from .base import PHYSICS, LinearPhysics, as_image_size, in_working_precision

__all__ = ["Radon", "fbp_filter", "FBP_FILTERS"]

#: filter names accepted by `Radon.fbp` (scikit-image's names; ``None`` = no filtering)
FBP_FILTERS = ("ramp", "shepp-logan", "cosine", "hamming", "hann", None)


def _as_angles(angles) -> np.ndarray:
    """Projection angles in degrees as a 1-D float64 array (an int ``n`` = ``n`` angles evenly spaced in [0, 180))."""
    if isinstance(angles, bool):
        raise TypeError("angles must be an int (number of angles) or a 1-D sequence of angles in degrees, got a bool")
    if isinstance(angles, numbers.Integral):
        if angles < 1:
            raise ValueError(f"Radon needs at least one projection angle, got angles={int(angles)}")
        return np.linspace(0.0, 180.0, int(angles), endpoint=False)
    if isinstance(angles, numbers.Real):
        raise TypeError(f"angles must be an int (number of angles) or a 1-D sequence of degrees, got float {angles!r};"
                        " wrap a single angle in a list")
    if isinstance(angles, torch.Tensor):
        arr = angles.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            arr = np.asarray(angles, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"angles must be an int or a 1-D sequence of angles in degrees, got {angles!r}") from err
    if arr.ndim != 1:
        raise ValueError(f"angles must be 1-D, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError("Radon needs at least one projection angle, got an empty list of angles")
    if not np.all(np.isfinite(arr)):
        raise ValueError("angles must be finite (degrees)")
    return arr.copy()


def fbp_filter(size: int, filter: Optional[str] = "ramp") -> np.ndarray:
    """Frequency response (length ``size``, FFT order) of the FBP filter, identical to scikit-image's.

    The ramp is the DFT of the band-limited ramp's sampled impulse response (Kak & Slaney, ch. 3, eq. 61),
    optionally multiplied by a window: ``shepp-logan`` (sinc), ``cosine``, ``hamming`` or ``hann``;
    ``None`` gives an all-pass filter.
    """
    if filter not in FBP_FILTERS:
        raise ValueError(f"unknown FBP filter {filter!r}; expected one of {FBP_FILTERS}")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 2 or size % 2:
        raise ValueError(f"filter size must be an even int >= 2, got {size!r}")
    size = int(size)
    n = np.concatenate((np.arange(1, size / 2 + 1, 2, dtype=int), np.arange(size / 2 - 1, 0, -2, dtype=int)))
    f = np.zeros(size)
    f[0] = 0.25
    f[1::2] = -1 / (np.pi * n) ** 2
    response = 2 * np.real(np.fft.fft(f))
    if filter == "shepp-logan":
        omega = np.pi * np.fft.fftfreq(size)[1:]
        response[1:] *= np.sin(omega) / omega
    elif filter == "cosine":
        response *= np.fft.fftshift(np.sin(np.linspace(0, np.pi, size, endpoint=False)))
    elif filter == "hamming":
        response *= np.fft.fftshift(np.hamming(size))
    elif filter == "hann":
        response *= np.fft.fftshift(np.hanning(size))
    elif filter is None:
        response[:] = 1.0
    return response


def _projection_matrix(n: int, theta_deg: np.ndarray, c_img: float, d: int, c_det: float) -> sp.csr_matrix:
    """Sparse [len(theta) * d, n * n] matrix of the bilinear-sampling Radon transform (see module docstring)."""
    theta = np.deg2rad(theta_deg)
    k = np.arange(d, dtype=np.float64) - c_det
    chunk = max(1, 2**20 // (d * d))
    blocks = []
    for a0 in range(0, theta.size, chunk):
        th = theta[a0:a0 + chunk]
        m = th.size
        cos = np.cos(th)[:, None, None]
        sin = np.sin(th)[:, None, None]
        t = k[None, :, None]  # detector position, axis 1
        s = k[None, None, :]  # position along the ray, axis 2
        # (row, col) of the sample point t * n + s * n_perp, with x = col - c, y = c - row
        col = c_img + cos * t + sin * s
        row = c_img - sin * t + cos * s
        r0 = np.floor(row)
        c0 = np.floor(col)
        fr = row - r0
        fc = col - c0
        r0 = r0.astype(np.int64)
        c0 = c0.astype(np.int64)
        w = np.stack(((1 - fr) * (1 - fc), (1 - fr) * fc, fr * (1 - fc), fr * fc), axis=-1)
        rr = np.stack((r0, r0, r0 + 1, r0 + 1), axis=-1)
        cc = np.stack((c0, c0 + 1, c0, c0 + 1), axis=-1)
        ok = (rr >= 0) & (rr < n) & (cc >= 0) & (cc < n) & (w != 0)
        out = np.broadcast_to((np.arange(m)[:, None] * d + np.arange(d)[None, :])[:, :, None, None], w.shape)
        block = sp.csr_matrix((w[ok], (out[ok], (rr * n + cc)[ok])), shape=(m * d, n * n))
        block.sum_duplicates()
        blocks.append(block)
    return sp.vstack(blocks, format="csr")


def _backprojection_matrix(n: int, theta_deg: np.ndarray, c_img: float, d_ext: int, c_ext: float,
                           circle: bool) -> sp.csr_matrix:
    """Sparse [n * n, len(theta) * d_ext] matrix: linear interpolation of each projection at ``t = x cos + y sin``.

    Interpolation follows ``numpy.interp`` with zero outside the detector grid, as scikit-image's ``iradon``;
    with ``circle`` the pixels outside the disk of radius ``n // 2`` get no contribution.
    """
    theta = np.deg2rad(theta_deg)
    na = theta.size
    idx = np.arange(n, dtype=np.float64)
    y = (c_img - idx)[:, None] * np.ones((1, n))
    x = np.ones((n, 1)) * (idx - c_img)[None, :]
    pix = np.arange(n * n).reshape(n, n)
    keep = np.ones((n, n), dtype=bool)
    if circle:
        keep = x**2 + y**2 <= (n // 2) ** 2
    xs, ys, ps = x[keep], y[keep], pix[keep]
    rows, cols, vals = [], [], []
    chunk = max(1, 2**22 // max(1, xs.size))
    for a0 in range(0, na, chunk):
        th = theta[a0:a0 + chunk]
        a_idx = np.arange(a0, a0 + th.size)
        u = xs[:, None] * np.cos(th)[None, :] + ys[:, None] * np.sin(th)[None, :] + c_ext  # [P, m]
        inside = (u >= 0) & (u <= d_ext - 1)
        j0 = np.floor(u)
        w = u - j0
        j0 = j0.astype(np.int64)
        base = a_idx[None, :] * d_ext
        p = np.broadcast_to(ps[:, None], u.shape)
        for jj, ww, ok in ((j0, 1 - w, inside), (j0 + 1, w, inside & (j0 + 1 <= d_ext - 1) & (w > 0))):
            rows.append(p[ok])
            cols.append((base + jj)[ok])
            vals.append(ww[ok])
    mat = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(n * n, na * d_ext))
    mat.sum_duplicates()
    return mat


@PHYSICS.register("radon")
class Radon(LinearPhysics):
    """Parallel-beam Radon transform ``[B, C, N, N] -> [B, C, n_angles, n_detectors]`` (sinogram rows = angles).

    Args:
        image_size: ``N`` or ``(N, N)``; the images must be square.
        angles: number of angles evenly spaced in [0, 180) degrees (scikit-image's default set for 180), or
            a 1-D sequence/array/tensor of angles in degrees.
        circle: as scikit-image: if True the detector has ``N`` bins and the image is assumed zero outside
            the inscribed disk (content outside is sampled only partially); if False the detector covers the
            whole square (``ceil(sqrt(2) N)`` bins, rounded up to the parity of ``N`` for the geometric centre).
        filter: default FBP filter for `pinv`, one of ``FBP_FILTERS``.
        center: ``"geometric"`` (default, rotation about the array centre, see module docstring) or
            ``"skimage"`` (about pixel ``N // 2``).
        noise: a noise model for `measure`.

    ``pinv`` is filtered back-projection (FBP) following ``skimage.transform.iradon`` (linear interpolation,
    zero-padding to a power of two >= 64 before filtering, output scaled by ``pi / (2 n_angles)``, zero
    outside the disk of radius ``N // 2`` when ``circle``).
    """

    def __init__(self, image_size, angles=180, circle: bool = True, filter: Optional[str] = "ramp",
                 center: str = "geometric", noise=None):
        size = as_image_size(image_size)
        if size[0] != size[1]:
            raise ValueError(f"Radon needs square images, got image_size={size}")
        super().__init__(size, noise=noise)
        if not isinstance(circle, bool):
            raise TypeError(f"circle must be a bool, got {type(circle).__name__}")
        if filter not in FBP_FILTERS:
            raise ValueError(f"unknown FBP filter {filter!r}; expected one of {FBP_FILTERS}")
        if center not in ("geometric", "skimage"):
            raise ValueError(f"center must be 'geometric' or 'skimage', got {center!r}")
        n = size[0]
        if isinstance(angles, numbers.Integral) and not isinstance(angles, bool) and int(angles) >= 1:
            # the projection matrix holds ~2 entries per (angle, pixel), built through float64 work arrays
            check_memory(48.0 * int(angles) * n * n, f"Radon with {int(angles)} views of {n}x{n} images")
        self._theta = _as_angles(angles)
        self.circle = circle
        self.filter = filter
        self.center = center
        if circle:
            d = n
        elif center == "skimage":
            d = n + int(np.ceil(np.sqrt(2) * n - n))
        else:
            d = int(np.ceil(np.sqrt(2) * n))
            d += (d - n) % 2
        self._n = n
        self._d = d
        if center == "geometric":
            self._c_img, self._c_det = (n - 1) / 2.0, (d - 1) / 2.0
        else:
            self._c_img, self._c_det = float(n // 2), float(d // 2)
        self._matrix = SparseMatrix(_projection_matrix(n, self._theta, self._c_img, d, self._c_det))
        self._fbp_matrix: Optional[SparseMatrix] = None
        self._filter_cache: Dict[Tuple[Optional[str], torch.dtype, torch.device], torch.Tensor] = {}
        # FBP layout: projections zero-padded to `_pad` samples for filtering (as in scikit-image), and
        # filtered values kept on `_ext` extra bins at each end (pixels on the rim of the disk need them)
        filtered_len = int(np.ceil(np.sqrt(2) * d)) if circle else d
        self._pad = max(64, int(2 ** np.ceil(np.log2(2 * filtered_len))))
        self._ext = 1 if circle else 0

    # ------------------------------------------------------------------------------------ properties
    @property
    def angles(self) -> torch.Tensor:
        """Projection angles in degrees (float64 tensor, a copy)."""
        return torch.from_numpy(self._theta.copy())

    @property
    def n_angles(self) -> int:
        """Number of projection angles (sinogram rows)."""
        return int(self._theta.size)

    @property
    def n_detectors(self) -> int:
        """Number of detector bins (sinogram columns)."""
        return self._d

    @property
    def matrix(self) -> SparseMatrix:
        """The sparse system matrix, shape [n_angles * n_detectors, N * N] (row-major flattening)."""
        return self._matrix

    def _measurement_tail(self, image_hw):
        return (self.n_angles, self._d)

    def extra_repr(self) -> str:
        return (f"image_size={self._image_size}, n_angles={self.n_angles}, n_detectors={self._d}, "
                f"circle={self.circle}, center={self.center!r}, filter={self.filter!r}")

    # ------------------------------------------------------------------------------------- operators
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, n, _ = x.shape
        cols = x.reshape(b * c, n * n).transpose(0, 1)
        y = self._matrix.matmul(cols)
        return y.transpose(0, 1).contiguous().reshape(b, c, self.n_angles, self._d)

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:
        b, c = y.shape[:2]
        cols = y.reshape(b * c, self.n_angles * self._d).transpose(0, 1)
        x = self._matrix.T.matmul(cols)
        return x.transpose(0, 1).contiguous().reshape(b, c, self._n, self._n)

    def _pinv(self, y: torch.Tensor) -> torch.Tensor:
        return self._fbp(y, self.filter)

    @in_working_precision
    def fbp(self, y: torch.Tensor, filter: Optional[str] = "default") -> torch.Tensor:
        """Filtered back-projection of a sinogram batch; ``filter`` overrides ``self.filter`` (one of
        ``FBP_FILTERS``)."""
        self._check_measurement(y)
        filt = self.filter if filter == "default" else filter
        if filt not in FBP_FILTERS:
            raise ValueError(f"unknown FBP filter {filt!r}; expected one of {FBP_FILTERS}")
        return self._fbp(y, filt)

    def _filter_response(self, filt: Optional[str], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        key = (filt, dtype, torch.device(device))
        h = self._filter_cache.get(key)
        if h is None:
            full = fbp_filter(self._pad, filt)
            # scikit-image keeps the real part of ifft(fft(s) * H); for a real s that equals filtering with the
            # even part of H (the hamming/hann windows are not exactly even), which is what irfft(rfft(s) * H) needs
            half = 0.5 * (full + np.roll(full[::-1], 1))[: self._pad // 2 + 1]
            h = torch.from_numpy(np.ascontiguousarray(half)).to(dtype=dtype, device=device)
            self._filter_cache[key] = h
        return h

    def _backprojector(self) -> SparseMatrix:
        if self._fbp_matrix is None:
            d_ext = self._d + 2 * self._ext
            self._fbp_matrix = SparseMatrix(_backprojection_matrix(
                self._n, self._theta, self._c_img, d_ext, self._c_det + self._ext, self.circle))
        return self._fbp_matrix

    def _fbp(self, y: torch.Tensor, filt: Optional[str]) -> torch.Tensor:
        b, c, na, d = y.shape
        if b * c == 0:  # an empty batch (the FFT refuses zero-sized transforms)
            return y.new_zeros(b, c, self._n, self._n)
        h = self._filter_response(filt, y.dtype, y.device)
        filtered = torch.fft.irfft(torch.fft.rfft(y, n=self._pad, dim=-1) * h, n=self._pad, dim=-1)
        # circular filtering is shift-equivariant, so bins outside [0, d) are read cyclically
        ext = torch.arange(-self._ext, d + self._ext, device=y.device) % self._pad
        q = filtered.index_select(-1, ext)
        cols = q.reshape(b * c, na * ext.numel()).transpose(0, 1)
        img = self._backprojector().matmul(cols)
        img = img.transpose(0, 1).contiguous().reshape(b, c, self._n, self._n)
        return img * (math.pi / (2 * na))
