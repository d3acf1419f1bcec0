"""Integer circular shifts (translations on the torus), exact: one gather, no loop over the batch.

Parameters (``param_dim = 2``): ``(rows, columns)`` as in ``torch.roll(x, (rows, columns), dims=(-2, -1))``
(positive rows move the content down the array, positive columns to the right).
"""
from __future__ import annotations

import numbers
from typing import Optional, Tuple

import torch

from ..physics.base import as_image_size
from .base import TRANSFORMS, Transform, check_positive_int
from .functional import roll

__all__ = ["Shift"]


#: the largest max_shift (enumerate() lists (2 max_shift + 1)² shifts)
MAX_SHIFT = 1024


@TRANSFORMS.register("shift")
class Shift(Transform):
    """Random integer circular shifts: uniform over all ``H * W`` shifts of an ``image_size`` image, or uniform
    over ``[-max_shift, max_shift]`` in each direction.

    ``enumerate()`` lists every shift of that set (``H * W`` for ``image_size``; ``(2 max_shift + 1)^2``) or, with
    ``stride=s``, the sub-lattice of shifts that are multiples of ``s`` (a documented subset for large images).
    """

    param_dim = 2

    def __init__(self, image_size=None, max_shift: Optional[int] = None, n_trans: int = 1,
                 per_sample: bool = True):
        super().__init__(n_trans=n_trans, per_sample=per_sample)
        if (image_size is None) == (max_shift is None):
            raise ValueError("Shift needs exactly one of image_size (all H*W circular shifts) or max_shift "
                             "(shifts in [-max_shift, max_shift])")
        if max_shift is not None:
            if isinstance(max_shift, bool) or not isinstance(max_shift, numbers.Integral) or max_shift < 0:
                raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
            if max_shift > MAX_SHIFT:
                raise ValueError(f"max_shift = {max_shift} is above the supported maximum {MAX_SHIFT} (the set holds "
                                 f"(2 max_shift + 1)² shifts; circular shifts repeat beyond the image size)")
            m = int(max_shift)
            self._low: Tuple[int, int] = (-m, -m)
            self._count: Tuple[int, int] = (2 * m + 1, 2 * m + 1)
        else:
            h, w = as_image_size(image_size)
            self._low, self._count = (0, 0), (h, w)
        self.image_size = None if image_size is None else as_image_size(image_size)
        self.max_shift = max_shift

    def _draw(self, n, generator):
        r = torch.randint(self._count[0], (n,), generator=generator) + self._low[0]
        c = torch.randint(self._count[1], (n,), generator=generator) + self._low[1]
        return torch.stack([r, c], dim=1).to(torch.float64)

    def _check_params(self, params):
        params = super()._check_params(params)
        if not bool((params == params.round()).all()):
            raise ValueError("Shift: shifts must be integers")
        return params

    def _apply(self, x, params):
        return roll(x, params)

    def _inverse(self, x, params):
        return roll(x, -params)

    def _enumerate(self, n=None, stride: int = 1):
        if n is not None:
            raise ValueError("Shift is finite: enumerate() lists its shifts; use stride=s for a sub-lattice")
        stride = check_positive_int(stride, "stride")
        r = torch.arange(0, self._count[0], stride) + self._low[0]
        c = torch.arange(0, self._count[1], stride) + self._low[1]
        rr, cc = torch.meshgrid(r, c, indexing="ij")
        return torch.stack([rr.reshape(-1), cc.reshape(-1)], dim=1).to(torch.float64)

    def enumerate(self, n: Optional[int] = None, stride: int = 1) -> torch.Tensor:
        """All shifts of the set (row-major), or those whose offsets from the start are multiples of ``stride``."""
        return self._enumerate(n, stride)

    def _repr_args(self):
        return f"image_size={self.image_size}" if self.image_size is not None else f"max_shift={self.max_shift}"
