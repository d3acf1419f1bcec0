"""1-D toy signals: the scaled (and circularly shifted) triangles of Fig. 3 of Chen, Tachella & Davies,
"Equivariant Imaging: Learning Beyond the Range Space" (ICCV 2021).

Without shifts the set {a * triangle} has no invariance, so inpainting measurements alone cannot reveal the
signal in the null space of the mask; with uniformly random circular shifts the set is invariant to the
cyclic group Z_length and equivariant imaging can learn it (the right panel of the figure).
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence

import numpy as np
import torch

from ..utils.seeding import check_seed

__all__ = ["shifted_triangles", "triangle"]


def triangle(length: int, width: float, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Unit-height triangle of base ``width`` samples centred at index ``length // 2``:
    ``max(0, 1 - |i - c| / (width / 2))``."""
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    if isinstance(width, bool) or not isinstance(width, numbers.Real) or \
            not (math.isfinite(width) and 0 < width <= length):
        raise ValueError(f"width must be a number in (0, length] = (0, {length}], got {width!r}")
    i = torch.arange(int(length), dtype=torch.float64)
    tri = torch.clamp(1.0 - (i - length // 2).abs() / (float(width) / 2.0), min=0.0)
    return tri.to(torch.get_default_dtype() if dtype is None else dtype)


def shifted_triangles(n: int, length: int, width: float, seed: int = 0, shift: bool = True,
                      amplitude: Sequence[float] = (0.2, 1.0), dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """``n`` signals ``[n, 1, length]``: ``a * roll(triangle(length, width), s)`` with ``a ~ U(amplitude)``.

    ``s`` is uniform on ``{0, ..., length - 1}`` (circular shift) if ``shift``, else 0 (the non-invariant
    set). Signal ``i`` depends only on ``(seed, i)``, so a longer draw extends a shorter one.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    check_seed(seed)
    try:
        a0, a1 = (float(v) for v in amplitude)
    except (TypeError, ValueError) as err:
        raise TypeError(f"amplitude must be a pair (min, max), got {amplitude!r}") from err
    if not (math.isfinite(a0) and math.isfinite(a1) and a0 <= a1):
        raise ValueError(f"amplitude must satisfy min <= max (finite), got {amplitude!r}")
    base = triangle(length, width, dtype=torch.float64)
    out = torch.empty(int(n), 1, int(length), dtype=torch.float64)
    for i in range(int(n)):
        rng = np.random.default_rng([int(seed), i])
        amp = rng.uniform(a0, a1)
        s = int(rng.integers(0, int(length))) if shift else 0
        out[i, 0] = amp * torch.roll(base, s)
    return out.to(torch.get_default_dtype() if dtype is None else dtype)
