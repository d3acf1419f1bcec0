"""Kept for old import paths: `UnrolledPGD` lives in `equinet.reconstructors` (``reconstructors/unrolled_pgd.py``)."""
from ..reconstructors.unrolled_pgd import INITS, MODES, UnrolledPGD  # noqa: F401  (compatibility re-export)

__all__ = ["UnrolledPGD", "INITS", "MODES"]
