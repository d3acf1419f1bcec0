"""Planar symmetry groups C_N, D_N, SO(2) and O(2) with their representations, and the factories that make them.

`PlanarGroup` is the group law of `equinet.groups.planar` plus access to the group's representations
(``G.irrep(k)``, ``G.regular``, ``G.quotient(H)``, ``G.representation(mats)``), built by
`equinet.groups.representation`.

>>> from equinet.groups import dihedral
>>> G = dihedral(4)
>>> G.order, G.regular.size, G.irrep(1, 1).size
(8, 8, 2)
"""
from __future__ import annotations

from .planar import MAX_ORDER, TWO_PI, GroupElement, PlanarGroupBase
from .representation import Irrep, Representation, all_irreps, from_matrices, irrep, quotient, regular

__all__ = ["GroupElement", "PlanarGroup", "MAX_ORDER", "TWO_PI", "cyclic", "dihedral", "so2", "o2", "flips",
           "trivial_group", "get"]


class PlanarGroup(PlanarGroupBase):
    """A subgroup of O(2): rotations by multiples of 2π/N (N = None: all angles), optionally with reflections,
    with its representations.

    Use the factories `cyclic`, `dihedral`, `so2` and `o2` rather than this class.
    """

    def irrep(self, *index: int) -> Irrep:
        """The real irreducible representation with the given index: ``irrep(k)`` for C_N and SO(2) (frequency k),
        ``irrep(j, k)`` for D_N and O(2) (j = 0/1: how the reflection acts, k: frequency)."""
        return irrep(self, *index)

    def irreps(self) -> list[Irrep]:
        """All irreducible representations (continuous groups: up to ``max_frequency``)."""
        return all_irreps(self)

    @property
    def trivial(self) -> Irrep:
        return self.irrep(0, 0) if self.reflections else self.irrep(0)

    @property
    def regular(self) -> Representation:
        """The regular representation (finite groups): permutation of the group's elements. Built once per group
        (`equinet.groups.regular` keeps one per group key, with its decomposition), so repeated uses — every
        layer of a network — share it."""
        return regular(self)

    def quotient(self, subgroup: PlanarGroupBase) -> Representation:
        """The quotient representation on the cosets G/H of a subgroup H (e.g. C_N/C_M, D_N/flips)."""
        return quotient(self, subgroup)

    def representation(self, matrices, name: str = "user") -> Representation:
        """A user-defined representation of a finite group from a callable ``g -> matrix`` or a dict/list of matrices
        (one per element of `elements`); checked for orthogonality and the homomorphism property."""
        return from_matrices(self, matrices, name=name)


def cyclic(N: int) -> PlanarGroup:
    """The cyclic group C_N of rotations by multiples of 2π/N."""
    return PlanarGroup(N, reflections=False)


def dihedral(N: int) -> PlanarGroup:
    """The dihedral group D_N: rotations by multiples of 2π/N and the flips (across the x-axis, and its rotations)."""
    return PlanarGroup(N, reflections=True)


def so2(max_frequency: int = 6) -> PlanarGroup:
    """The rotation group SO(2), with representations band-limited to ``max_frequency``."""
    return PlanarGroup(None, reflections=False, max_frequency=max_frequency)


def o2(max_frequency: int = 6) -> PlanarGroup:
    """The orthogonal group O(2) (rotations and reflections), band-limited to ``max_frequency``."""
    return PlanarGroup(None, reflections=True, max_frequency=max_frequency)


def flips() -> PlanarGroup:
    """The group {e, flip} = D_1 (reflection across the x-axis)."""
    return PlanarGroup(1, reflections=True)


def trivial_group() -> PlanarGroup:
    """The trivial group C_1: an ordinary CNN is 'equivariant' to it."""
    return PlanarGroup(1, reflections=False)


def get(name: str, **kwargs) -> PlanarGroup:
    """A group by name: 'C8', 'D4', 'SO2', 'O2' (continuous ones take ``max_frequency``)."""
    s = str(name).strip().upper().replace("(", "").replace(")", "")
    if s in ("SO2",):
        return so2(**kwargs)
    if s in ("O2",):
        return o2(**kwargs)
    if len(s) > 1 and s[0] in "CD" and s[1:].isdigit():
        return (cyclic if s[0] == "C" else dihedral)(int(s[1:]))
    raise ValueError(f"unknown group {name!r}: expected 'C<N>', 'D<N>', 'SO2' or 'O2'")
