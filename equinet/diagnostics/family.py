"""Model identification for an operator family: which images can be learned from measurements of ``g`` operators?

From measurements ``y_i = A_{g_i} x_i`` alone, at best the component of the signals in the range of the stacked
operator ``[A_1; ...; A_g]`` is seen; its null space (the directions no member measures) can be learned only from
a signal model, e.g. invariance to a group: then the rank that counts is the one of ``[A_k T_h]`` over members
``k`` and group elements ``h``. `family_rank` computes both, exactly, from explicit matrices (small images);
``python -m equinet.diagnostics.family_table`` prints them for MRI families of several sizes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

from ..physics.family import OperatorFamily
from .rank import DEFAULT_RTOL, rank_condition

__all__ = ["FamilyRank", "family_rank"]


@dataclass
class FamilyRank:
    """Ranks of the members, of the stacked operator and (with a group) of the stacked operator times the group."""

    n: int                          # image dimension C·H·W
    g: int                          # number of members
    member_ranks: List[int]
    rank_stacked: int               # rank [A_1; ...; A_g]
    rank_group: Optional[int]       # rank [A_k T_h]_{k, h} (None without a group)
    n_transforms: int               # group elements used (1 without a group)
    rtol: float
    details: dict = field(default_factory=dict)

    @property
    def nullity_stacked(self) -> int:
        """Dimension of the joint null space: directions no member measures."""
        return self.n - self.rank_stacked

    @property
    def nullity_group(self) -> Optional[int]:
        """Directions that neither the members nor the group expose (None without a group)."""
        return None if self.rank_group is None else self.n - self.rank_group

    def __str__(self):
        group = "" if self.rank_group is None else \
            f", with {self.n_transforms} transformations {self.rank_group} (nullity {self.nullity_group})"
        return (f"{self.g} operators on n = {self.n}: member ranks {self.member_ranks}, stacked rank "
                f"{self.rank_stacked} (nullity {self.nullity_stacked}){group}")


def family_rank(family: OperatorFamily, transforms=None, rtol: float = DEFAULT_RTOL,
                offgrid: str = "bilinear") -> FamilyRank:
    """Exact ranks (float64 Gram matrices, `equinet.diagnostics.rank_condition` with ``method='exact'``; images of
    at most 4096 unknowns) of each member, of ``[A_1; ...; A_g]`` and, with ``transforms`` (a finite equinet group,
    a list of callables or an ``equinet.transforms`` object), of ``[A_k T_h]`` over members and transformations.

    Inpainting masks whose union covers every pixel make the stacked operator invertible; one mask alone sees only
    its kept pixels:

    >>> import torch
    >>> from equinet.physics import Inpainting, OperatorFamily
    >>> left = Inpainting(4, mask=torch.tensor([[1., 1, 0, 0]] * 4))
    >>> right = Inpainting(4, mask=torch.tensor([[0., 0, 1, 1]] * 4))
    >>> r = family_rank(OperatorFamily([left, right]))
    >>> r.member_ranks, r.rank_stacked, r.nullity_stacked
    ([8, 8], 16, 0)
    >>> family_rank(OperatorFamily([left])).rank_stacked
    8
    """
    if not isinstance(family, OperatorFamily):
        raise TypeError(f"family_rank expects an equinet.physics.OperatorFamily, got {type(family).__name__}")
    n = math.prod(family.in_shape)
    identity = [lambda x: x]
    members = [int(rank_condition(m, identity, method="exact", rtol=rtol).rank_A) for m in family]
    stacked = rank_condition(family.stacked(), identity if transforms is None else transforms, method="exact",
                             rtol=rtol, offgrid=offgrid, max_transforms=10 ** 6)
    return FamilyRank(n=n, g=len(family), member_ranks=members, rank_stacked=int(stacked.rank_A),
                      rank_group=None if transforms is None else int(stacked.rank_M),
                      n_transforms=1 if transforms is None else stacked.n_transforms, rtol=float(stacked.rtol),
                      details={"gap_stacked": stacked.gap_A, "gap_group": stacked.gap_M,
                               "image_size": family.image_size})

