"""Alias-free pointwise nonlinearities: σ evaluated at twice the sampling rate, followed by a radial low-pass filter
and a read-back at the input pixels (the idea of Karras et al., "Alias-Free Generative Adversarial Networks",
NeurIPS 2021, on the centred grids of ``equinet.nn.resampling``).

A pointwise ReLU puts kinks into a smooth feature map, i.e. energy above the grid's band limit; the next sampled
convolution sees aliases that depend on how the grid is oriented, which is how ReLU networks lose the off-grid
(e.g. 45°) equivariance of their kernels. Here each channel is

1. upsampled 2x, bilinearly, onto the fine grid x_i + (±1/4, ±1/4) (``Upsample2x(mode='bilinear')``: weights 3/4,
   1/4 per axis, borders replicated);
2. passed through σ on the fine grid, where the kinks' harmonics alias far less;
3. low-pass filtered on the fine grid by a radially symmetric windowed jinc with cutoff ``cutoff`` (< 1/2 cycle
   per input pixel, so the harmonics between the cutoff and the input's Nyquist frequency go too) and read back
   at the input pixels: one depthwise ``taps`` x ``taps`` convolution of stride 2 on the fine grid (zero padding).

Both steps use filters with the square grid's symmetry on grids centred on the input grid, so the layer is exactly
equivariant to 90° rotations and flips (about the image centre) at every size, odd or even; it keeps the shape.
It has no parameters (the filter is a fixed, non-persistent buffer) and exports to ``nn.Upsample``, the ``nn``
activation and a depthwise ``nn.Conv2d``. Trade-off (docs/alias_free.md): the output is band-limited to
``cutoff``, i.e. blurred (on positive inputs, the identity for a ReLU, the gain is 0.69 at 0.2 cycles/px: docs E),
and the fine grid costs memory traffic (4x the activations).

`QuincunxAliasFreeNonlinearity` is the cheaper, sharper variant measured against it (docs/alias_free.md): σ on the
quincunx grid (the pixels plus the cell centres, 2x the samples instead of 4x), read back by a least-squares filter
pair whose passband is flat (positive band-limited inputs pass unchanged up to ``passband``), optionally filtering
only the |x| part of ReLU(x) = (x + |x|)/2. It trains 0.7-0.9 dB better in the CT proxy and its train step is
1.38x a plain convolution's instead of 1.50x, but its off-grid error in a depth-5 network is 3x larger, so the
default (``NetSpec(activation='relu_aa')``) stays the square-grid layer.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .export import plain
from .field_type import as_field_type
from .module import EquivariantModule
from .nonlinearity import POINTWISE, require_pointwise

#: defaults chosen by measurement (docs/alias_free.md): low-pass cutoff in cycles per input pixel, fine-grid taps
#: per axis of the low-pass (window radius taps/4 input pixels) and the Kaiser window's shape
DEFAULT_CUTOFF = 0.35
DEFAULT_TAPS = 10
KAISER_BETA = 4.0


def windowed_jinc(r: np.ndarray, cutoff: float, radius: float, beta: float = KAISER_BETA) -> np.ndarray:
    """The ideal radial low-pass of ``cutoff`` cycles/px, h(r) = f·J1(2πfr)/r, times a radial Kaiser window that
    vanishes at ``radius`` px (unnormalised)."""
    from scipy.special import j1
    r = np.asarray(r, dtype=np.float64)
    safe = np.maximum(r, 1e-12)
    h = np.where(r < 1e-12, math.pi * cutoff ** 2, cutoff * j1(2 * math.pi * cutoff * safe) / safe)
    inside = np.clip(1.0 - (r / radius) ** 2, 0.0, 1.0)
    w = np.where(r < radius, np.i0(beta * np.sqrt(inside)) / np.i0(beta), 0.0)
    return h * w


@functools.lru_cache(maxsize=32)
def lowpass_filter(cutoff: float = DEFAULT_CUTOFF, taps: int = DEFAULT_TAPS) -> np.ndarray:
    """The low-pass read-back filter: a ``taps`` x ``taps`` array (float64, sums to 1, F.conv2d layout) on the fine
    grid around an input pixel, i.e. at the offsets (±1/4, ±3/4, ...) input pixels, values of the windowed jinc
    (cutoff ``cutoff`` cycles per input pixel, window radius taps/4 input pixels). Tap (row, col) is the offset
    ((col - c)/2, (c - row)/2) in (x, y), c = (taps - 1)/2."""
    t = np.arange(taps)
    c = (taps - 1) / 2
    rows, cols = np.meshgrid(t, t, indexing="ij")
    h = windowed_jinc(np.hypot((cols - c) / 2, (c - rows) / 2), cutoff, taps / 4)
    h = h / h.sum()
    h.setflags(write=False)
    return h


def _check_options(cutoff, taps):
    if isinstance(taps, bool) or not isinstance(taps, int) or taps < 2 or taps % 2:
        raise ValueError(f"AliasFreeNonlinearity taps must be an even integer >= 2 (the fine grid has two samples "
                         f"per input pixel, symmetric about it), got {taps!r}")
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not 0.0 < cutoff <= 0.5:
        raise ValueError(f"AliasFreeNonlinearity cutoff must be in (0, 0.5] cycles per pixel (0.5 is the input's "
                         f"Nyquist frequency), got {cutoff!r}")


class AliasFreeNonlinearity(EquivariantModule):
    """A pointwise nonlinearity evaluated on a 2x finer grid (bilinear upsampling), then low-pass filtered by a
    radial windowed jinc and read back at the input pixels (module docstring): the ReLU's kinks no longer alias,
    so networks keep the off-grid equivariance of their kernels (docs/alias_free.md).

    Args:
        in_type: the field type; every field must permute channels (trivial, regular, quotient), as for
            `PointwiseNonlinearity`.
        function: 'relu' (default), 'leaky_relu', 'elu', 'tanh', 'sigmoid' or 'softplus'.
        cutoff: the low-pass cutoff in cycles per input pixel, in (0, 0.5]; lower is more equivariant off the grid
            and blurrier.
        taps: fine-grid taps per axis of the low-pass (even; default 10, i.e. a window radius of 2.5 input px).
        **kwargs: options of the torch activation (e.g. ``negative_slope``).

    Exactly equivariant to 90° rotations and flips for every image size; shape-preserving; no parameters;
    positively homogeneous with 'relu' / 'leaky_relu'. Exports to ``nn.Sequential(nn.Upsample, <activation>,
    nn.Conv2d)``.
    """

    def __init__(self, in_type, function: str = "relu", cutoff: float = DEFAULT_CUTOFF, taps: int = DEFAULT_TAPS,
                 **kwargs):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if function not in POINTWISE:
            raise ValueError(f"unknown pointwise function {function!r}; expected one of {sorted(POINTWISE)}")
        require_pointwise(self.in_type, f"AliasFreeNonlinearity({function!r})")
        _check_options(cutoff, taps)
        try:
            self.fn = POINTWISE[function](**kwargs)
        except TypeError as e:
            raise TypeError(f"bad options for the pointwise {function!r}: {e}") from None
        self.function, self.kwargs = function, dict(kwargs)
        self.cutoff, self.taps = float(cutoff), taps
        h = torch.tensor(np.array(lowpass_filter(self.cutoff, taps)), dtype=torch.get_default_dtype())
        self.register_buffer("lowpass", h.expand(self.in_type.size, 1, taps, taps).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        # channels-last: the CPU kernels of the fine-grid steps are ~1.4x faster so (docs/alias_free.md, C)
        fine = F.interpolate(x.contiguous(memory_format=torch.channels_last), scale_factor=2, mode="bilinear",
                             align_corners=False)
        y = F.conv2d(self.fn(fine), self.lowpass, stride=2, padding=self.taps // 2 - 1, groups=x.shape[1])
        return y.contiguous()

    def export(self) -> nn.Module:
        C, t = self.in_type.size, self.taps
        conv = nn.Conv2d(C, C, t, stride=2, padding=t // 2 - 1, groups=C, bias=False)
        conv.to(device=self.lowpass.device, dtype=self.lowpass.dtype)
        with torch.no_grad():
            conv.weight.copy_(self.lowpass)
        conv.weight.requires_grad_(False)
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                             POINTWISE[self.function](**self.kwargs), conv).eval()

    def extra_repr(self) -> str:
        return f"{self.function}, cutoff={self.cutoff}, taps={self.taps}, in={self.in_type}"


# ----- the quincunx variant -----

#: QuincunxAliasFreeNonlinearity defaults (docs/alias_free.md): passband edge and stopband start in cycles per input
#: pixel, and the pixel filter's size (the cell-centre filter is one smaller)
DEFAULT_PASSBAND = 0.25
DEFAULT_STOPBAND = 0.5
DEFAULT_SIZE = 7
#: least-squares weights of the design's three bands and the frequency grid's points per axis (0..1 cycle/px)
_WEIGHTS = (10.0, 1.0, 1.0)
_GRID = 101
#: functions that split into a linear and an |x| part: σ(x) = a·x + b·|x|, (a, b) from the options
_SPLIT = {"relu": lambda: (0.5, 0.5),
          "leaky_relu": lambda negative_slope=0.01: ((1 + negative_slope) / 2, (1 - negative_slope) / 2)}


def _offsets(size: int) -> np.ndarray:
    """(size, size, 2) offsets (x, y) in input pixels of a centred filter's taps: tap (row, col) sits at
    (col - c, c - row), c = (size - 1)/2 (integers for odd sizes, half-integers for even sizes)."""
    t = np.arange(size)
    c = (size - 1) / 2
    rows, cols = np.meshgrid(t, t, indexing="ij")
    return np.stack([cols - c, c - rows], axis=-1).astype(np.float64)


def _orbit_basis(size: int, fx: np.ndarray, fy: np.ndarray):
    """Cosine responses at (fx, fy) of the D4 orbits of a size x size filter: ((n_freq, n_orbits), orbit map)."""
    p = _offsets(size)
    a, b = np.abs(p[..., 0]), np.abs(p[..., 1])
    key = np.round(np.minimum(a, b) * 1000 + np.maximum(a, b), 6)
    keys, orbit = np.unique(key, return_inverse=True)
    orbit = orbit.reshape(size, size)
    cols = [np.cos(2 * np.pi * (np.outer(fx, p[orbit == k][:, 0]) + np.outer(fy, p[orbit == k][:, 1]))).sum(1)
            for k in range(len(keys))]
    return np.stack(cols, axis=1), orbit


def cell_gain(fx, fy):
    """Response of the cell-centre samples to a pixel-grid signal: the mean of 4 pixels at (±1/2, ±1/2)."""
    return np.cos(np.pi * np.asarray(fx)) * np.cos(np.pi * np.asarray(fy))


@functools.lru_cache(maxsize=32)
def quincunx_filters(passband: float = DEFAULT_PASSBAND, stopband: float = DEFAULT_STOPBAND,
                     size: int = DEFAULT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The read-back filters (float64, read-only, F.conv2d layout): ``pixel`` (size x size, on the input pixels)
    and ``cell`` ((size-1) x (size-1), on the cell centres), with the square grid's symmetry, jointly summing to 1.

    Weighted least squares on the frequency quadrant [0, 1]²: for |f| <= ``passband``, ``P(f) + C(f)·g(f) = 1``
    (P, C: the filters' responses, g = `cell_gain`: the layer is the identity on positive inputs); for
    |f| >= ``stopband`` inside the quincunx band |f_x| + |f_y| <= 1, ``P(f) + C(f) = 0`` (σ's harmonics on the
    quincunx grid are removed); in between, ``P + C·g`` follows a radial raised cosine from 1 to 0."""
    w1 = np.linspace(0.0, 1.0, _GRID)
    fx, fy = (g.ravel() for g in np.meshgrid(w1, w1))
    r = np.hypot(fx, fy)
    P, orb_p = _orbit_basis(size, fx, fy)
    C, orb_c = _orbit_basis(size - 1, fx, fy)
    g = cell_gain(fx, fy)
    inside = fx + fy <= 1 + 1e-9
    pas, tra, sto = r <= passband, (r > passband) & (r < stopband) & inside, (r >= stopband) & inside
    roll = 0.5 * (1 + np.cos(np.pi * (r - passband) / (stopband - passband)))
    linear, quinc = np.concatenate([P, C * g[:, None]], 1), np.concatenate([P, C], 1)
    wp, wt, ws = _WEIGHTS
    A = np.concatenate([wp * linear[pas], wt * linear[tra], ws * quinc[sto]])
    y = np.concatenate([wp * np.ones(pas.sum()), wt * roll[tra], np.zeros(sto.sum())])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    n = P.shape[1]
    pixel, cell = coef[:n][orb_p], coef[n:][orb_c]
    total = pixel.sum() + cell.sum()
    pixel, cell = pixel / total, cell / total
    pixel.setflags(write=False)
    cell.setflags(write=False)
    return pixel, cell


