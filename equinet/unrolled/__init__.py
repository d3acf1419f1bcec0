"""Kept for old import paths: the unrolled reconstructors live in `equinet.reconstructors`."""
from ..reconstructors import UnrolledPGD  # noqa: F401  (compatibility re-export)

__all__ = ["UnrolledPGD"]
