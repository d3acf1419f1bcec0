"""Groups and gspaces: which escnn/e2cnn gspace matches an equinet group, and how their elements correspond.

Both libraries use equinet's image coordinates (``docs/conventions.md``): y up, rotations counter-clockwise, and
the abstract group law "reflect, then rotate" with the same irrep matrices. The one difference is the flip axis.
equinet reflects across the x-axis (an up-down flip of the array, ``torch.flip(u, [-2])``); a gspace built with
``axis=a`` reflects across the line at angle ``a`` (escnn's and e2cnn's default ``a = π/2`` is a left-right
flip). A library element ``(f, θ)`` therefore acts on the plane as equinet's ``(f, θ + 2af)``: the map
``(f, θ) -> (f, θ - 2af)`` from equinet to library elements is conjugation by the rotation R(-a), and
representations are converted through it (`GroupMap.to_library_coordinates`).
"""
from __future__ import annotations

import math

import numpy as np

from ..groups import PlanarGroup, cyclic, dihedral, o2, so2
from ..groups.group import GroupElement
from ..groups.representation import Representation
from ._libs import Lib, check_library, library_of, require

#: absolute tolerance of the numerical agreement checks of every conversion
ATOL = 1e-8


class GroupMap:
    """An equinet group and a library gspace of the same planar group, with the element correspondence.

    Build it with `group_map` (from a gspace) or `gspace_for` (from an equinet group).
    """

    def __init__(self, group: PlanarGroup, gspace, lib: Lib, axis: float = 0.0):
        self.group, self.gspace, self.lib, self.axis = group, gspace, lib, float(axis)
        self.shift: int | float = 0  # steps (finite) or radians (continuous) added to a flipped element's rotation
        if group.reflections:
            if group.N is None:
                self.shift = (2.0 * self.axis) % (2 * math.pi)
            else:
                q = 2.0 * self.axis * group.N / (2 * math.pi)
                if abs(q - round(q)) > 1e-9:
                    raise ValueError(f"a {lib.name} gspace of {group.name} with flip axis {self.axis:.6g} rad is not "
                                     f"equinet's {group.name} (it flips across the x-axis): the axes must differ by a "
                                     f"multiple of π/{group.N}; build the gspace with axis=0.")
                self.shift = int(round(q)) % group.N

    def __repr__(self):
        return f"GroupMap({self.group.name} <-> {self.lib.name} {self.gspace}, flip axis {self.axis:.6g} rad)"

    @property
    def identity_map(self) -> bool:
        """Whether equinet and library elements correspond coordinate for coordinate (flip axis 0 or equivalent)."""
        return not self.shift if self.group.N is not None else abs(math.remainder(self.shift, 2 * math.pi)) < 1e-12

    def element(self, g: GroupElement):
        """The library element acting on the plane as the equinet element ``g`` does."""
        if not isinstance(g, GroupElement) or g.group != self.group:
            raise TypeError(f"expected an element of {self.group.name}, got {g!r}")
        if self.group.N is None:
            return self.lib.element(self.gspace, g.reflection, (g.angle - self.shift * g.reflection) % (2 * math.pi))
        steps = g.steps
        assert steps is not None  # an element of a finite group
        return self.lib.element(self.gspace, g.reflection, (steps - self.shift * g.reflection) % self.group.N)

    def check_elements(self) -> list[GroupElement]:
        """The equinet elements conversions are verified on: all of a finite group, 12 (+ reflections) of SO(2)/O(2)."""
        return self.group.elements() if self.group.N is not None else self.group.testing_elements(12, seed=0)

    def max_difference(self, rep: Representation, lib_rep) -> float:
        """max over `check_elements` of |ρ(g) − ρ_lib(element(g))| (inf on a size mismatch)."""
        if rep.size != lib_rep.size:
            return math.inf
        return max(float(np.abs(rep(g) - np.asarray(lib_rep(self.element(g)))).max()) for g in self.check_elements())

    # ------------------------------------------------------------------ change of element coordinates
    def _rotation(self, angle: float) -> GroupElement:
        return self.group.element(angle)

    def to_library_coordinates(self, rep: Representation) -> Representation:
        """ρ' with ρ'(h) = ρ(g) whenever h has the coordinates of the library element of g (ρ' = ρ∘α⁻¹)."""
        if self.identity_map:
            return rep
        if self.group.N is None:  # α⁻¹(g) = R(a) g R(-a): a change of basis by ρ(R(a))
            return rep.change_basis(rep(self._rotation(self.axis)), name=rep.name)
        m, G = self.shift, self.group
        return G.representation(lambda h: rep(G.element(steps=h.steps + m * h.reflection, reflection=h.reflection)),
                                name=rep.name)

    def from_library_coordinates(self, rep: Representation) -> Representation:
        """The inverse of `to_library_coordinates`."""
        if self.identity_map:
            return rep
        if self.group.N is None:
            return rep.change_basis(rep(self._rotation(-self.axis)), name=rep.name)
        m, G = self.shift, self.group
        return G.representation(lambda g: rep(G.element(steps=g.steps - m * g.reflection, reflection=g.reflection)),
                                name=rep.name)


