"""Unrolled reconstruction algorithms with learned (equivariant) proximal networks."""
from .pgd import UnrolledPGD  # noqa: F401

__all__ = ["UnrolledPGD"]
