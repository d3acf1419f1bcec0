"""Lazy access to the optional reference libraries escnn and e2cnn, and the few places where their APIs differ.

Nothing here imports escnn or e2cnn at module import time: `require` does, and a missing library raises
`MissingLibraryError` with one line saying what to install.
"""
from __future__ import annotations

import math

import numpy as np

LIBRARIES = ("escnn", "e2cnn")
INSTALL = ('pip install -e ".[escnn]" (installs escnn and e2cnn with numpy<2; escnn builds lie_learn/py3nj from '
           'source, so install a Fortran compiler such as gfortran first)')


class MissingLibraryError(ImportError):
    """An optional reference library (escnn or e2cnn) is needed but cannot be imported."""


def check_library(library: str) -> str:
    if library not in LIBRARIES:
        raise ValueError(f"library must be one of {LIBRARIES}, got {library!r}")
    return library


def library_of(obj) -> str | None:
    """'escnn' or 'e2cnn' when ``obj`` is an instance of one of their classes or of a subclass (a user's model
    deriving from ``escnn.nn.EquivariantModule``, a field type, gspace, representation); None otherwise."""
    for cls in type(obj).__mro__:
        top = (cls.__module__ or "").split(".")[0]
        if top in LIBRARIES:
            return top
    return None


class Lib:
    """One reference library (escnn or e2cnn): its submodules and the calls whose spelling differs."""

    def __init__(self, name: str, gspaces, nn, group):
        self.name, self.gspaces, self.nn, self.group = name, gspaces, nn, group

    def __repr__(self):
        return f"Lib({self.name})"

    # ------------------------------------------------------------------ spaces
    def gspace(self, N: int, reflections: bool, max_frequency: int, axis: float):
        """The 2-D gspace of C_N / D_N (N >= 1) or SO(2) / O(2) (N = -1)."""
        if self.name == "escnn":
            if reflections:
                return self.gspaces.flipRot2dOnR2(N, maximum_frequency=max_frequency, axis=axis)
            return self.gspaces.rot2dOnR2(N, maximum_frequency=max_frequency)
        if N == 1:
            raise ValueError("e2cnn has no gspace of the trivial group (its Rot2dOnR2 needs N > 1 or N = -1); "
                             "use library='escnn'")
        kw = {"maximum_frequency": max_frequency} if N == -1 else {}
        if reflections:
            return self.gspaces.FlipRot2dOnR2(N, axis=axis, **kw)
        return self.gspaces.Rot2dOnR2(N, **kw)

    def axis(self, gspace) -> float:
        """The flip axis of a gspace with reflections (radians, counter-clockwise from +x), read from the action of
        the flip element on the plane (escnn) or the gspace's ``axis`` (e2cnn)."""
        if self.name == "e2cnn":
            return float(getattr(gspace, "axis", 0.0))
        m = np.asarray(gspace.basespace_action(self.element(gspace, True, 0 if gspace.fibergroup.order() > 0 else 0.0)))
        return 0.5 * math.atan2(m[1, 0], m[0, 0])  # a reflection across the line at angle a is [[c2a, s2a], ...]

    def kind(self, gspace) -> tuple[str, int]:
        """('C' | 'D' | 'SO2' | 'O2', N) of a gspace's fibre group (N = -1 for continuous groups)."""
        fg = gspace.fibergroup
        cls = type(fg).__name__
        if cls == "CyclicGroup":
            flip_only = getattr(gspace, "flips_order", 0) and getattr(gspace, "rotations_order", 2) == 1
            if self.name == "escnn" and flip_only:
                raise ValueError("the flip-only gspace (flipRot2dOnR2(1)) is a C2 in escnn; equinet.interop "
                                 "converts C_N, D_N (N >= 2), SO(2) and O(2) gspaces")
            return "C", int(fg.order())
        if cls == "DihedralGroup":
            return "D", int(fg.order()) // 2
        if cls in ("SO2", "O2"):
            return cls, -1
        raise ValueError(f"{self.name} gspace {gspace} has fibre group {cls}: equinet.interop converts planar "
                         "gspaces of C_N, D_N, SO(2) and O(2)")

    # ------------------------------------------------------------------ elements and representations
    def element(self, gspace, reflection: bool, rotation):
        """The fibre-group element with flip flag and rotation (steps for C_N/D_N, radians for SO(2)/O(2))."""
        fg = gspace.fibergroup
        flips = type(fg).__name__ in ("DihedralGroup", "O2")
        raw = (int(reflection), rotation) if flips else rotation
        return fg.element(raw) if self.name == "escnn" else raw

    def irrep_indices(self, gspace, rep) -> list[tuple[int, ...]]:
        """The irreps of a library representation, as equinet irrep indices, in the order of its change of basis."""
        if self.name == "escnn":
            return [tuple(int(i) for i in (idx if isinstance(idx, tuple) else (idx,))) for idx in rep.irreps]
        out: list[tuple[int, ...]] = []
        for name in rep.irreps:
            att = gspace.fibergroup.irreps[name].attributes
            out.append((int(att["flip_frequency"]), int(att["frequency"])) if "flip_frequency" in att
                       else (int(att["frequency"]),))
        return out

    def make_rep(self, gspace, name: str, indices, change_of_basis: np.ndarray, nonlinearities):
        """A library representation ``Q (⊕ irreps) Qᵀ``, reusing one of the same name if the group has it."""
        known = gspace.fibergroup.representations
        if name in known:
            return known[name]
        ids = [gspace.irrep(*i).id if self.name == "escnn" else gspace.irrep(*i).name for i in indices]
        return self.group.Representation(gspace.fibergroup, name, ids, np.asarray(change_of_basis, dtype=float),
                                         set(nonlinearities))


def require(library: str = "escnn") -> Lib:
    """The library's gspaces/nn/group modules, or `MissingLibraryError` naming the install command."""
    check_library(library)
    try:
        if library == "escnn":
            from escnn import group, gspaces, nn
        else:
            from e2cnn import group, gspaces, nn
        mods = [gspaces, nn, group]
    except ImportError as e:
        raise MissingLibraryError(f"equinet.interop needs {library}, which cannot be imported ({e}); install it "
                                  f"with: {INSTALL}") from None
    return Lib(library, *mods)
