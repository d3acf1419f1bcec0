"""Group actions on images and feature fields: (T_g u)(x) = π(g) u(H_g⁻¹ x).

Tensors are ``[batch, channels, H, W]``; the channels carry a representation π (default: trivial on every
channel, i.e. scalar images). Coordinates follow ``docs/conventions.md``: centre of the array, y up,
counter-clockwise angles. Elements that preserve the pixel grid (multiples of 90°, with or without the flip) act
exactly, as pixel permutations, for even and odd sizes. Other angles are interpolated:

* ``'bilinear'``: ``torch.nn.functional.grid_sample``, zeros outside the image;
* ``'fourier'``: band-limited rotation by three FFT shears (Unser et al. 1995) after an exact quarter turn,
  on a zero-padded canvas: exact for band-limited images whose content stays inside the canvas.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .planar import GroupElement
from .representation import Representation

METHODS = ("auto", "exact", "bilinear", "fourier")


def _check_input(x: torch.Tensor, rep: Representation | None) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor [batch, channels, H, W], got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"expected a tensor of shape [batch, channels, H, W], got shape {tuple(x.shape)}")
    if rep is not None and x.shape[1] != rep.size:
        raise ValueError(f"the tensor has {x.shape[1]} channels but the representation {rep!r} has size "
                         f"{rep.size}")


def quarter_turns(g: GroupElement) -> int:
    """For a grid-preserving element, its rotation as a number of quarter turns (0..3)."""
    return int(round(g.angle / (math.pi / 2))) % 4


def _exact_spatial(x: torch.Tensor, g: GroupElement) -> torch.Tensor:
    if g.reflection:  # (x, y) -> (x, -y): up-down flip of the array
        x = torch.flip(x, dims=[-2])
    k = quarter_turns(g)
    return torch.rot90(x, k, dims=(-2, -1)) if k else x


def _pixel_coords(H: int, W: int, device, dtype):
    col = torch.arange(W, device=device, dtype=dtype)
    row = torch.arange(H, device=device, dtype=dtype)
    xs = col - (W - 1) / 2
    ys = (H - 1) / 2 - row
    return torch.meshgrid(ys, xs, indexing="ij")  # Y[r, c], X[r, c]


def _bilinear_spatial(x: torch.Tensor, g: GroupElement) -> torch.Tensor:
    B, C, H, W = x.shape
    if H < 2 or W < 2:
        raise ValueError(f"bilinear rotation needs images of at least 2x2 pixels, got {H}x{W}")
    Y, X = _pixel_coords(H, W, x.device, x.dtype)
    Hinv = torch.as_tensor(g.inverse.matrix, dtype=x.dtype, device=x.device)
    xs = Hinv[0, 0] * X + Hinv[0, 1] * Y
    ys = Hinv[1, 0] * X + Hinv[1, 1] * Y
    grid = torch.stack([xs / ((W - 1) / 2), -ys / ((H - 1) / 2)], dim=-1)
    grid = grid.unsqueeze(0).expand(B, H, W, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _shear(x: torch.Tensor, factor: float, axis: int) -> torch.Tensor:
    """u(x, y) -> u(x - factor·y, y) (axis=-1, shifts along columns) or u(x, y - factor·x) (axis=-2)."""
    H, W = x.shape[-2:]
    if axis == -1:  # each row r (at height y) is shifted by factor·y along +x
        n = W
        y = (H - 1) / 2 - torch.arange(H, device=x.device, dtype=x.dtype)
        shift = (factor * y).view(H, 1)  # content moves to larger x = larger column index
    else:  # each column c (at x) is shifted by factor·x along +y = smaller row index
        n = H
        xx = torch.arange(W, device=x.device, dtype=x.dtype) - (W - 1) / 2
        shift = (-factor * xx).view(1, W)
    freqs = torch.fft.rfftfreq(n, device=x.device, dtype=x.dtype) * 2 * math.pi
    Xf = torch.fft.rfft(x, dim=axis)
    if axis == -1:
        phase = torch.exp(-1j * shift * freqs.view(1, -1))  # [H, n//2+1]
    else:
        phase = torch.exp(-1j * freqs.view(-1, 1) * shift)  # [n//2+1, W]
    return torch.fft.irfft(Xf * phase, n=n, dim=axis)


def _fourier_spatial(x: torch.Tensor, g: GroupElement) -> torch.Tensor:
    if g.reflection:
        x = torch.flip(x, dims=[-2])
    k = int(round(g.angle / (math.pi / 2)))
    delta = g.angle - k * math.pi / 2
    x = torch.rot90(x, k % 4, dims=(-2, -1)) if k % 4 else x
    if abs(delta) < 1e-15:
        return x
    H, W = x.shape[-2:]
    ph, pw = H // 2 + 1, W // 2 + 1  # zero canvas so that sheared content does not wrap around
    xp = F.pad(x, (pw, pw, ph, ph))
    a, b = -math.tan(delta / 2), math.sin(delta)
    xp = _shear(_shear(_shear(xp, a, -1), b, -2), a, -1)
    return xp[..., ph:ph + H, pw:pw + W]


def act(g: GroupElement, x: torch.Tensor, rep: Representation | None = None, method: str = "auto") -> torch.Tensor:
    """Apply ``T_g`` to ``x`` [batch, channels, H, W]: move the pixels by H_g and mix the channels by ``rep(g)``.

    ``rep`` (a `Representation`) defaults to the trivial representation on every channel; for the fields of
    a layer pass ``field_type.representation``. ``method``: 'auto' (exact for grid-preserving elements, else
    bilinear), 'exact' (error for other elements), 'bilinear' or 'fourier'.
    """
    if not isinstance(g, GroupElement):
        raise TypeError(f"expected a group element, got {type(g).__name__}")
    if rep is not None and not isinstance(rep, Representation):
        if isinstance(getattr(rep, "representation", None), Representation):
            import warnings
            warnings.warn("groups.act takes a Representation: pass field_type.representation (accepting a field "
                          "type will be removed)", DeprecationWarning, stacklevel=2)
            rep = rep.representation
        else:
            raise TypeError(f"rep must be a Representation (e.g. field_type.representation), got "
                            f"{type(rep).__name__}")
    if rep is not None and rep.group != g.group:
        raise ValueError(f"the element {g!r} is of {g.group.name} but the representation is of {rep.group.name}")
    _check_input(x, rep)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    if method in ("auto", "exact") and g.preserves_grid:
        y = _exact_spatial(x, g)
    elif method == "exact":
        raise ValueError(f"{g!r} does not preserve the pixel grid (not a multiple of 90°): use method='bilinear' "
                         "or 'fourier'")
    elif method == "fourier":
        y = _fourier_spatial(x, g)
    else:
        y = _exact_spatial(x, g) if g.preserves_grid and method == "auto" else _bilinear_spatial(x, g)
    if rep is not None and not rep.is_trivial():
        M = torch.as_tensor(rep(g), dtype=y.dtype, device=y.device)
        y = torch.einsum("oc,bchw->bohw", M, y)
    return y


def rotate_points(g: GroupElement, points: np.ndarray) -> np.ndarray:
    """Apply H_g to points of shape (..., 2) given as (x, y)."""
    return np.asarray(points) @ g.matrix.T
