"""Seeds: one rule for deriving independent, reproducible random streams from a run seed."""
from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["check_seed", "derived_seed", "generator"]


def check_seed(seed, name: str = "seed") -> int:
    """Return ``seed`` as an int after checking it is a non-negative integer (bools refused)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed!r}")
    return int(seed)


def derived_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived from ``(seed, *keys)``: independent streams (batches, noise, transforms, ranks).

    The same inputs give the same seed on every platform and numpy version (``numpy.random.SeedSequence``).
    """
    return int(np.random.SeedSequence([check_seed(seed), *(check_seed(k, "key") for k in keys)])
               .generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def generator(seed: int, *keys: int, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with `derived_seed` ``(seed, *keys)``."""
    return torch.Generator(device=device).manual_seed(derived_seed(seed, *keys))
