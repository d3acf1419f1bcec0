"""Field types: a group and the list of representations carried by the channels of a feature map."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..groups.group import PlanarGroup
from ..groups.representation import Representation, direct_sum


def is_permutation(rep: Representation) -> bool:
    """Whether every element acts by a permutation matrix (`Representation.is_permutation`)."""
    return rep.is_permutation()


class FieldType:
    """A group and the representations (the *fields*) carried by consecutive channel blocks of a tensor.

    ``FieldType(G, [G.regular] * 16)`` has 16 regular fields; ``FieldType(G, [G.trivial])`` is a scalar image.
    Types compare equal when their groups and their lists of representations are equal.
    """

    def __init__(self, group: PlanarGroup, reps: Sequence[Representation]):
        if not isinstance(group, PlanarGroup):
            raise TypeError(f"FieldType needs an equinet group, got {type(group).__name__}")
        reps = list(reps)
        if not reps:
            raise ValueError("a FieldType needs at least one representation")
        for r in reps:
            if not isinstance(r, Representation):
                raise TypeError(f"FieldType takes Representations, got {type(r).__name__}")
            if r.group != group:
                raise ValueError(f"representation {r!r} is of {r.group.name}, not of the field type's {group.name}")
        self.group = group
        self.reps = tuple(reps)
        # a field type is immutable: its derived values are computed once, here
        self.offsets = [int(o) for o in np.cumsum([0] + [r.size for r in self.reps[:-1]])]
        self.key = (group.key, tuple(r.key for r in self.reps))
        #: the direct sum of the fields' representations (acting on all channels)
        self.representation = direct_sum(*self.reps) if len(self.reps) > 1 else self.reps[0]

    # -------------------------------------------------------------- constructors
    @classmethod
    def regular(cls, group: PlanarGroup, n: int) -> "FieldType":
        return cls(group, [group.regular] * n)

    @classmethod
    def trivial(cls, group: PlanarGroup, n: int = 1) -> "FieldType":
        return cls(group, [group.trivial] * n)

    # -------------------------------------------------------------- properties
    @property
    def size(self) -> int:
        """Number of channels."""
        return sum(r.size for r in self.reps)

    def __len__(self):
        return len(self.reps)

    def field_channels(self, i: int) -> slice:
        return slice(self.offsets[i], self.offsets[i] + self.reps[i].size)

    def __eq__(self, other):
        return isinstance(other, FieldType) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __add__(self, other: "FieldType") -> "FieldType":
        if not isinstance(other, FieldType) or other.group != self.group:
            raise ValueError(f"can only concatenate field types of the same group: {self} + {other}")
        return FieldType(self.group, list(self.reps) + list(other.reps))

    def __repr__(self):
        parts, prev, count = [], None, 0
        for r in self.reps + (None,):
            if r is not None and prev is not None and r.key == prev.key:
                count += 1
                continue
            if prev is not None:
                parts.append(f"{count}×{prev.name}" if count > 1 else prev.name)
            prev, count = r, 1
        return f"FieldType({self.group.name}: {' + '.join(parts)}; {self.size} channels)"

    def pointwise_compatible(self) -> bool:
        """Whether pointwise nonlinearities are equivariant on this type (all fields are permutation reps)."""
        return all(r.is_permutation() for r in self.unique_reps())

    def require_pointwise(self, layer: str) -> None:
        """Raise a TypeError naming this type unless every field is a permutation representation (what a layer
        acting channel by channel, ``layer``, needs to be equivariant)."""
        bad = [r.name for r in self.unique_reps() if not r.is_permutation()]
        if bad:
            raise TypeError(f"{layer} acts channel by channel, which is equivariant only on permutation fields "
                            f"(trivial, regular, quotient), but {self} contains {', '.join(bad)}; use "
                            f"NormNonlinearity, GatedNonlinearity or NormPooling for such fields")

    def unique_reps(self) -> list[Representation]:
        return list(dict.fromkeys(self.reps))

    # -------------------------------------------------------------- checks
    def check(self, x: torch.Tensor, what: str = "input") -> None:
        """Raise a clear error unless ``x`` is a [batch, channels, H, W] tensor with this type's channel count."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"{what} must have shape [batch, channels, H, W], got {tuple(x.shape)}")
        if x.shape[1] != self.size:
            raise ValueError(f"{what} has {x.shape[1]} channels but the field type {self} expects {self.size}")


def as_field_type(t, group: PlanarGroup | None = None) -> FieldType:
    if isinstance(t, FieldType):
        return t
    if isinstance(t, Representation):
        if not isinstance(t.group, PlanarGroup):
            raise TypeError(f"the representation {t!r} is of {type(t.group).__name__}, not of an equinet group "
                            "(groups.cyclic(N), groups.dihedral(N), ...)")
        return FieldType(t.group, [t])
    raise TypeError(f"expected a FieldType (or a Representation), got {type(t).__name__}")


def check_same_type(expected: FieldType, got: FieldType, where: str) -> None:
    """Raise a TypeError naming both types when two consecutive layers do not fit."""
    if expected != got:
        raise TypeError(f"{where}: field types do not match: the previous output is {got}, but the next layer "
                        f"expects {expected}")
