"""Denoising, inpainting, blur and compressed-sensing / single-pixel operators.

All of them act channel-wise (the same operator on every channel) and accept float32 or float64 inputs
on any device: fixed state (masks, kernels) lives in registered buffers and is cast to the input's dtype
and device on use; matrices derived from a seed are regenerated from it and cached per dtype and device.
"""

from __future__ import annotations

import math
import numbers
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from ..utils.checks import check_mask, check_memory, check_seed
from .base import PHYSICS, LinearPhysics, as_image_size, in_working_precision

__all__ = ["Denoising", "Inpainting", "Blur", "gaussian_kernel", "CompressedSensing", "SinglePixel", "fwht"]


_check_seed = check_seed  # one seed rule for physics and data (equinet.utils.seeding)


def _binary_mask(mask, size: Tuple[int, int], who: str) -> torch.Tensor:
    return check_mask(mask, size, f"{who} mask", "(H, W)")


# ------------------------------------------------------------------------------------------ Denoising
@PHYSICS.register("denoising")
class Denoising(LinearPhysics):
    """Identity operator ``A x = x`` (denoising: all information loss is in the noise model).

    ``image_size`` is optional; without it any image size is accepted (but ``in_shape`` is undefined).
    """

    def __init__(self, image_size=None, noise=None):
        super().__init__(image_size, noise=noise)

    def _forward(self, x):
        return x

    def _adjoint(self, y):
        return y

    def _pinv(self, y):
        return y

    def norm(self, *args, **kwargs) -> float:
        """Exactly 1 (the identity)."""
        return 1.0


# ----------------------------------------------------------------------------------------- Inpainting
@PHYSICS.register("inpainting")
class Inpainting(LinearPhysics):
    """Pixel-wise inpainting ``A x = b * x`` with a fixed 0/1 mask ``b`` shared by all channels.

    Args:
        image_size: ``N`` or ``(H, W)``.
        drop: fraction of pixels removed, in [0, 1); exactly ``round(drop * H * W)`` pixels are dropped,
            chosen by a ``torch.Generator`` seeded with ``seed``.
        seed: seed of the random mask.
        mask: optional user mask of shape ``(H, W)`` with entries 0/1 (1 = observed); overrides ``drop``.
        noise: a noise model for `measure` (dropped pixels stay exactly zero).

    The measurement lives in image space with zeros at dropped pixels. ``A`` is an orthogonal projector,
    so ``A^T = A`` and ``pinv = A`` (a right inverse on the range).
    """

    mask: torch.Tensor  # a buffer

    def __init__(self, image_size, drop: float = 0.3, seed: int = 0, mask=None, noise=None):
        size = as_image_size(image_size)
        super().__init__(size, noise=noise)
        if mask is None:
            if isinstance(drop, bool) or not isinstance(drop, numbers.Real) or not 0 <= drop < 1:
                raise ValueError(f"drop must be a fraction in [0, 1), got {drop!r}")
            n = size[0] * size[1]
            n_drop = int(round(float(drop) * n))
            g = torch.Generator().manual_seed(_check_seed(seed))
            flat = torch.ones(n, dtype=torch.get_default_dtype())
            flat[torch.randperm(n, generator=g)[:n_drop]] = 0
            mask = flat.reshape(size)
        else:
            mask = _binary_mask(mask, size, "Inpainting")
        self.register_buffer("mask", mask)

    @property
    def drop(self) -> float:
        """Fraction of dropped pixels."""
        return 1.0 - float(self.mask.mean())

    def _mask_like(self, t):
        return self.mask.to(device=t.device, dtype=t.dtype)

    def _measurement_mask(self, y):
        return self._mask_like(y)

    def _forward(self, x):
        return x * self._mask_like(x)

    def _adjoint(self, y):
        return y * self._mask_like(y)

    def _pinv(self, y):
        return y * self._mask_like(y)

    def extra_repr(self) -> str:
        return f"image_size={self._image_size}, drop={self.drop:.3g}"


