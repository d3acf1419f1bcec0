"""Field types and representations, equinet <-> escnn / e2cnn.

Every conversion is checked numerically: the converted representation's matrix at the corresponding element
(`GroupMap`) equals the original's on every element of a finite group (on 12
rotations and their reflections for SO(2)/O(2)), to 1e-8. Named representations map to named representations
(trivial, irreps with the same index, regular: both libraries order the regular basis like ``G.elements()``), so
escnn's pointwise nonlinearities accept converted regular fields; any other representation is sent through its
irreps and change of basis.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..groups.representation import Irrep, Representation, direct_sum
from ..nn.field_type import FieldType, is_permutation
from ._libs import library_of
from .spaces import ATOL, GroupMap, group_map, gspace_for

__all__ = ["to_escnn", "to_e2cnn", "from_escnn", "rep_to_library", "rep_from_library"]


def _nonlinearities(rep: Representation) -> set[str]:
    return {"pointwise", "norm", "gated", "concatenated"} if is_permutation(rep) else {"norm", "gated"}


def _checked(gmap: GroupMap, rep: Representation, lib_rep, what: str):
    err = gmap.max_difference(rep, lib_rep)
    if not err <= ATOL:
        raise ArithmeticError(f"{what}: the converted representation differs by {err:.3g} (> {ATOL:g}) from "
                              f"{rep!r}; please report this")


def _canonical_library(gmap: GroupMap, rep: Representation):
    G, gs = gmap.group, gmap.gspace
    if isinstance(rep, Irrep):
        return gs.trivial_repr if rep.is_trivial() else gs.irrep(*rep.index)
    if G.N is not None and rep == G.regular:
        return gs.regular_repr
    return None


def rep_to_library(rep: Representation, gmap: GroupMap):
    """The escnn/e2cnn representation on ``gmap.gspace`` whose matrix at ``gmap.element(g)`` is ``rep(g)``."""
    if not isinstance(rep, Representation):
        raise TypeError(f"expected an equinet Representation, got {type(rep).__name__}")
    if rep.group != gmap.group:
        raise ValueError(f"representation {rep!r} is of {rep.group.name}, the gspace of {gmap.group.name}")
    cand = _canonical_library(gmap, rep)
    if cand is not None and gmap.max_difference(rep, cand) <= ATOL:
        return cand
    moved = gmap.to_library_coordinates(rep)
    digest = hashlib.sha1(repr((rep.key, round(gmap.axis, 12))).encode()).hexdigest()[:12]
    lib_rep = gmap.lib.make_rep(gmap.gspace, f"equinet:{rep.name}:{digest}", [p.index for p in moved.irreps],
                                moved.change_of_basis, _nonlinearities(rep))
    _checked(gmap, rep, lib_rep, f"converting {rep!r} to {gmap.lib.name}")
    return lib_rep


def _canonical_equinet(gmap: GroupMap, rep: Representation, name: str) -> Representation:
    """The group's own trivial/regular/irrep object when ``rep`` has its matrices; a finite group's signed
    permutation representation rebuilt from exactly rounded matrices (so that it compares equal to equinet's own
    quotient representations); ``rep`` otherwise."""
    G = gmap.group
    els = gmap.check_elements()
    for c in [G.trivial] + ([G.regular] if G.N is not None else []) + list(G.irreps()):
        if c.size == rep.size and max(float(np.abs(c(g) - rep(g)).max()) for g in els) <= ATOL:
            return c
    if G.N is not None:
        mats = [rep(g) for g in els]
        if all(np.abs(m - np.round(m)).max() <= ATOL for m in mats):
            return G.representation([np.round(m) + 0.0 for m in mats], name=name)
    return rep


def rep_from_library(lib_rep, gmap: GroupMap) -> Representation:
    """The equinet representation of ``gmap.group`` whose matrix at g is ``lib_rep(gmap.element(g))``."""
    if library_of(lib_rep) != gmap.lib.name or not hasattr(lib_rep, "change_of_basis"):
        raise TypeError(f"expected a {gmap.lib.name} representation, got {type(lib_rep).__name__}")
    G = gmap.group
    indices = gmap.lib.irrep_indices(gmap.gspace, lib_rep)
    Q = np.asarray(lib_rep.change_of_basis, dtype=np.float64)
    if np.allclose(Q @ Q.T, np.eye(Q.shape[0]), atol=1e-9):
        base = direct_sum(*[G.irrep(*i) for i in indices], name=lib_rep.name).change_basis(Q, name=lib_rep.name)
        rep = _canonical_equinet(gmap, gmap.from_library_coordinates(base), lib_rep.name)
    elif G.N is not None:  # a non-orthogonal change of basis: take the matrices themselves (checked orthogonal)
        rep = G.representation(lambda g: np.asarray(lib_rep(gmap.element(g))), name=lib_rep.name)
        rep = _canonical_equinet(gmap, rep, lib_rep.name)
    else:
        raise ValueError(f"{gmap.lib.name} representation {lib_rep.name} of {G.name} has a non-orthogonal change "
                         "of basis; equinet needs orthogonal representations of continuous groups")
    _checked(gmap, rep, lib_rep, f"converting {gmap.lib.name} {lib_rep.name} to equinet")
    return rep


def to_escnn(ftype: FieldType, gspace=None, library: str = "escnn"):
    """The escnn (or e2cnn, ``library='e2cnn'``) ``nn.FieldType`` of an equinet `FieldType`.

    ``gspace``: a gspace (or `GroupMap`) to build on, e.g. a model's ``in_type.gspace``; default
    `gspace_for(ftype.group, library) <equinet.interop.gspace_for>` (flip axis 0, as equinet).
    """
    if not isinstance(ftype, FieldType):
        raise TypeError(f"to_escnn converts an equinet FieldType, got {type(ftype).__name__}")
    if gspace is None:
        gmap = gspace_for(ftype.group, library)
    elif isinstance(gspace, GroupMap):
        gmap = gspace
    else:
        gmap = group_map(gspace, ftype.group)
    if gmap.group != ftype.group:
        raise ValueError(f"field type {ftype} is of {ftype.group.name}, the gspace of {gmap.group.name}")
    cache = {}
    reps = []
    for r in ftype.reps:
        if r.key not in cache:
            cache[r.key] = rep_to_library(r, gmap)
        reps.append(cache[r.key])
    return gmap.lib.nn.FieldType(gmap.gspace, reps)


def to_e2cnn(ftype: FieldType, gspace=None):
    """`to_escnn` with ``library='e2cnn'``."""
    return to_escnn(ftype, gspace, library="e2cnn")


def from_escnn(ftype, group=None) -> FieldType:
    """The equinet `FieldType` of an escnn or e2cnn ``nn.FieldType`` on a planar gspace.

    ``group``: the equinet group to use (it must match the gspace; give it to fix the band limit of SO(2)/O(2),
    otherwise the largest irrep frequency of the type, at least 1, is used).
    """
    if library_of(ftype) is None or not hasattr(ftype, "gspace") or not hasattr(ftype, "representations"):
        raise TypeError(f"from_escnn converts an escnn or e2cnn nn.FieldType, got {type(ftype).__name__}")
    if group is None:
        lib = group_map(ftype.gspace).lib
        freqs = [idx[-1] for r in ftype.representations for idx in lib.irrep_indices(ftype.gspace, r)]
        gmap = group_map(ftype.gspace, max_frequency=max([1] + freqs))
    else:
        gmap = group_map(ftype.gspace, group)
    cache = {}
    reps = []
    for r in ftype.representations:
        if r.name not in cache:
            cache[r.name] = rep_from_library(r, gmap)
        reps.append(cache[r.name])
    return FieldType(gmap.group, reps)