def linear_response(pixel: np.ndarray, cell: np.ndarray, fx: float, fy: float) -> float:
    """The layer's response at (fx, fy) cycles/px on a positive (i.e. linear) input: P + C·`cell_gain`."""
    return float(_response(pixel, fx, fy) + _response(cell, fx, fy) * cell_gain(fx, fy))


def quincunx_response(pixel: np.ndarray, cell: np.ndarray, fx: float, fy: float) -> float:
    """The read-back's response at (fx, fy) to a signal on the quincunx grid (what σ's harmonics see): P + C."""
    return float(_response(pixel, fx, fy) + _response(cell, fx, fy))


def _response(h, fx, fy):
    p = _offsets(h.shape[0])
    return (h * np.cos(2 * np.pi * (fx * p[..., 0] + fy * p[..., 1]))).sum()


def _check_quincunx_options(passband, stopband, size):
    if isinstance(size, bool) or not isinstance(size, int) or size < 3 or size % 2 == 0:
        raise ValueError(f"QuincunxAliasFreeNonlinearity size must be an odd integer >= 3 (the pixel filter is "
                         f"centred on a pixel, the cell-centre filter is size - 1), got {size!r}")
    for name, v in (("passband", passband), ("stopband", stopband)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < v <= 1.0:
            raise ValueError(f"QuincunxAliasFreeNonlinearity {name} must be in (0, 1] cycles per pixel, got {v!r}")
    if not passband < stopband:
        raise ValueError(f"QuincunxAliasFreeNonlinearity needs passband < stopband, got {passband!r} and {stopband!r}")


def _alias_free(x, fn, pixel_w, cell_w, linear, odd: int):
    """The layer's computation (shared by the module and its export): AA(σ) with ``fn`` = σ if ``linear`` is None,
    else a·x + AA(|x|) with a = ``linear`` and the filters already scaled by b (``fn`` unused). ``odd``: the pixel
    filter's size. The sums are in place (measured 0.52 -> 0.41 of a plain step with the bypass, docs E)."""
    if linear is not None:
        fn = torch.abs
    # the cell-centre samples: means of 2x2 blocks of the replicate-padded input, (H+1) x (W+1), at (±1/2, ±1/2)
    cells = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 2, stride=1)
    C = x.shape[1]
    y = F.conv2d(fn(x), pixel_w, padding=odd // 2, groups=C)
    y = y.add_(F.conv2d(fn(cells), cell_w, padding=odd // 2 - 1, groups=C))
    if linear is not None:
        y = y.add_(x, alpha=linear)
    return y


class _AliasFreePlain(nn.Module):
    """Torch-only twin of `QuincunxAliasFreeNonlinearity` for export (traced by `plain`)."""

    def __init__(self, fn, pixel_w, cell_w, linear, odd):
        super().__init__()
        self.fn, self.linear, self.odd = fn, linear, odd
        self.register_buffer("pixel", pixel_w.detach().clone())
        self.register_buffer("cell", cell_w.detach().clone())

    def forward(self, x):
        return _alias_free(x, self.fn, self.pixel, self.cell, self.linear, self.odd)


class QuincunxAliasFreeNonlinearity(EquivariantModule):
    """A pointwise nonlinearity evaluated on the quincunx grid (the pixels and the cell centres, whose values are
    4-pixel means), then filtered back onto the pixels by a least-squares filter pair (`quincunx_filters`): the
    kinks' harmonics are removed from ``stopband`` on, while positive content up to ``passband`` passes
    unchanged (docs/alias_free.md, E).

    Args:
        in_type: the field type; every field must permute channels (trivial, regular, quotient), as for
            `PointwiseNonlinearity`.
        function: 'relu' (default), 'leaky_relu', 'elu', 'tanh', 'sigmoid' or 'softplus'.
        passband: cycles per input pixel up to which a positive input passes unchanged (default 0.25).
        stopband: cycles per pixel from which the nonlinearity's harmonics are removed (default 0.5); lower is more
            equivariant off the grid and blurrier.
        size: the pixel filter's size (odd, default 7; the cell-centre filter is size - 1).
        linear_bypass: 'relu' / 'leaky_relu' only: σ(x) = a·x + b·|x| is computed as a·x + b·AA(|x|), so the
            linear part passes untouched and only the kinks are filtered.
        **kwargs: options of the torch activation (e.g. ``negative_slope``).

    Exactly equivariant to 90° rotations and flips for every image size; shape-preserving; no parameters;
    positively homogeneous with 'relu' / 'leaky_relu'. Exports to a torch-only traced module.
    """

    def __init__(self, in_type, function: str = "relu", passband: float = DEFAULT_PASSBAND,
                 stopband: float = DEFAULT_STOPBAND, size: int = DEFAULT_SIZE, linear_bypass: bool = False,
                 **kwargs):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if function not in POINTWISE:
            raise ValueError(f"unknown pointwise function {function!r}; expected one of {sorted(POINTWISE)}")
        require_pointwise(self.in_type, f"QuincunxAliasFreeNonlinearity({function!r})")
        _check_quincunx_options(passband, stopband, size)
        try:
            self.fn = POINTWISE[function](**kwargs)
            self.linear = _SPLIT[function](**kwargs) if linear_bypass and function in _SPLIT else None
        except TypeError as e:
            raise TypeError(f"bad options for the pointwise {function!r}: {e}") from None
        if linear_bypass and function not in _SPLIT:
            raise ValueError(f"QuincunxAliasFreeNonlinearity(linear_bypass=True) needs a function of the form "
                             f"a·x + b·|x| ({sorted(_SPLIT)}), got {function!r}")
        if self.linear is not None:
            self.fn = None  # a·x + b·AA(|x|) instead
        self.function, self.kwargs = function, dict(kwargs)
        self.passband, self.stopband, self.size = float(passband), float(stopband), size
        pixel, cell = quincunx_filters(self.passband, self.stopband, size)
        if self.linear is not None:  # a·x + b·AA(|x|): b goes into the filters, a stays
            self.linear, b = self.linear
            pixel, cell = b * pixel, b * cell
        C, dtype = self.in_type.size, torch.get_default_dtype()
        self.register_buffer("pixel", torch.tensor(np.array(pixel), dtype=dtype).expand(C, 1, size, size).clone(),
                             persistent=False)
        self.register_buffer("cell", torch.tensor(np.array(cell), dtype=dtype)
                             .expand(C, 1, size - 1, size - 1).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        # channels-last: the CPU depthwise kernels are faster so (docs/alias_free.md, C)
        y = _alias_free(x.contiguous(memory_format=torch.channels_last), self.fn, self.pixel, self.cell,
                        self.linear, self.size)
        return y.contiguous()

    def export(self) -> nn.Module:
        fn = POINTWISE[self.function](**self.kwargs) if self.linear is None else None
        return plain(_AliasFreePlain(fn, self.pixel, self.cell, self.linear, self.size))

    def extra_repr(self) -> str:
        return (f"{self.function}, passband={self.passband}, stopband={self.stopband}, size={self.size}, "
                f"in={self.in_type}")

