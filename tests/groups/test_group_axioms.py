"""Group axioms, element matrices and bad input for C_N, D_N, SO(2), O(2)."""
import math

import numpy as np
import pytest

from equinet import groups
from tests.conftest import CONTINUOUS, FINITE, ids


def _elements(G):
    return G.elements() if G.N is not None else G.testing_elements(6, seed=1)


@pytest.mark.parametrize("G", FINITE + CONTINUOUS, ids=ids(FINITE + CONTINUOUS))
def test_axioms(G):
    els = _elements(G)
    e = G.identity
    for a in els:
        assert a * e == a and e * a == a
        assert a * a.inverse == e and a.inverse * a == e
        for b in els:
            for c in els[:4]:
                assert (a * b) * c == a * (b * c)


@pytest.mark.parametrize("G", FINITE + CONTINUOUS, ids=ids(FINITE + CONTINUOUS))
def test_element_matrices_are_a_homomorphism(G):
    els = _elements(G)
    for a in els:
        H = a.matrix
        np.testing.assert_allclose(H @ H.T, np.eye(2), atol=1e-12)
        assert np.isclose(np.linalg.det(H), -1.0 if a.reflection else 1.0)
        for b in els:
            np.testing.assert_allclose((a * b).matrix, a.matrix @ b.matrix, atol=1e-12)


@pytest.mark.parametrize("G", FINITE, ids=ids(FINITE))
def test_finite_groups_list_all_elements(G):
    els = G.elements()
    assert len(els) == G.order == len(set(els))
    assert G.identity in els
    for a in els:
        for b in els:
            assert a * b in els
    assert sum(a.reflection for a in els) == (G.N if G.reflections else 0)


def test_element_attributes_and_grid_preservation():
    G = groups.dihedral(8)
    g = G.element(steps=3, reflection=True)
    assert math.isclose(g.angle, 3 * 2 * math.pi / 8) and g.reflection
    assert [h.preserves_grid for h in G.elements()[:8]] == [True, False, True, False, True, False, True, False]
    assert groups.so2(2).element(math.pi / 2).preserves_grid
    assert not groups.so2(2).element(0.3).preserves_grid


def test_continuous_testing_elements_are_deterministic():
    G = groups.o2(3)
    a, b = G.testing_elements(5, seed=3), G.testing_elements(5, seed=3)
    assert a == b and len(a) == 10
    assert G.testing_elements(4)[1] == G.element(math.pi / 2)


def test_get_by_name():
    assert groups.get("C8") == groups.cyclic(8)
    assert groups.get("d4") == groups.dihedral(4)
    assert groups.get("SO(2)", max_frequency=3) == groups.so2(3)
    with pytest.raises(ValueError, match="unknown group"):
        groups.get("Q8")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8", True])
def test_bad_order(bad):
    with pytest.raises(ValueError, match="rotation order N"):
        groups.cyclic(bad)


def test_bad_elements():
    C4, C8 = groups.cyclic(4), groups.cyclic(8)
    with pytest.raises(ValueError, match="not a multiple of 2π/4"):
        C4.element(math.pi / 4)
    with pytest.raises(ValueError, match="has no reflections"):
        C4.element(0.0, reflection=True)
    with pytest.raises(ValueError, match="belongs to C8, not to C4"):
        C4.compose(C4.identity, C8.identity)
    with pytest.raises(ValueError, match="continuous"):
        groups.so2(2).elements()
    with pytest.raises(ValueError, match="max_frequency"):
        groups.so2(-1)
