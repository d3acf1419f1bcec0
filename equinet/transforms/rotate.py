"""Rotations and reflections: the elements of an equinet group, or rotations by any angle in a range.

Parameters (one row per image, ``param_dim = 2``): ``(angle in radians in [0, 2π), reflect in {0, 1})`` for the
element ``R(angle) F^reflect`` (``F`` flips the y-axis, as everywhere in `equinet.groups`). Grid-preserving
elements act exactly (pixel permutations); the others are interpolated (``'bilinear'`` or ``'fourier'``).
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Union

import torch

from ..groups import PlanarGroup, cyclic, flips
from .base import TRANSFORMS, Transform, check_positive_int
from .functional import INTERPOLATIONS, o2_act, o2_inverse

__all__ = ["GroupTransform", "Rotate", "Rot90", "Flip"]

TWO_PI = 2 * math.pi


def _check_interpolation(interpolation) -> str:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {interpolation!r}; expected one of {INTERPOLATIONS}")
    return interpolation


class _O2Transform(Transform):
    """Shared apply/inverse of transforms whose parameters are O(2) elements ``(angle, reflect)``."""

    param_dim = 2

    def __init__(self, interpolation: str = "bilinear", n_trans: int = 1, per_sample: bool = True):
        super().__init__(n_trans=n_trans, per_sample=per_sample)
        self.interpolation = _check_interpolation(interpolation)

    def _check_params(self, params):
        params = super()._check_params(params)
        flags = params[:, 1]
        if not bool(((flags == 0) | (flags == 1)).all()):
            raise ValueError(f"{type(self).__name__}: the second parameter column (reflection) must be 0 or 1")
        return params

    def _apply(self, x, params):
        return o2_act(x, params[:, 0], params[:, 1] > 0.5, self.interpolation)

    def _inverse(self, x, params):
        angle, reflect = o2_inverse(params[:, 0], params[:, 1] > 0.5)
        return o2_act(x, angle, reflect, self.interpolation)

    @staticmethod
    def _rows(angle: torch.Tensor, reflect: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.remainder(angle.to(torch.float64), TWO_PI), reflect.to(torch.float64)], dim=1)


@TRANSFORMS.register("group")
class GroupTransform(_O2Transform):
    """Random elements of an equinet group: uniform over a finite group (C_N, D_N), Haar-uniform over SO(2)/O(2).

    >>> from equinet import groups
    >>> T = GroupTransform(groups.cyclic(4))          # exact 90° turns
    >>> p = T.sample(8, torch.Generator().manual_seed(0))
    >>> x2 = T.apply(torch.rand(8, 1, 16, 16), p)
    """

    def __init__(self, group: PlanarGroup, interpolation: str = "bilinear", n_trans: int = 1,
                 per_sample: bool = True):
        super().__init__(interpolation, n_trans, per_sample)
        if not isinstance(group, PlanarGroup):
            raise TypeError(f"group must be an equinet PlanarGroup (groups.cyclic(4), ...), got {type(group).__name__}")
        self.group = group
        if not group.continuous:
            els = group.elements()
            self._table = torch.tensor([[e.angle, float(e.reflection)] for e in els], dtype=torch.float64)

    def _draw(self, n, generator):
        if not self.group.continuous:
            idx = torch.randint(len(self._table), (n,), generator=generator)
            return self._table[idx].clone()
        angle = torch.rand(n, generator=generator, dtype=torch.float64) * TWO_PI
        if self.group.reflections:
            reflect = torch.randint(2, (n,), generator=generator)
        else:
            reflect = torch.zeros(n)
        return self._rows(angle, reflect)

    def _enumerate(self, n):
        """All elements (finite groups; ``n`` must be None) or ``n`` evenly spaced rotations (and their
        reflections) of SO(2)/O(2), ``n`` defaulting to 8."""
        if not self.group.continuous:
            if n is not None:
                raise ValueError(f"{self.group.name} is finite: enumerate() lists all its elements; n must be None")
            return self._table.clone()
        n = 8 if n is None else check_positive_int(n, "n")
        angle = torch.arange(n, dtype=torch.float64) * (TWO_PI / n)
        rows = [self._rows(angle, torch.zeros(n))]
        if self.group.reflections:
            rows.append(self._rows(angle, torch.ones(n)))
        return torch.cat(rows)

    def _repr_args(self):
        return f"{self.group!r}, interpolation={self.interpolation!r}"


@TRANSFORMS.register("rotate")
class Rotate(_O2Transform):
    """Rotations by an angle drawn uniformly from ``degrees`` (a range ``(lo, hi)``, or ``d`` for ``(-d, d)``;
    default the whole circle), interpolated with ``'bilinear'`` or ``'fourier'``; ``multiples`` restricts the
    angles to multiples of that many degrees (e.g. 1 for the EI paper's 360 one-degree rotations).
    """

    def __init__(self, degrees: Union[float, Sequence[float]] = 180.0, interpolation: str = "bilinear",
                 multiples: Optional[float] = None, n_trans: int = 1, per_sample: bool = True):
        super().__init__(interpolation, n_trans, per_sample)
        if isinstance(degrees, numbers.Real) and not isinstance(degrees, bool):
            lo, hi = -float(degrees), float(degrees)
        elif isinstance(degrees, (tuple, list)) and len(degrees) == 2 and all(
                isinstance(d, numbers.Real) and not isinstance(d, bool) for d in degrees):
            lo, hi = float(degrees[0]), float(degrees[1])
        else:
            raise TypeError(f"degrees must be a number d (range (-d, d)) or a pair (lo, hi), got {degrees!r}")
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or hi - lo > 360.0:
            raise ValueError(f"the angle range must be finite with lo < hi and hi - lo <= 360 degrees, "
                             f"got ({lo}, {hi})")
        if multiples is not None:
            if isinstance(multiples, bool) or not isinstance(multiples, numbers.Real) or not 0 < multiples <= 360:
                raise ValueError(f"multiples must be a number of degrees in (0, 360], got {multiples!r}")
            steps = torch.arange(math.ceil(lo / multiples), math.floor(hi / multiples) + 1, dtype=torch.float64)
            self._steps: Optional[torch.Tensor] = steps * float(multiples)
            if hi - lo == 360.0 and self._steps.numel() > 1 and \
                    abs((self._steps[-1] - self._steps[0]).item() - 360.0) < 1e-9:
                self._steps = self._steps[:-1]  # lo and hi are the same rotation
            if self._steps.numel() == 0:
                raise ValueError(f"no multiple of {multiples} degrees lies in ({lo}, {hi})")
        else:
            self._steps = None
        self.degrees = (lo, hi)
        self.multiples = multiples

    def _draw(self, n, generator):
        if self._steps is not None:
            deg = self._steps[torch.randint(self._steps.numel(), (n,), generator=generator)]
        else:
            lo, hi = self.degrees
            deg = lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)
        return self._rows(torch.deg2rad(deg), torch.zeros(n))

    def _enumerate(self, n):
        """All allowed angles (with ``multiples``) or ``n`` evenly spaced angles of the range (default 8)."""
        if self._steps is not None:
            if n is not None:
                raise ValueError("this Rotate has a finite set of angles: enumerate() lists them all; n must be None")
            deg = self._steps
        else:
            n = 8 if n is None else check_positive_int(n, "n")
            lo, hi = self.degrees
            deg = lo + (hi - lo) * torch.arange(n, dtype=torch.float64) / n
        return self._rows(torch.deg2rad(deg), torch.zeros(deg.numel()))

    def _repr_args(self):
        m = "" if self.multiples is None else f", multiples={self.multiples}"
        return f"degrees={self.degrees}{m}, interpolation={self.interpolation!r}"


@TRANSFORMS.register("rot90")
class Rot90(GroupTransform):
    """Exact random quarter turns (the group C4): pixel permutations, no interpolation."""

    def __init__(self, n_trans: int = 1, per_sample: bool = True):
        super().__init__(cyclic(4), "bilinear", n_trans, per_sample)


@TRANSFORMS.register("flip")
class Flip(GroupTransform):
    """Exact random up-down flips (the group {e, F} = D1)."""

    def __init__(self, n_trans: int = 1, per_sample: bool = True):
        super().__init__(flips(), "bilinear", n_trans, per_sample)
