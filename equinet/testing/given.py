"""Equivariance error of a layer on inputs you choose (e.g. inputs that exercise a particular branch)."""
from __future__ import annotations

import torch

from ..groups import act

__all__ = ["grid_equivariance_error"]


def grid_equivariance_error(layer, x: torch.Tensor, elements=None, in_type=None, out_type=None) -> float:
    """``max_g max|f(T_g x) − T_g f(x)| / max|f(x)|`` over the grid-preserving elements ``g`` (exact actions).

    ``layer`` is any callable with field types ``in_type``/``out_type`` (default: ``layer.in_type``/``out_type``);
    ``elements`` defaults to every element of the input type's group (a finite group). Raises if ``f(x)`` is
    zero, where the relative error means nothing. For random inputs, tolerances and off-grid elements use
    `check_equivariance`.
    """
    in_type = layer.in_type if in_type is None else in_type
    out_type = layer.out_type if out_type is None else out_type
    els = [g for g in (elements or in_type.group.elements()) if g.preserves_grid]
    with torch.no_grad():
        return _worst(layer, x, els, in_type, out_type)


def _worst(layer, x, els, in_type, out_type) -> float:
    y = layer(x)
    scale = float(y.abs().max())
    if not scale > 0:
        raise ValueError("the layer's output on x is zero: choose an input that the layer does not annihilate")
    worst = 0.0
    for g in els:
        a = layer(act(g, x, in_type.representation, method="exact"))
        b = act(g, y, out_type.representation, method="exact")
        worst = max(worst, float((a - b).abs().max()) / scale)
    return worst
