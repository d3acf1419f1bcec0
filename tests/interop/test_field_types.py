"""Field types equinet <-> escnn / e2cnn: round trips, representation matrices on every element, image actions."""
import math

import numpy as np
import pytest
import torch

pytest.importorskip("escnn", reason="escnn is an optional reference (pip install -e '.[escnn]')")
pytest.importorskip("e2cnn", reason="e2cnn is an optional reference (pip install -e '.[escnn]')")

from equinet import groups  # noqa: E402
from equinet.interop import from_escnn, group_map, gspace_for, to_escnn  # noqa: E402
from equinet.nn import FieldType  # noqa: E402

LIBS = ["escnn", "e2cnn"]


def random_orthogonal(n, seed):
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def rich_type(G):
    """Trivial, every irrep, the regular and a quotient representation, and a direct sum in a random basis."""
    reps = [G.trivial] + list(G.irreps())
    if G.N is not None:
        reps.append(G.regular)
        if G.N % 2 == 0:
            sub = groups.dihedral(G.N // 2) if G.reflections else groups.cyclic(G.N // 2)
            reps.append(G.quotient(sub))
    mixed = groups.direct_sum(*G.irreps()[:3])
    reps.append(mixed.change_basis(random_orthogonal(mixed.size, 3), name="mixed"))
    return FieldType(G, reps)


def check_elements(G):
    return G.elements() if G.N is not None else G.testing_elements(12, seed=0)


def lib_element(lib, gs, f, r):
    return gs.fibergroup.element((f, r) if type(gs.fibergroup).__name__ in ("DihedralGroup", "O2") else r) \
        if lib == "escnn" else ((f, r) if type(gs.fibergroup).__name__ in ("DihedralGroup", "O2") else r)


CASES = [(groups.cyclic(4), 0.0), (groups.cyclic(8), 0.0), (groups.dihedral(4), 0.0), (groups.dihedral(3), 0.0),
         (groups.dihedral(4), math.pi / 2), (groups.dihedral(6), math.pi / 6), (groups.so2(3), 0.0),
         (groups.o2(3), 0.0), (groups.o2(3), math.pi / 2)]


@pytest.mark.parametrize("library", LIBS)
@pytest.mark.parametrize("G,axis", CASES, ids=[f"{G!r}-axis{a:.3f}" for G, a in CASES])
def test_round_trip_and_matrices_on_every_element(library, G, axis):
    ft = rich_type(G)
    gmap = gspace_for(G, library, axis=axis)
    lib_ft = to_escnn(ft, gmap)
    assert lib_ft.size == ft.size
    back = from_escnn(lib_ft, G)
    for g in check_elements(G):
        theirs = np.asarray(lib_ft.representation(gmap.element(g)))
        np.testing.assert_allclose(theirs, ft.representation(g), atol=1e-9)
        np.testing.assert_allclose(back.representation(g), ft.representation(g), atol=1e-9)
    if axis == 0.0:  # same element coordinates: named representations come back as the same objects
        assert back == ft
        assert lib_ft.representations[0] is gmap.gspace.trivial_repr
        if G.N is not None:
            assert lib_ft.representations[len(G.irreps()) + 1] is gmap.gspace.regular_repr


@pytest.mark.parametrize("library", LIBS)
def test_the_flip_axis_is_a_real_change_of_basis(library):
    """With the libraries' default axis π/2, escnn's flip is a left-right flip: reading its matrices at the same
    coordinates as equinet's elements would be wrong, and the converter's element map corrects it."""
    G = groups.dihedral(4)
    gmap = group_map(gspace_for(G, library, axis=math.pi / 2).gspace)
    assert abs(gmap.axis - math.pi / 2) < 1e-12 and gmap.shift == 2
    rep = G.irrep(1, 1)
    lib_rep = to_escnn(FieldType(G, [rep]), gmap).representations[0]
    flip = G.element(steps=0, reflection=True)
    naive = np.asarray(lib_rep(lib_element(library, gmap.gspace, 1, 0)))
    assert np.abs(naive - rep(flip)).max() > 1.0
    np.testing.assert_allclose(np.asarray(lib_rep(gmap.element(flip))), rep(flip), atol=1e-12)


ACTIONS = [(groups.cyclic(4), 0.0, 6), (groups.cyclic(8), 0.0, 7), (groups.dihedral(4), 0.0, 7),
           (groups.dihedral(4), math.pi / 2, 6), (groups.dihedral(2), math.pi / 2, 7)]


@pytest.mark.parametrize("library", LIBS)
@pytest.mark.parametrize("G,axis,size", ACTIONS, ids=[f"{G!r}-axis{a:.3f}-size{s}" for G, a, s in ACTIONS])
def test_image_actions_agree_on_the_grid(library, G, axis, size):
    """The library's GeometricTensor.transform and equinet.groups.act move pixels and mix channels identically
    for every grid-preserving element: same rotation direction, same image coordinates, flip axes matched."""
    ft = FieldType(G, [G.trivial, G.irreps()[-1], G.regular] + ([G.irrep(1, 1)] if G.reflections else []))
    gmap = gspace_for(G, library, axis=axis)
    lib_ft = to_escnn(ft, gmap)
    x = torch.randn(2, ft.size, size, size, generator=torch.Generator().manual_seed(size))
    gt = gmap.lib.nn.GeometricTensor(x, lib_ft)
    for g in G.elements():
        if g.preserves_grid:
            ours = groups.act(g, x, ft.representation, method="exact")
            theirs = gt.transform(gmap.element(g)).tensor
            torch.testing.assert_close(theirs, ours, atol=1e-6, rtol=0)


@pytest.mark.parametrize("library", LIBS)
def test_gspaces_of_another_group_or_axis_are_refused(library):
    lib = gspace_for(groups.cyclic(4), library).lib
    d3_vertical = lib.gspace(3, True, 1, math.pi / 2)  # the libraries' default D3: flips across the y-axis
    with pytest.raises(ValueError, match=r"multiple of π/3"):
        group_map(d3_vertical)
    ft = to_escnn(FieldType.regular(groups.cyclic(4), 1), library=library)
    with pytest.raises(ValueError, match="is of C4, not of C8"):
        from_escnn(ft, groups.cyclic(8))
    with pytest.raises(ValueError, match="is of C4, not of D4"):
        to_escnn(FieldType.trivial(groups.dihedral(4)), ft.gspace)
    if library == "escnn":
        with pytest.raises(ValueError, match="flip-only gspace"):
            group_map(lib.gspaces.flipRot2dOnR2(1))
    else:
        with pytest.raises(ValueError, match="e2cnn has no gspace of the trivial group"):
            to_escnn(FieldType.trivial(groups.trivial_group()), library="e2cnn")
    with pytest.raises(ValueError, match="flips group D1"):
        gspace_for(groups.flips(), library)


def test_library_representations_with_a_non_orthogonal_change_of_basis():
    """A scaled basis still gives an orthogonal representation (converted, here to the irrep itself); a skewed one
    does not, and equinet refuses it with its orthogonality error."""
    from escnn.group import change_basis
    G = groups.cyclic(4)
    gmap = gspace_for(G)
    psi = gmap.gspace.irrep(1)
    scaled = change_basis(psi, 2.0 * np.eye(2), name="equinet-test-scaled")
    assert from_escnn(gmap.lib.nn.FieldType(gmap.gspace, [scaled])) == FieldType(G, [G.irrep(1)])
    skewed = change_basis(psi, np.array([[1.0, 0.5], [0.0, 1.0]]), name="equinet-test-skewed")
    with pytest.raises(ValueError, match="not orthogonal"):
        from_escnn(gmap.lib.nn.FieldType(gmap.gspace, [skewed]))
    so2 = gspace_for(groups.so2(2))
    skewed_so2 = change_basis(so2.gspace.irrep(1), np.array([[1.0, 0.5], [0.0, 1.0]]), name="equinet-test-so2")
    with pytest.raises(ValueError, match="non-orthogonal change of basis"):
        from_escnn(so2.lib.nn.FieldType(so2.gspace, [skewed_so2]))
