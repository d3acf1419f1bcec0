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
and the fine grid costs memory traffic (4x the activations). The blur is the price of the off-grid equivariance,
not of this filter design: on idealised band-limited ReLUs the two trade monotonically (docs F).

With ReLU or leaky ReLU (slope >= 0) the layer runs as one autograd node (`_AliasFreeFunction`): σ is applied in
place on the
fine grid, only its output is saved (its sign is σ's derivative), and σ's gradient is applied in place. That holds
two fresh fine-grid tensors per training step instead of four, which on CPU is what the step mostly paid for
(page faults of new 16 MB buffers, docs/alias_free.md C). Other functions use plain autograd.

`equinet.nn.alias_free_quincunx.QuincunxAliasFreeNonlinearity` is the cheaper, sharper variant measured against it.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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


_CL = torch.channels_last


def _upsample(x):
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def _upsample_backward(g, input_shape):
    """The adjoint of `_upsample` (the exact gradient F.interpolate's autograd computes)."""
    return torch.ops.aten.upsample_bilinear2d_backward(g, list(g.shape[-2:]), list(input_shape), False, 2.0, 2.0)


def _read_back(fine, weight, padding):
    return F.conv2d(fine, weight, stride=2, padding=padding, groups=fine.shape[1])


def _read_back_backward(g, fine, weight, padding):
    """The adjoint of `_read_back` (the kernel autograd itself would call), on channels-last tensors."""
    return torch.ops.aten.convolution_backward(g.contiguous(memory_format=_CL), fine, weight, None, [2, 2],
                                               [padding, padding], [1, 1], False, [0, 0], fine.shape[1],
                                               [True, False, False])[0]


class _AliasFreeFunction(torch.autograd.Function):
    """AA(leaky ReLU) of slope ``slope`` >= 0 (0: ReLU) as one node: upsample, σ in place, read back. Saves the
    fine-grid
    output of σ only (its sign is σ's derivative). The backward is built from differentiable torch ops, so a
    second derivative (zero through σ) works too."""

    @staticmethod
    def forward(ctx, x, weight, padding, slope):
        fine = _upsample(x)
        fine = fine.relu_() if slope == 0 else F.leaky_relu_(fine, slope)
        ctx.save_for_backward(fine, weight)
        ctx.padding, ctx.slope, ctx.input_shape = padding, slope, x.shape
        return _read_back(fine, weight, padding)

    @staticmethod
    def backward(ctx, g):
        fine, weight = ctx.saved_tensors
        gf = _read_back_backward(g, fine, weight, ctx.padding)
        if ctx.slope != 0:
            gf = torch.ops.aten.leaky_relu_backward(gf, fine, ctx.slope, True)
        elif torch.is_grad_enabled():  # create_graph: keep the graph (no out= variant)
            gf = torch.ops.aten.threshold_backward(gf, fine, 0)
        else:  # in place: no third fine-grid tensor
            gf = torch.ops.aten.threshold_backward.grad_input(gf, fine, 0, grad_input=gf)
        return _upsample_backward(gf, ctx.input_shape), None, None, None


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

    Exactly equivariant to 90° rotations and flips for every image size; shape-preserving; keeps the input's memory
    format (NCHW or channels-last); no parameters; positively homogeneous with 'relu' / 'leaky_relu'. Exports to
    ``nn.Sequential(nn.Upsample, <activation>, nn.Conv2d)``.
    """

    lowpass: torch.Tensor

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
        # the output keeps the input's memory format (channels-last networks stay channels-last); the fine-grid
        # steps always run channels-last, whose CPU kernels are faster (docs/alias_free.md, C)
        keep = _CL if x.is_contiguous(memory_format=_CL) and not x.is_contiguous() else torch.contiguous_format
        x = x.contiguous(memory_format=_CL)
        padding = self.taps // 2 - 1
        slope = 0.0 if self.function == "relu" else float(getattr(self.fn, "negative_slope", -1.0))
        if self.function in ("relu", "leaky_relu") and slope >= 0:  # σ's output sign is then its input's sign
            y = _AliasFreeFunction.apply(x, self.lowpass, padding, slope)
        else:
            y = _read_back(self.fn(_upsample(x)), self.lowpass, padding)
        return y.contiguous(memory_format=keep)

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
