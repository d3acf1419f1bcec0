"""The linear forward-operator interface shared by all of ``equinet.physics``.

A ``LinearPhysics`` operator ``A`` maps an image batch ``x`` of shape ``[B, C, H, W]`` to a measurement
batch ``y = A x`` of shape ``[B, C', *out_tail]``. Subclasses implement ``_forward`` (``A x``) and
``_adjoint`` (``A^T y``, the exact discrete adjoint for the real inner product on flattened tensors) and
usually ``_pinv``; the public methods validate shapes and dtypes and add noise, data fidelity, its
gradient and a power-iteration estimate of ``||A||_2``.

Channel handling: operators with ``channels = None`` act identically and independently on every channel
(``A`` is really ``A_1 (x) I_C``) and accept any ``C``; ``in_shape``/``out_shape`` then report one channel.
Operators with a fixed channel count (MRI: 2 = real, imaginary) reject other counts.

Precision (one rule for every operator): float32 and float64 inputs are computed in their own dtype; float16 and
bfloat16 inputs are computed in float32 (sparse products, FFTs and solves have no reduced-precision CPU kernels,
and their sums lose too much in 16 bits) and the result is cast back to the input's dtype. Inside
``torch.autocast`` the operators run with autocast disabled, so they compute in the dtype they were given (a
network's bfloat16 output is computed in float32, then cast back). Other dtypes raise a TypeError.
"""

from __future__ import annotations

import contextlib
import functools
import math
import numbers
from typing import Optional, Tuple

import torch
from torch import nn

from ..utils.checks import check_image_size, check_memory
from ..utils.registry import Registry
from .noise import NoiseModel, NoNoise

__all__ = ["LinearPhysics", "as_image_size", "REDUCED_PRECISION", "in_working_precision", "PHYSICS"]

#: name -> operator class (the TOML's ``[physics] name``); each operator registers itself where defined
PHYSICS: Registry = Registry("physics")

#: dtypes computed in float32 and cast back (see the module docstring)
REDUCED_PRECISION = (torch.float16, torch.bfloat16)


def _no_autocast(t: torch.Tensor):
    dev = t.device.type
    try:
        on = torch.is_autocast_enabled(dev)
    except TypeError:  # torch < 2.4 takes no device type
        on = torch.is_autocast_enabled() if dev == "cuda" else torch.is_autocast_cpu_enabled()
    return torch.autocast(dev, enabled=False) if on else contextlib.nullcontext()


def in_working_precision(method):
    """Decorator of the public operator methods: float16/bfloat16 tensor arguments are computed in float32 and the
    tensor result is cast back to the first argument's dtype; autocast is disabled inside (the precision rule of
    the module docstring). float32/float64 arguments pass through unchanged.

    >>> from equinet.physics import Radon
    >>> Radon(8, angles=4)(torch.ones(1, 1, 8, 8, dtype=torch.bfloat16)).dtype
    torch.bfloat16
    """
    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        first = next((a for a in args if isinstance(a, torch.Tensor)), None)
        if first is None:
            return method(self, *args, **kwargs)
        low = first.dtype in REDUCED_PRECISION
        if low:
            args = tuple(a.float() if isinstance(a, torch.Tensor) and a.dtype in REDUCED_PRECISION else a
                         for a in args)
        with _no_autocast(first):
            out = method(self, *args, **kwargs)
        return out.to(first.dtype) if low and isinstance(out, torch.Tensor) else out
    return wrapped


def as_image_size(image_size, name: str = "image_size") -> Tuple[int, int]:
    """Normalise ``image_size`` (an int ``n`` for ``n x n``, or a pair ``(H, W)``) to a tuple of two positive ints
    (`equinet.utils.checks.check_image_size`)."""
    size = check_image_size(image_size, name)
    check_memory(8 * size[0] * size[1], f"one {size[0]}x{size[1]} image ({name})")
    return size