def _group_from(kind: str, N: int, max_frequency: int) -> PlanarGroup:
    if kind == "C":
        return cyclic(N)
    if kind == "D":
        return dihedral(N)
    return (so2 if kind == "SO2" else o2)(max_frequency)


def group_map(gspace, group: PlanarGroup | None = None, max_frequency: int = 6) -> GroupMap:
    """The `GroupMap` of an escnn or e2cnn 2-D gspace; ``group`` (optional) must be the matching equinet
    group (its band limit is kept), otherwise one is made (SO(2)/O(2) with ``max_frequency``)."""
    name = library_of(gspace)
    if name is None:
        raise TypeError(f"expected an escnn or e2cnn gspace, got {type(gspace).__name__}")
    lib = require(name)
    kind, N = lib.kind(gspace)
    made = _group_from(kind, N, max_frequency)
    if group is not None:
        if not isinstance(group, PlanarGroup):
            raise TypeError(f"group must be an equinet PlanarGroup, got {type(group).__name__}")
        if group != made:
            raise ValueError(f"the {name} gspace {gspace} is of {made.name}, not of {group.name}")
        made = group
    axis = lib.axis(gspace) if made.reflections else 0.0
    return GroupMap(made, gspace, lib, axis)


def gspace_for(group: PlanarGroup, library: str = "escnn", axis: float = 0.0) -> GroupMap:
    """The gspace of an equinet group in escnn or e2cnn (``rot2dOnR2``/``flipRot2dOnR2``, or e2cnn's
    ``Rot2dOnR2``/``FlipRot2dOnR2``), with flip ``axis`` 0 by default, so that elements correspond exactly."""
    if not isinstance(group, PlanarGroup):
        raise TypeError(f"group must be an equinet PlanarGroup (e.g. groups.cyclic(8)), got {type(group).__name__}")
    lib = require(check_library(library))
    if group.reflections and group.N == 1:
        raise ValueError("the flips group D1 has no flipRot2dOnR2 gspace of its own kind (escnn makes it a C2); "
                         "equinet.interop converts C_N, D_N (N >= 2), SO(2) and O(2)")
    N = -1 if group.N is None else group.N
    # the libraries pre-instantiate irreps up to this frequency; kernel bases of fields band-limited to L need the
    # tensor products of their irreps, i.e. frequencies up to 2L (the bases themselves do not depend on it)
    pre = max(6, 2 * group.max_frequency) if N == -1 else group.max_frequency
    gs = lib.gspace(N, group.reflections, pre, float(axis))
    return GroupMap(group, gs, lib, float(axis) if group.reflections else 0.0)
