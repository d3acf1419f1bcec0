"""Planar symmetry groups, their representations, and their actions on images.

>>> from equinet import groups
>>> G = groups.dihedral(4)
>>> rho = G.regular + G.irrep(1, 1)
>>> rho.decompose()           # doctest: +SKIP
"""
from .action import act, quarter_turns, rotate_points  # noqa: F401
from .group import GroupElement, PlanarGroup, cyclic, dihedral, flips, get, o2, so2, trivial_group  # noqa: F401
from .representation import Irrep, Representation, all_irreps, direct_sum, from_matrices, irrep, quotient, regular  # noqa: F401

__all__ = ["GroupElement", "PlanarGroup", "cyclic", "dihedral", "so2", "o2", "flips", "trivial_group", "get",
           "Representation", "Irrep", "direct_sum", "irrep", "all_irreps", "regular", "quotient",
           "from_matrices", "act", "quarter_turns", "rotate_points"]
