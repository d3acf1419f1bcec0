"""Representations: homomorphism, orthogonality, characters, multiplicities, change of basis, bad input."""
import numpy as np
import pytest

from equinet import groups
from tests.conftest import CONTINUOUS, FINITE, ids


def builtin_reps(G):
    reps = list(G.irreps())
    if G.N is not None:
        reps.append(G.regular)
        for H in [groups.cyclic(m) for m in range(2, G.N) if G.N % m == 0]:
            reps.append(G.quotient(H))
        if G.reflections:
            reps.append(G.quotient(groups.flips()))
            reps.append(G.quotient(groups.cyclic(G.N)))
    reps.append(groups.direct_sum(*reps[:3]))
    return reps


def _els(G):
    return G.elements() if G.N is not None else G.testing_elements(7, seed=2)


ALL = FINITE + CONTINUOUS


@pytest.mark.parametrize("G", ALL, ids=ids(ALL))
def test_homomorphism_and_orthogonality(G):
    els = _els(G)
    for rep in builtin_reps(G):
        for a in els:
            A = rep(a)
            assert A.shape == (rep.size, rep.size)
            np.testing.assert_allclose(A @ A.T, np.eye(rep.size), atol=1e-10)
            for b in els:
                np.testing.assert_allclose(rep(a * b), A @ rep(b), atol=1e-10)
        np.testing.assert_allclose(rep(G.identity), np.eye(rep.size), atol=1e-12)


@pytest.mark.parametrize("G", ALL, ids=ids(ALL))
def test_decomposition_reassembles(G):
    els = _els(G)
    for rep in builtin_reps(G):
        Q = rep.change_of_basis
        np.testing.assert_allclose(Q @ Q.T, np.eye(rep.size), atol=1e-9)
        assert sum(p.size for p in rep.irreps) == rep.size
        for g in els:
            D = np.zeros((rep.size, rep.size))
            o = 0
            for p in rep.irreps:
                D[o:o + p.size, o:o + p.size] = p(g)
                o += p.size
            np.testing.assert_allclose(Q @ D @ Q.T, rep(g), atol=1e-9)
        # the multiplicities from characters agree with the explicit decomposition
        counts = {}
        for p in rep.irreps:
            counts[p] = counts.get(p, 0) + 1
        assert counts == rep.multiplicities()


@pytest.mark.parametrize("G", FINITE, ids=ids(FINITE))
def test_regular_contains_each_irrep_dim_over_endomorphisms_times(G):
    mult = G.regular.multiplicities()
    for psi in G.irreps():
        # absolutely irreducible (real type): dim times; complex type (2-D irreps of C_N): dim/2 = once
        expected = psi.size if psi.type == "real" else psi.size // 2
        assert mult[psi] == expected
    assert sum(psi.size * m for psi, m in mult.items()) == G.order


def test_character_orthogonality():
    for G in [groups.cyclic(6), groups.dihedral(5), groups.dihedral(4)]:
        irr = G.irreps()
        for a in irr:
            for b in irr:
                ip = np.mean([a.character(g) * b.character(g) for g in G.elements()])
                if a == b:
                    assert np.isclose(ip, 1.0 if a.type == "real" else 2.0)
                else:
                    assert np.isclose(ip, 0.0, atol=1e-12)


def test_known_decompositions():
    C8, D8 = groups.cyclic(8), groups.dihedral(8)
    q = C8.quotient(groups.cyclic(2))
    assert q.size == 4
    assert {p.index: m for p, m in q.multiplicities().items()} == {(0,): 1, (2,): 1, (4,): 1}
    qf = D8.quotient(groups.flips())
    assert qf.size == 8
    assert {p.index: m for p, m in qf.multiplicities().items()} == {(0, 0): 1, (1, 1): 1, (1, 2): 1, (1, 3): 1,
                                                                      (0, 4): 1}
    sign = D8.quotient(groups.cyclic(8))
    assert {p.index for p in sign.multiplicities()} == {(0, 0), (1, 0)}
    s = C8.regular + C8.irrep(1) * 2
    assert s.multiplicities()[C8.irrep(1)] == 3
    assert s.size == 12


def test_change_basis_and_printing(rng):
    G = groups.dihedral(4)
    rep = G.regular
    Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    r2 = rep.change_basis(Q)
    for g in G.elements():
        np.testing.assert_allclose(r2(g), Q @ rep(g) @ Q.T, atol=1e-12)
    assert r2.multiplicities() == rep.multiplicities()
    assert "D4" in repr(rep) and "regular" in repr(rep)
    assert repr(G.irrep(1, 1)) == "D4|irrep(1,1)"


def test_user_defined_representation(rng):
    G = groups.cyclic(4)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    mats = [Q @ G.regular(g) @ Q.T for g in G.elements()]
    user = G.representation(mats, name="mine")
    assert user.multiplicities() == G.regular.multiplicities()
    for g in G.elements():
        np.testing.assert_allclose(user(g), Q @ G.regular(g) @ Q.T)


def test_bad_input():
    C4, D4 = groups.cyclic(4), groups.dihedral(4)
    with pytest.raises(ValueError, match="unknown irrep index"):
        C4.irrep(3)
    with pytest.raises(ValueError, match=r"irrep\(1, 1\)"):
        D4.irrep(0, 1)
    with pytest.raises(ValueError, match=r"irrep\(j, k\)"):
        D4.irrep(1)
    with pytest.raises(ValueError, match="max_frequency"):
        groups.so2(2).irrep(3)
    with pytest.raises(ValueError, match="different groups"):
        groups.direct_sum(C4.regular, D4.regular)
    with pytest.raises(ValueError, match="is of D4"):
        C4.regular(D4.identity)
    with pytest.raises(ValueError, match="not orthogonal"):
        C4.representation([np.eye(1) * 2.0 ** k for k in range(4)])
    with pytest.raises(ValueError, match="not a homomorphism"):
        C4.representation([np.eye(1), -np.eye(1), np.eye(1), np.eye(1)])
    with pytest.raises(ValueError, match="has 4 elements"):
        C4.representation([np.eye(2)] * 3)
    with pytest.raises(ValueError, match="not a subgroup"):
        groups.cyclic(8).quotient(groups.cyclic(3))
    with pytest.raises(ValueError, match="no finite regular"):
        groups.so2(3).regular
