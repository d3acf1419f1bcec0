"""Compositions of transforms: ``Compose([T1, T2])`` applies ``T1`` then ``T2`` with independent parameters.

The parameters of a composition are the columns of its parts side by side (``param_dim = sum of the parts'``);
the inverse undoes the parts in reverse order. ``n_trans`` and ``per_sample`` belong to the composition (the
parts' own settings are not used).
"""
from __future__ import annotations

import itertools
from typing import Sequence

import torch

from .base import TRANSFORMS, Transform

__all__ = ["Compose"]


@TRANSFORMS.register("compose")
class Compose(Transform):
    """``T_n ∘ ... ∘ T_1`` with one parameter row per image (the parts' parameters concatenated)."""

    def __init__(self, transforms: Sequence[Transform], n_trans: int = 1, per_sample: bool = True):
        super().__init__(n_trans=n_trans, per_sample=per_sample)
        parts = list(transforms) if isinstance(transforms, (list, tuple)) else None
        if not parts or not all(isinstance(t, Transform) for t in parts):
            raise TypeError("Compose expects a non-empty list of equinet.transforms.Transform")
        self.transforms = parts
        self.param_dim = sum(t.param_dim for t in parts)
        self._cols = list(itertools.accumulate([0] + [t.param_dim for t in parts]))

    def _split(self, params):
        return [params[:, a:b] for a, b in zip(self._cols[:-1], self._cols[1:])]

    def _check_params(self, params):
        params = super()._check_params(params)
        for t, p in zip(self.transforms, self._split(params)):
            t._check_params(p)
        return params

    def _draw(self, n, generator):
        return torch.cat([t._draw(n, generator) for t in self.transforms], dim=1)

    def _apply(self, x, params):
        for t, p in zip(self.transforms, self._split(params)):
            x = t._apply(x, p)
        return x

    def _inverse(self, x, params):
        for t, p in reversed(list(zip(self.transforms, self._split(params)))):
            x = t._inverse(x, p)
        return x

    def _enumerate(self, n):
        """The Cartesian product of the parts' enumerations (``n`` is passed to every part)."""
        lists = [t.enumerate(n) if n is not None else t.enumerate() for t in self.transforms]
        idx = torch.cartesian_prod(*[torch.arange(len(p)) for p in lists])
        if idx.dim() == 1:
            idx = idx.unsqueeze(1)
        return torch.cat([p[idx[:, i]] for i, p in enumerate(lists)], dim=1)

    def _repr_args(self):
        return "[" + ", ".join(repr(t) for t in self.transforms) + "]"
