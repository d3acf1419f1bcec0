"""Identifiability diagnostics: can equivariant imaging learn this operator with this group?

``rank_condition`` (rank of M = [A T_1; …; A T_|G|], exactly or by matrix-free probing), ``irrep_multiplicities``
(multiplicities of the irreps of a grid-permuting group acting on the pixel grid) and ``identifiability_report``
(one call, printable, with ``.ok``); ``family_rank`` (what measurements of several operators can reveal, with and
without a group). See ``docs/identifiability.md``.

>>> from equinet import diagnostics, groups, physics
>>> print(diagnostics.identifiability_report(physics.Inpainting(16, drop=0.3), groups.dihedral(4)))  # doctest: +SKIP
"""
from .family import FamilyRank, family_rank  # noqa: F401
from .multiplicities import Multiplicities, irrep_multiplicities  # noqa: F401
from .rank import RankResult, rank_condition, support_mask  # noqa: F401
from .report import IdentifiabilityReport, identifiability_report  # noqa: F401

__all__ = ["RankResult", "rank_condition", "support_mask", "Multiplicities", "irrep_multiplicities",
           "IdentifiabilityReport", "identifiability_report", "FamilyRank", "family_rank"]
