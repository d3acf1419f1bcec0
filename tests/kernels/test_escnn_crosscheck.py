"""Cross-checks against escnn (the optional reference library): irrep matrices and basis sizes.

escnn raises a ValueError for pairs whose band-limited basis is empty; equinet returns an empty basis there."""
import warnings

import numpy as np
import pytest

from equinet import groups, kernels

escnn = pytest.importorskip("escnn", reason="escnn is an optional reference (pip install -e '.[escnn]')")
from escnn import gspaces, nn as enn  # noqa: E402

warnings.filterwarnings("ignore", message=".*basis for the block expansion.*")

CASES = [
    (groups.cyclic(4), lambda: gspaces.rot2dOnR2(4)),
    (groups.cyclic(8), lambda: gspaces.rot2dOnR2(8)),
    (groups.dihedral(4), lambda: gspaces.flipRot2dOnR2(4)),
    (groups.so2(3), lambda: gspaces.rot2dOnR2(-1, maximum_frequency=3)),
    (groups.o2(3), lambda: gspaces.flipRot2dOnR2(-1, maximum_frequency=3)),
]


def _pairs(G, gs):
    out = [(p, gs.irrep(*p.index)) for p in G.irreps()]
    if G.N is not None:
        out.append((G.regular, gs.regular_repr))
    return out


@pytest.mark.parametrize("G,make", CASES, ids=[repr(c[0]) for c in CASES])
def test_irreps_match_escnn(G, make):
    """Same abstract irrep matrices; escnn's element (f, θ) is ours with reflection f and angle θ. (On the plane,
    escnn's default flip is x -> -x, equinet's is y -> -y: use ``flipRot2dOnR2(N, axis=0.)`` to compare layers.)"""
    gs = make()
    for p in G.irreps():
        ep = gs.irrep(*p.index)
        for g in G.testing_elements(8, seed=5):
            rot = g.steps if G.N is not None else g.angle
            e = gs.fibergroup.element((int(g.reflection), rot) if G.reflections else rot)
            np.testing.assert_allclose(p(g), ep(e), atol=1e-9)


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("G,make", CASES, ids=[repr(c[0]) for c in CASES])
def test_basis_sizes_match_escnn(G, make, k):
    gs = make()
    for a, ea in _pairs(G, gs):
        for b, eb in _pairs(G, gs):
            ours = kernels.steerable_basis_numpy(a, b, k).shape[0]
            try:
                theirs = enn.R2Conv(enn.FieldType(gs, [ea]), enn.FieldType(gs, [eb]), k).basisexpansion.dimension()
            except ValueError:  # escnn refuses empty bases
                theirs = 0
            assert ours == theirs, (G, a, b, k, ours, theirs)