# ----------------------------------------------------------------------------------------------- Blur
def gaussian_kernel(sigma, size=None, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Normalised (sum 1) Gaussian kernel sampled at integer offsets, shape ``size`` (odd).

    ``sigma`` is a positive float or a pair ``(sigma_y, sigma_x)`` in pixels; ``size`` an odd int or pair,
    by default ``2 * ceil(3 * sigma) + 1`` per axis.
    """
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
        sig = (float(sigma), float(sigma))
    elif isinstance(sigma, (tuple, list)) and len(sigma) == 2 and all(
            isinstance(s, numbers.Real) and not isinstance(s, bool) for s in sigma):
        sig = (float(sigma[0]), float(sigma[1]))
    else:
        raise TypeError(f"sigma must be a positive float or a pair of floats, got {sigma!r}")
    if not all(math.isfinite(s) and s > 0 for s in sig):
        raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
    if size is None:
        shape = tuple(2 * int(math.ceil(3 * s)) + 1 for s in sig)
    else:
        shape = as_image_size(size, "size")
        if shape[0] % 2 == 0 or shape[1] % 2 == 0:
            raise ValueError(f"gaussian_kernel size must be odd, got {shape}")
    check_memory(3 * 8 * shape[0] * shape[1], f"a Gaussian kernel of {shape[0]}x{shape[1]} pixels (sigma {sigma})")
    dtype = torch.get_default_dtype() if dtype is None else dtype
    ky = torch.arange(shape[0], dtype=torch.float64) - shape[0] // 2
    kx = torch.arange(shape[1], dtype=torch.float64) - shape[1] // 2
    k = torch.exp(-0.5 * (ky[:, None] / sig[0]) ** 2 - 0.5 * (kx[None, :] / sig[1]) ** 2)
    return (k / k.sum()).to(dtype)


@PHYSICS.register("blur")
class Blur(LinearPhysics):
    """Convolution ``A x = k * x`` with a fixed 2-D kernel (odd sizes, centre at ``(kh // 2, kw // 2)``).

    Args:
        kernel: 2-D tensor/array ``[kh, kw]``, applied to every channel (true convolution, not correlation).
        padding: ``"circular"`` (default: periodic boundary; ``A`` commutes with ``torch.roll`` and is
            diagonalised by the FFT) or ``"zeros"`` (zero boundary, output of the same size).
        image_size: optional ``N`` or ``(H, W)``; if given, inputs must have that size.
        reg: default Tikhonov parameter of `pinv`.
        noise: a noise model for `measure`.

    The adjoint is the correlation with the same kernel and the same boundary rule (exact for both paddings).
    ``pinv(y)`` is the Tikhonov/Wiener solution ``F^-1[conj(K) Y / (|K|^2 + reg)]``, i.e. the exact
    minimiser of ``||A x - y||^2 + reg ||x||^2`` for circular padding (an approximation for zero padding).
    """

    kernel: torch.Tensor  # a buffer
    padding: str
    reg: float

    def __init__(self, kernel, padding: str = "circular", image_size=None, reg: float = 1e-3, noise=None):
        super().__init__(image_size, noise=noise)
        if not isinstance(kernel, torch.Tensor):
            kernel = torch.as_tensor(kernel)
        if kernel.dim() != 2 or kernel.numel() == 0:
            raise ValueError(f"Blur kernel must be a non-empty 2-D array [kh, kw], got shape {tuple(kernel.shape)}")
        if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
            raise ValueError(f"Blur kernel sizes must be odd (so that its centre is a pixel), got "
                             f"{tuple(kernel.shape)}")
        if kernel.is_complex():
            raise TypeError("Blur kernel must be real")
        kernel = kernel.detach().clone()
        if not kernel.is_floating_point():
            kernel = kernel.to(torch.get_default_dtype())
        if not bool(torch.isfinite(kernel).all()):
            raise ValueError("Blur kernel must be finite")
        if padding not in ("circular", "zeros"):
            raise ValueError(f"padding must be 'circular' or 'zeros', got {padding!r}")
        if isinstance(reg, bool) or not isinstance(reg, numbers.Real) or not (math.isfinite(reg) and reg >= 0):
            raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
        if self._image_size is not None and (kernel.shape[0] > self._image_size[0]
                                             or kernel.shape[1] > self._image_size[1]):
            raise ValueError(f"Blur kernel {tuple(kernel.shape)} is larger than image_size {self._image_size}")
        self.padding = padding
        self.reg = float(reg)
        self.register_buffer("kernel", kernel)

    def _check_image(self, x):
        super()._check_image(x)
        kh, kw = self.kernel.shape
        if kh > x.shape[-2] or kw > x.shape[-1]:
            raise ValueError(f"Blur: kernel {(kh, kw)} is larger than the image {tuple(x.shape[-2:])}")

    def _check_measurement(self, y):
        super()._check_measurement(y)
        kh, kw = self.kernel.shape
        if kh > y.shape[-2] or kw > y.shape[-1]:
            raise ValueError(f"Blur: kernel {(kh, kw)} is larger than the measurement {tuple(y.shape[-2:])}")

    def _correlate(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        kh, kw = w.shape
        ph, pw = kh // 2, kw // 2
        mode = "circular" if self.padding == "circular" else "constant"
        xp = F.pad(x, (pw, pw, ph, ph), mode=mode)
        weight = w.to(device=x.device, dtype=x.dtype).expand(c, 1, kh, kw)
        return F.conv2d(xp, weight, groups=c)

    def _forward(self, x):
        return self._correlate(x, torch.flip(self.kernel, (0, 1)))

    def _adjoint(self, y):
        return self._correlate(y, self.kernel)

    def transfer_function(self, image_size, dtype: torch.dtype = torch.float64, device=None) -> torch.Tensor:
        """FFT of the kernel embedded with its centre at pixel (0, 0): the eigenvalues of circular ``A``."""
        h, w = as_image_size(image_size)
        kh, kw = self.kernel.shape
        if kh > h or kw > w:
            raise ValueError(f"Blur kernel {(kh, kw)} is larger than the image {(h, w)}")
        device = self.kernel.device if device is None else device
        kpad = torch.zeros(h, w, dtype=dtype, device=device)
        kpad[:kh, :kw] = self.kernel.to(device=device, dtype=dtype)
        kpad = torch.roll(kpad, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1))
        return torch.fft.fft2(kpad)

    @in_working_precision
    def pinv(self, y: torch.Tensor, reg: Optional[float] = None) -> torch.Tensor:
        """Tikhonov-regularised inverse ``F^-1[conj(K) Y / (|K|^2 + reg)]`` (``reg`` defaults to ``self.reg``)."""
        self._check_measurement(y)
        self._check_finite(y)
        reg = self.reg if reg is None else reg
        if isinstance(reg, bool) or not isinstance(reg, numbers.Real) or not (math.isfinite(reg) and float(reg) >= 0):
            raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
        return self._tikhonov(y, float(reg))

    def _pinv(self, y):
        return self._tikhonov(y, self.reg)

    def _tikhonov(self, y: torch.Tensor, reg: float) -> torch.Tensor:
        if y.numel() == 0:  # an empty batch (the FFT refuses zero-sized transforms)
            return torch.zeros_like(y)
        k = self.transfer_function(tuple(y.shape[-2:]), dtype=y.dtype, device=y.device)
        denom = k.abs() ** 2 + reg
        if reg == 0:
            # pseudo-inverse: invert only the frequencies the kernel does not annihilate
            tiny = 100 * torch.finfo(y.dtype).eps * float(denom.max())
            gain = torch.where(denom > tiny, k.conj() / denom.clamp_min(tiny), torch.zeros_like(k))
        else:
            gain = k.conj() / denom
        return torch.fft.ifft2(torch.fft.fft2(y) * gain).real

    def extra_repr(self) -> str:
        return (f"kernel={tuple(self.kernel.shape)}, padding={self.padding!r}, image_size={self._image_size}, "
                f"reg={self.reg}")


# ------------------------------------------------------------------------------- compressed sensing
def fwht(x: torch.Tensor) -> torch.Tensor:
    """Unnormalised fast Walsh-Hadamard transform along the last dim (length a power of 2, Sylvester order).

    Equals ``x @ H`` with ``H = scipy.linalg.hadamard(n)`` (symmetric, ``H @ H = n I``); differentiable.
    """
    n = x.shape[-1]
    if n < 1 or n & (n - 1):
        raise ValueError(f"fwht needs a power-of-2 length, got {n}")
    lead = x.shape[:-1]
    y = x.reshape(-1, n)
    h = 1
    while h < n:
        y = y.reshape(-1, n // (2 * h), 2, h)
        a, b = y[:, :, 0, :], y[:, :, 1, :]
        y = torch.stack((a + b, a - b), dim=2)
        h *= 2
    return y.reshape(*lead, n)


@PHYSICS.register("compressed_sensing")
class CompressedSensing(LinearPhysics):
    """Random linear measurements of the vectorised image: ``y = A vec(x)``, ``A`` of size ``m x (H W)``.

    Args:
        image_size: ``N`` or ``(H, W)``.
        m: number of measurements, ``1 <= m <= H * W``.
        kind: ``"gaussian"`` (i.i.d. ``N(0, 1/m)`` entries), ``"rademacher"`` (i.i.d. ``+-1/sqrt(m)``;
            single-pixel camera with random +-1 patterns) or ``"hadamard"`` (``m`` rows of the orthonormal
            Walsh-Hadamard matrix ``H / sqrt(HW)``: the constant row plus ``m - 1`` random rows; needs ``H W``
            a power of 2; applied with the fast transform, never stored).
        seed: seed of the random matrix / row choice (the matrix is regenerated from it, not stored in the
            state dict).
        noise: a noise model for `measure`.

    Measurements have shape ``[B, C, m]``. ``pinv`` is the exact Moore-Penrose pseudo-inverse
    ``A^T (A A^T)^-1`` (``= A^T`` for Hadamard rows, which are orthonormal).
    """

    KINDS: Tuple[str, ...] = ("gaussian", "rademacher", "hadamard")
    _image_size: Tuple[int, int]  # required here
    kind: str
    m: int
    seed: int
    _n: int

    def __init__(self, image_size, m: int, kind: str = "gaussian", seed: int = 0, noise=None):
        size = as_image_size(image_size)
        super().__init__(size, noise=noise)
        if kind not in self.KINDS:
            raise ValueError(f"{type(self).__name__} kind must be one of {self.KINDS}, got {kind!r}")
        n = size[0] * size[1]
        if isinstance(m, bool) or not isinstance(m, numbers.Integral) or not 1 <= m <= n:
            raise ValueError(f"m must be an int in [1, H*W] = [1, {n}], got {m!r}")
        if kind == "hadamard" and n & (n - 1):
            raise ValueError(f"kind='hadamard' needs H*W to be a power of 2, got {size[0]}*{size[1]} = {n}")
        self.kind = kind
        self.m = int(m)
        self.seed = _check_seed(seed)
        self._n = n
        g = torch.Generator().manual_seed(self.seed)
        self._cache: Dict[tuple, torch.Tensor] = {}
        self._rows: Optional[torch.Tensor] = None
        self._master: Optional[torch.Tensor] = None
        self._right_inverse: Optional[Tuple[str, torch.Tensor]] = None  # ('chol' or 'pinv', its factor)
        if kind == "gaussian":
            self._master = torch.randn(self.m, n, generator=g, dtype=torch.float64) / math.sqrt(self.m)
        elif kind == "rademacher":
            signs = torch.randint(0, 2, (self.m, n), generator=g, dtype=torch.int64)
            self._master = (2.0 * signs.to(torch.float64) - 1.0) / math.sqrt(self.m)
        else:
            others = 1 + torch.randperm(n - 1, generator=g)[: self.m - 1]
            self._rows = torch.sort(torch.cat((torch.zeros(1, dtype=torch.int64), others))).values

    def _measurement_tail(self, image_hw):
        return (self.m,)

    @property
    def rows(self) -> Optional[torch.Tensor]:
        """Indices of the Hadamard rows used (``kind="hadamard"``), else None."""
        return None if self._rows is None else self._rows.clone()

    @property
    def matrix(self) -> torch.Tensor:
        """The dense ``m x (H W)`` measurement matrix in float64 (built on demand for Hadamard)."""
        if self._master is not None:
            return self._master.clone()
        return fwht(torch.eye(self._n, dtype=torch.float64))[self._rows] / math.sqrt(self._n)

    def _get(self, name: str, dtype, device) -> torch.Tensor:
        key = (name, dtype, torch.device(device))
        t = self._cache.get(key)
        if t is None:
            if name == "A":
                t = self._master
            elif name == "rows":
                t = self._rows
            elif name == "L":
                t = self._right_inverse_factor()
            else:
                raise KeyError(name)
            if t is None:
                raise KeyError(f"{type(self).__name__}(kind={self.kind!r}) has no {name!r}")
            t = t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)
            self._cache[key] = t
        return t

    def _right_inverse_factor(self) -> torch.Tensor:
        """Cholesky factor of ``A A^T`` (float64); rank-deficient draws fall back to ``pinv(A)^T``."""
        if self._right_inverse is None:
            A = self._master
            if A is None:
                raise ValueError(f"{type(self).__name__}(kind={self.kind!r}) has no dense matrix to invert")
            gram = A @ A.T
            chol, info = torch.linalg.cholesky_ex(gram)
            if int(info) == 0:
                self._right_inverse = ("chol", chol)
            else:
                self._right_inverse = ("pinv", torch.linalg.pinv(A).T.contiguous())
        return self._right_inverse[1]

    def _forward(self, x):
        b, c = x.shape[:2]
        flat = x.reshape(b, c, self._n)
        if self.kind == "hadamard":
            rows = self._get("rows", torch.int64, x.device)
            return fwht(flat).index_select(-1, rows) / math.sqrt(self._n)
        return flat @ self._get("A", x.dtype, x.device).T

    def _adjoint(self, y):
        b, c = y.shape[:2]
        h, w = self._image_size
        if self.kind == "hadamard":
            rows = self._get("rows", torch.int64, y.device)
            z = y.new_zeros(b, c, self._n).index_copy(-1, rows, y)
            return (fwht(z) / math.sqrt(self._n)).reshape(b, c, h, w)
        return (y @ self._get("A", y.dtype, y.device)).reshape(b, c, h, w)

    def _pinv(self, y):
        if self.kind == "hadamard":
            return self._adjoint(y)
        b, c = y.shape[:2]
        h, w = self._image_size
        factor = self._get("L", y.dtype, y.device)
        cols = y.reshape(b * c, self.m).T
        inverse = self._right_inverse  # set when the factor was built
        if inverse is not None and inverse[0] == "chol":
            coef = torch.cholesky_solve(cols, factor)
            return self._adjoint(coef.T.reshape(b, c, self.m))
        return (cols.T @ factor).reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return f"image_size={self._image_size}, m={self.m}, kind={self.kind!r}, seed={self.seed}"


@PHYSICS.register("single_pixel")
class SinglePixel(CompressedSensing):
    """Single-pixel camera: ``CompressedSensing`` with ``kind="hadamard"`` (default) or ``"rademacher"`` patterns."""

    KINDS = ("hadamard", "rademacher")

    def __init__(self, image_size, m: int, kind: str = "hadamard", seed: int = 0, noise=None):
        super().__init__(image_size, m, kind=kind, seed=seed, noise=noise)