class LinearPhysics(nn.Module):
    """Base class of linear forward operators ``y = A x`` on image batches ``[B, C, H, W]``.

    Public interface: ``op(x)`` (= ``A x``), ``op.adjoint(y)``, ``op.pinv(y)``, ``op.measure(x, generator)``,
    ``op.data_fidelity(u, y)``, ``op.grad_data_fidelity(u, y)``, ``op.norm()``, ``op.in_shape``,
    ``op.out_shape``, ``op.image_size`` and the attached noise model ``op.noise``.
    """

    #: fixed number of image channels, or None for operators acting channel-wise on any number of channels
    channels: Optional[int] = None

    def __init__(self, image_size=None, noise: Optional[NoiseModel] = None):
        super().__init__()
        self._image_size = None if image_size is None else as_image_size(image_size)
        if noise is None:
            noise = NoNoise()
        if not isinstance(noise, NoiseModel):
            raise TypeError(f"noise must be an equinet.physics.noise.NoiseModel, got {type(noise).__name__}")
        self.noise = noise

    # ----------------------------------------------------------------------------------------- shapes
    @property
    def image_size(self) -> Optional[Tuple[int, int]]:
        """(H, W) of the images the operator acts on (None if the operator accepts any size)."""
        return self._image_size

    def _measurement_tail(self, image_hw: Tuple[int, int]) -> Tuple[int, ...]:
        """Measurement dims after [B, C] for images of spatial size ``image_hw`` (default: same as image)."""
        return tuple(image_hw)

    def _require_size(self) -> Tuple[int, int]:
        if self._image_size is None:
            raise ValueError(f"{type(self).__name__} was built without image_size; pass image_size=... to get shapes")
        return self._image_size

    @property
    def in_shape(self) -> Tuple[int, ...]:
        """Shape of one input item ``(C, H, W)`` (C = 1 for channel-wise operators)."""
        h, w = self._require_size()
        return (self.channels or 1, h, w)

    @property
    def out_shape(self) -> Tuple[int, ...]:
        """Shape of one measurement item ``(C, ...)`` (C = 1 for channel-wise operators)."""
        return (self.channels or 1,) + tuple(self._measurement_tail(self._require_size()))

    # ------------------------------------------------------------------------------------ validation
    def _check_tensor(self, t, what: str) -> None:
        name = type(self).__name__
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}: expected {what} as a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name}: expected {what} as a real floating-point tensor (float32/float64; float16/"
                            f"bfloat16 are computed in float32), got dtype {t.dtype}")

    def _check_image(self, x) -> None:
        name = type(self).__name__
        self._check_tensor(x, "an image batch")
        if x.dim() != 4:
            raise ValueError(f"{name}: expected an image batch of shape [B, C, H, W], got shape {tuple(x.shape)}")
        if self.channels is not None and x.shape[1] != self.channels:
            raise ValueError(f"{name}: expected {self.channels} channels, got {x.shape[1]} (shape {tuple(x.shape)})")
        if self._image_size is not None and tuple(x.shape[-2:]) != self._image_size:
            raise ValueError(f"{name}: expected image size {self._image_size} (H, W), got {tuple(x.shape[-2:])}")

    def _check_measurement(self, y) -> None:
        name = type(self).__name__
        self._check_tensor(y, "a measurement batch")
        tail: tuple[int, ...] | None
        if self._image_size is not None:
            tail = tuple(self._measurement_tail(self._image_size))
        else:
            tail = tuple(y.shape[2:]) if y.dim() == 4 else None
        if tail is None or y.dim() != 2 + len(tail):
            expect = f"[B, C, {', '.join(map(str, tail))}]" if tail is not None else "[B, C, H, W]"
            raise ValueError(f"{name}: expected a measurement batch of shape {expect}, got shape {tuple(y.shape)}")
        if self.channels is not None and y.shape[1] != self.channels:
            raise ValueError(f"{name}: expected {self.channels} measurement channels, got {y.shape[1]}")
        if tuple(y.shape[2:]) != tail:
            raise ValueError(f"{name}: expected measurement dims {tail} after [B, C], got {tuple(y.shape[2:])}")

    @staticmethod
    def _check_finite(y: torch.Tensor, what: str = "measurements") -> None:
        if not bool(torch.isfinite(y).all()):
            raise ValueError(f"{what} contain NaN or inf; clean or mask them before applying the operator's "
                             f"adjoint, pseudo-inverse or data fidelity")

    # ------------------------------------------------------------------------------ subclass hooks
    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _forward")

    def _adjoint(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _adjoint")

    def _pinv(self, y: torch.Tensor) -> torch.Tensor:
        """Default pseudo-inverse: conjugate gradients on ``A^T A x = A^T y`` from 0, i.e. the minimum-norm
        least-squares solution."""
        return self._cg_normal(y, n_iter=200, tol=1e-10)

    def _measurement_mask(self, y: torch.Tensor) -> Optional[torch.Tensor]:
        """0/1 mask of the entries that are really measured (noise is zeroed elsewhere); None = all."""
        return None

    # --------------------------------------------------------------------------------- public API
    @in_working_precision
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Noise-free measurement ``A x``."""
        self._check_image(x)
        return self._forward(x)

    @in_working_precision
    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """Exact discrete adjoint ``A^T y`` (``y`` must be finite)."""
        self._check_measurement(y)
        self._check_finite(y)
        return self._adjoint(y)

    @in_working_precision
    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """Approximate inverse ``A^+ y`` (operator specific, see the class docstring; ``y`` must be finite)."""
        self._check_measurement(y)
        self._check_finite(y)
        return self._pinv(y)

    @in_working_precision
    def measure(self, x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Noisy measurement ``noise(A x)`` with the attached noise model; deterministic given ``generator``."""
        y = self.noise(self.forward(x), generator=generator)
        mask = self._measurement_mask(y)
        return y if mask is None else y * mask

    def measurement_mask(self, y: torch.Tensor) -> Optional[torch.Tensor]:
        """The 0/1 mask of the entries of ``y`` that are really measured (None: all of them)."""
        return self._measurement_mask(y)

    def measure_straight_through(self, x: torch.Tensor,
                                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """A fresh noisy measurement of ``x`` with the gradient of the clean one: ``A x + stopgrad(y - A x)`` with
        ``y`` the value `measure` gives (noise on ``A x``, zero outside the measured entries). Poisson rates are
        clamped at 0 for the draw, since a network's output may make ``A x`` slightly negative.

        >>> import torch
        >>> from equinet.physics import GaussianNoise, Inpainting
        >>> A = Inpainting(8, drop=0.5, seed=0, noise=GaussianNoise(0.1))
        >>> x = torch.rand(1, 1, 8, 8, requires_grad=True)
        >>> y = A.measure_straight_through(x, torch.Generator().manual_seed(1))
        >>> torch.equal(y.detach(), A.measure(x.detach(), torch.Generator().manual_seed(1)))
        True
        >>> y.sum().backward(); torch.equal(x.grad, A.adjoint(torch.ones_like(y)))
        True
        """
        clean = self(x)
        rate = clean.detach()
        if self.noise.nonnegative_rate:
            rate = rate.clamp_min(0)
        y = self.noise(rate, generator=generator)
        mask = self.measurement_mask(y)
        if mask is not None:
            y = y * mask
        return clean + (y - clean).detach()

    def _check_pair(self, u: torch.Tensor, y: torch.Tensor) -> None:
        self._check_image(u)
        self._check_measurement(y)
        if u.shape[0] != y.shape[0] or u.shape[1] != y.shape[1]:
            raise ValueError(f"{type(self).__name__}: image batch {tuple(u.shape[:2])} and measurement batch "
                             f"{tuple(y.shape[:2])} must agree in [B, C]")
        self._check_finite(y)

    @in_working_precision
    def data_fidelity(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``0.5 * ||A u - y||^2`` for each batch element (shape [B])."""
        self._check_pair(u, y)
        r = self._forward(u) - y
        return 0.5 * r.reshape(r.shape[0], -1).pow(2).sum(dim=1)

    @in_working_precision
    def grad_data_fidelity(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Gradient of the data fidelity with respect to ``u``: ``A^T (A u - y)``."""
        self._check_pair(u, y)
        return self._adjoint(self._forward(u) - y)

    def _default_device(self) -> torch.device:
        for t in self.buffers():
            return t.device
        return torch.device("cpu")

    def norm(self, n_iter: int = 100, tol: float = 1e-7, dtype: torch.dtype = torch.float64,
             device=None, seed: int = 0) -> float:
        """Estimate ``||A||_2`` by power iteration on ``A^T A`` (deterministic: random start from ``seed``).

        Stops after ``n_iter`` iterations or when the Rayleigh quotient changes by less than ``tol``
        (relative). The estimate approaches the true norm from below.
        """
        if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive int, got {n_iter!r}")
        device = self._default_device() if device is None else torch.device(device)
        g = torch.Generator(device="cpu").manual_seed(int(seed))
        x = torch.randn((1,) + tuple(self.in_shape), generator=g, dtype=dtype).to(device)
        x = x / x.norm()
        lam = 0.0
        with torch.no_grad():
            for _ in range(int(n_iter)):
                z = self._adjoint(self._forward(x))
                lam_new = float((x * z).sum())  # Rayleigh quotient <x, A^T A x> with ||x|| = 1
                nz = float(z.norm())
                if nz == 0.0:
                    return 0.0
                x = z / nz
                if abs(lam_new - lam) <= tol * abs(lam_new):
                    lam = lam_new
                    break
                lam = lam_new
        return math.sqrt(max(lam, 0.0))

    def _cg_normal(self, y: torch.Tensor, n_iter: int, tol: float) -> torch.Tensor:
        """Conjugate gradients on the normal equations, started at 0 (minimum-norm least squares)."""
        b = self._adjoint(y)
        x = torch.zeros_like(b)
        r = b.clone()
        p = r.clone()
        dims = tuple(range(1, r.dim()))
        rs = (r * r).sum(dim=dims, keepdim=True)
        rs0 = rs.clone()
        for _ in range(n_iter):
            if bool((rs <= (tol**2) * rs0.clamp_min(torch.finfo(rs.dtype).tiny)).all()):
                break
            q = self._adjoint(self._forward(p))
            denom = (p * q).sum(dim=dims, keepdim=True)
            alpha = torch.where(denom > 0, rs / denom.clamp_min(torch.finfo(rs.dtype).tiny), torch.zeros_like(rs))
            x = x + alpha * p
            r = r - alpha * q
            rs_new = (r * r).sum(dim=dims, keepdim=True)
            beta = torch.where(rs > 0, rs_new / rs.clamp_min(torch.finfo(rs.dtype).tiny), torch.zeros_like(rs))
            p = r + beta * p
            rs = rs_new
        return x

    def extra_repr(self) -> str:
        return f"image_size={self._image_size}"
