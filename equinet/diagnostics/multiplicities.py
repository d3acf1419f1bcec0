"""Multiplicities c_j of the irreducible representations of a group acting on the pixel grid, from characters.

A group whose elements all preserve the square pixel grid (C1, C2, C4, D1, D2, D4 and their flips) acts on images by
permuting pixels; the character of a permutation representation is the number of fixed points, so
c_j = <χ_T, χ_j> / <χ_j, χ_j> with χ_T(g) = #{pixels fixed by g}. These enter the sufficient condition of the
unsupervised-imaging theory (talk 003): a k-dimensional model is identifiable from A T_g X for almost every A with
m measurements if m > 2k + max_j c_j + 1, and max_j c_j ≥ n/|G|.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..groups.action import act
from ..groups.group import PlanarGroup
from ..physics.base import as_image_size

__all__ = ["Multiplicities", "irrep_multiplicities"]


@dataclass
class Multiplicities:
    """c_j of each irrep (name -> multiplicity), with the irreps' dimensions and the identity Σ_j c_j·dim_j = n."""

    group: PlanarGroup
    image_size: tuple
    counts: dict   # irrep name -> c_j
    dims: dict     # irrep name -> dim_j
    channels: int = 1

    @property
    def n(self) -> int:
        return self.channels * self.image_size[0] * self.image_size[1]

    @property
    def max(self) -> int:
        return max(self.counts.values())

    def measurements_needed(self, k: int) -> int:
        """Smallest m with m > 2k + max_j c_j + 1 (the sufficient condition for a k-dimensional model)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"the model dimension k must be an int >= 0, got {k!r}")
        return 2 * k + self.max + 2

    def __str__(self):
        parts = ", ".join(f"{name}: {c}" for name, c in self.counts.items())
        return (f"multiplicities of the {self.group.name} irreps on {self.channels} channel(s) of the "
                f"{self.image_size[0]}x{self.image_size[1]} grid: {parts} (max c_j = {self.max}; "
                f"n/|G| = {self.n / len(self.group):.1f})")


def irrep_multiplicities(group: PlanarGroup, image_size, channels: int = 1) -> Multiplicities:
    """Multiplicities of the irreps of ``group`` acting on images of ``image_size`` (square) with ``channels``
    channels each transformed as a scalar image (so every multiplicity is ``channels`` times that of one image)."""
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    if not isinstance(group, PlanarGroup):
        raise TypeError(f"group must be an equinet group, got {type(group).__name__}")
    if group.continuous or not all(g.preserves_grid for g in group.elements()):
        raise ValueError(f"{group!r} does not act on the pixel grid by permutations (only C1, C2, C4, D1, D2, D4 do): "
                         "its interpolated action is not a representation, so it has no multiplicities")
    h, w = as_image_size(image_size)
    if h != w:
        raise ValueError(f"the pixel grid must be square for rotations to act on it, got {h}x{w}")
    idx = torch.arange(h * w, dtype=torch.float64).reshape(1, 1, h, w)
    els = group.elements()
    fixed = {g: int((act(g, idx, method="exact") == idx).sum()) for g in els}
    counts, dims = {}, {}
    for psi in group.irreps():
        chi = [psi.character(g) for g in els]
        c = sum(fixed[g] * x for g, x in zip(els, chi)) / sum(x * x for x in chi)
        ci = int(round(c))
        if abs(c - ci) > 1e-9:
            raise ArithmeticError(f"non-integer multiplicity {c} of {psi.name}")
        counts[psi.name], dims[psi.name] = channels * ci, psi.size
    total = sum(counts[k] * dims[k] for k in counts)
    if total != channels * h * w:  # Σ c_j dim_j = n: a check of the character computation itself
        raise ArithmeticError(f"multiplicities add up to {total}, not n = {channels * h * w}")
    return Multiplicities(group, (h, w), counts, dims, channels)

