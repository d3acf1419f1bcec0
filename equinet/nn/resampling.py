"""Resampling by 2 that keeps the output grid centred on the input grid, so rotations by 90° and the flips (about
the image centre, ``docs/conventions.md``) commute with it exactly, for even and odd sizes.

Sizes, per axis (H and W independently):

* `Downsample2x`: H -> ceil(H/2). Even H = 2m: 2-sample blocks (0,1), (2,3), ... tile the axis
  symmetrically -> m samples. Odd H = 2m+1: a symmetric 3-tap window centred on the even indices 0, 2, ..., 2m
  -> m+1 samples; 'avg' uses the weights [1, 2, 1]/4 (renormalised at the two borders, [2, 1]/3), 'max' the max
  of the window. Output sample i sits at input position 2i + 1/2 (even) or 2i (odd): the centre maps to the centre.
* `Upsample2x`: H -> 2H (every input pixel becomes two output pixels at ±1/4 of an input pixel: 'nearest'
  copies, 'bilinear' uses the weights 3/4, 1/4 with replicated borders), or with ``odd_output=True`` H -> 2H - 1
  (output 2i is input i, output 2i+1 the mean of inputs i and i+1: the transpose grid of the odd downsampling).
  Down then up restores the size: 2m -> m -> 2m, and 2m+1 -> m+1 -> 2m+1 with ``odd_output=True``.

A stride-2 convolution or pooling that drops a border row on one side only (sizes 4k+1, 4k+2, 4k+3 after
one or two levels) is the usual source of models that are equivariant only for some input sizes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .export import plain
from .field_type import as_field_type
from .module import EquivariantModule

DOWN_MODES = ("avg", "max")
UP_MODES = ("nearest", "bilinear")


def _half(x: torch.Tensor, dim: int, mode: str) -> torch.Tensor:
    """Centred 2x downsampling along ``dim`` (-2 or -1), written without Python branches on the size (traceable)."""
    r = x.shape[dim] % 2  # 0 for even sizes (both paddings are empty), 1 for odd sizes
    if dim == -2:
        pad_a, pad_b, k = (0, 0, r, 0), (0, 0, 0, r), (2, 1)
    else:
        pad_a, pad_b, k = (r, 0, 0, 0), (0, r, 0, 0), (1, 2)
    if mode == "max":
        ninf = float("-inf")
        a = F.max_pool2d(F.pad(x, pad_a, value=ninf), k, k)
        b = F.max_pool2d(F.pad(x, pad_b, value=ninf), k, k)
        return torch.maximum(a, b)
    a = F.avg_pool2d(F.pad(x, pad_a), k, k)
    b = F.avg_pool2d(F.pad(x, pad_b), k, k)
    ones = torch.ones_like(x[:1, :1, :, :1] if dim == -2 else x[:1, :1, :1, :])
    count = F.avg_pool2d(F.pad(ones, pad_a), k, k) + F.avg_pool2d(F.pad(ones, pad_b), k, k)
    return (a + b) / count


def downsample2x(x: torch.Tensor, mode: str = "avg") -> torch.Tensor:
    """Centred 2x downsampling of a [B, C, H, W] tensor: [B, C, ceil(H/2), ceil(W/2)] (see the module docstring)."""
    return _half(_half(x, -2, mode), -1, mode)


def _downsample2x_even(x: torch.Tensor, mode: str) -> torch.Tensor:
    """`downsample2x` for even H and W in fewer pooling calls, bit for bit the same values (the two padded halves
    of `_half` coincide for even sizes; the average is taken along H, then along W, in the same order).

    'avg' also keeps the gradients bit for bit: `_half` sends the input two equal halves of its gradient, which
    the autograd engine adds one at a time to the gradient of the input's other uses (a U-Net's skip connection);
    one pooling call would add their sum at once and round differently, and training would drift from the
    general rule's (and from the tables measured with it). 'max' is one 2x2 max pooling (the standard U-Net's,
    torch's and deepinv's tie-breaking and gradient; its tables were measured with it)."""
    if mode == "max":
        return F.max_pool2d(x, 2, 2)
    return F.avg_pool2d((F.avg_pool2d(x, (2, 1), (2, 1)) + F.avg_pool2d(x, (2, 1), (2, 1))) * 0.5, (1, 2), (1, 2))


class _DownsamplePlain(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, x):
        return downsample2x(x, self.mode)


class Downsample2x(EquivariantModule):
    """Centred 2x downsampling, exactly equivariant to the grid-preserving elements for every size.

    ``mode='avg'`` (linear, any field type) or ``'max'`` (permutation fields only). H x W -> ceil(H/2) x ceil(W/2):
    2x2 blocks for even sizes, a symmetric 3-tap window ([1, 2, 1]/4 for 'avg') on the even indices for odd
    sizes (``equinet.nn.resampling``). Exports through `plain` (the size rule is evaluated at run time).
    """

    def __init__(self, in_type, mode: str = "avg"):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if mode not in DOWN_MODES:
            raise ValueError(f"Downsample2x mode must be one of {DOWN_MODES}, got {mode!r}")
        if mode == "max":
            self.in_type.require_pointwise("Downsample2x(mode='max')")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        if x.shape[-1] % 2 == 0 and x.shape[-2] % 2 == 0:
            return _downsample2x_even(x, self.mode)
        return downsample2x(x, self.mode)

    def export(self) -> nn.Module:
        return plain(_DownsamplePlain(self.mode))

    def extra_repr(self) -> str:
        return f"{self.mode}, in={self.in_type}"


def _odd_upsample_weight(channels: int) -> torch.Tensor:
    k = torch.tensor([0.5, 1.0, 0.5])
    return torch.outer(k, k).expand(channels, 1, 3, 3).clone()


class Upsample2x(EquivariantModule):
    """Centred 2x upsampling, exactly equivariant to the grid-preserving elements for every size (linear: any type).

    ``mode='nearest'`` or ``'bilinear'``: H x W -> 2H x 2W (nearest copies each pixel to a 2x2 block; bilinear,
    ``align_corners=False``, weights 3/4 and 1/4, borders replicated). ``odd_output=True`` (bilinear only):
    H x W -> (2H-1) x (2W-1), output 2i = input i and output 2i+1 = the mean of inputs i, i+1, which undoes the
    size change of `Downsample2x` on odd sizes. Exports to ``nn.Upsample`` / a depthwise
    ``nn.ConvTranspose2d``.
    """

    weight: torch.Tensor  # a buffer (odd_output only)

    def __init__(self, in_type, mode: str = "nearest", odd_output: bool = False):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if mode not in UP_MODES:
            raise ValueError(f"Upsample2x mode must be one of {UP_MODES}, got {mode!r}")
        if odd_output and mode != "bilinear":
            raise ValueError("Upsample2x(odd_output=True) needs mode='bilinear': on the odd grid, every second "
                             "output pixel lies halfway between two inputs, where 'nearest' is not symmetric")
        self.mode, self.odd_output = mode, bool(odd_output)
        if self.odd_output:
            self.register_buffer("weight", _odd_upsample_weight(self.in_type.size), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        if self.odd_output:
            return F.conv_transpose2d(x, self.weight, stride=2, padding=1, groups=x.shape[1])
        if self.mode == "nearest":
            return F.interpolate(x, scale_factor=2, mode="nearest")
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def export(self) -> nn.Module:
        if self.odd_output:
            C = self.in_type.size
            conv = nn.ConvTranspose2d(C, C, 3, stride=2, padding=1, groups=C, bias=False)
            conv = conv.to(device=self.weight.device, dtype=self.weight.dtype)
            with torch.no_grad():
                conv.weight.copy_(self.weight)
            conv.weight.requires_grad_(False)
            return conv
        if self.mode == "nearest":
            return nn.Upsample(scale_factor=2, mode="nearest")
        return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def extra_repr(self) -> str:
        return f"{self.mode}, odd_output={self.odd_output}, in={self.in_type}"
