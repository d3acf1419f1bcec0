"""Turn the ways a user can name a set of transformations into one list of linear maps on image batches.

Accepted: a finite equinet group (acts by `equinet.groups.act`: exact pixel permutations for grid-preserving
elements, ``method`` — default bilinear, as in the EI paper — for the others), a list/tuple of callables on image
batches ``[B, C, H, W]``, or a transform object with ``enumerate()`` (the parameters of all its elements) and
``apply(x, params)`` (per-sample parameters), as in ``equinet.transforms``.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import torch

from ..groups.action import act
from ..groups.group import PlanarGroup

Action = Callable[[torch.Tensor], torch.Tensor]


def _slice_params(params, i: int, batch: int):
    """The parameters of element ``i``, repeated for a batch of ``batch`` samples."""
    if isinstance(params, torch.Tensor):
        p = params[i:i + 1]
        return p.expand(batch, *p.shape[1:])
    if isinstance(params, dict):
        return {k: _slice_params(v, i, batch) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return params[i]
    raise TypeError(f"cannot index transform parameters of type {type(params).__name__}: expected a tensor "
                    "[n_elements, ...], a dict of such tensors or a list")


def _n_params(params) -> int:
    if isinstance(params, torch.Tensor):
        return int(params.shape[0])
    if isinstance(params, dict):
        sizes = {_n_params(v) for v in params.values()}
        if len(sizes) != 1:
            raise ValueError(f"transform parameters disagree on the number of elements: {sorted(sizes)}")
        return sizes.pop()
    if isinstance(params, (list, tuple)):
        return len(params)
    raise TypeError(f"enumerate() returned {type(params).__name__}; expected a tensor, dict or list of parameters")


#: elements of a continuous transformation used for the rank condition (10° apart for rotations by any angle)
CONTINUOUS_SAMPLES = 36


def _element_action(g, method: str) -> Action:
    """x -> the action of the group element ``g`` (exact for grid-preserving elements, else ``method``)."""
    return lambda x: act(g, x, method="auto" if g.preserves_grid else method)


def _transform_action(transforms, params, i: int) -> Action:
    """x -> ``transforms.apply`` with the parameters of element ``i`` (repeated over the batch)."""
    return lambda x: transforms.apply(x, _slice_params(params, i, x.shape[0]))


def as_actions(transforms, method: str = "bilinear") -> Tuple[List[Action], List[str], Optional[PlanarGroup]]:
    """``(actions, labels, group)``: one callable per transformation, a label for each, and the planar group if
    ``transforms`` was one (else None)."""
    if isinstance(transforms, PlanarGroup):
        if transforms.continuous:
            raise ValueError(f"{transforms!r} is continuous: the rank condition needs a finite set of "
                             "transformations; use e.g. groups.cyclic(360) or groups.dihedral(N)")
        els = transforms.elements()
        acts = [_element_action(g, method) for g in els]
        return acts, [repr(g) for g in els], transforms
    if hasattr(transforms, "enumerate") and hasattr(transforms, "apply"):
        try:  # continuous transforms (any-angle rotations): CONTINUOUS_SAMPLES evenly spaced elements
            params = transforms.enumerate(CONTINUOUS_SAMPLES)
        except (TypeError, ValueError):  # finite transforms list all their elements (and refuse a count)
            params = transforms.enumerate()
        n = _n_params(params)
        acts = [_transform_action(transforms, params, i) for i in range(n)]
        return acts, [f"{type(transforms).__name__}[{i}]" for i in range(n)], None
    if isinstance(transforms, (list, tuple)):
        if not transforms:
            raise ValueError("the list of transformations is empty")
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"transforms[{i}] is a {type(t).__name__}, not a callable on image batches")
        return list(transforms), [getattr(t, "__name__", f"T[{i}]") for i, t in enumerate(transforms)], None
    raise TypeError("transforms must be a finite equinet group, a list of callables on image batches [B, C, H, W], "
                    f"or an object with enumerate() and apply(x, params); got {type(transforms).__name__}")
