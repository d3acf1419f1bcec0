"""The canonical basis (issue 7): a function of the span only -- the same for both routes, for any valid change of
basis of the representations, for any orthonormal input -- with rank decisions far from the rounding level."""
import numpy as np
import pytest

from equinet import groups, kernels
from equinet.groups.representation import regular
from equinet.kernels import canonical
from equinet.nn import trivial_projector


def _ref_ordered_gs(S):
    """Gram-Schmidt in row order, written out (the definition the fast routine must meet)."""
    out = []
    for v in S:
        r = v.copy()
        for _ in range(2):
            for q in out:
                r = r - (q @ r) * q
        out.append(r / np.linalg.norm(r))
    return np.array(out)


def test_canonical_rows_depend_on_the_span_only(rng):
    M = np.linalg.qr(rng.standard_normal((12, 5)))[0].T  # orthonormal rows
    R = np.linalg.qr(rng.standard_normal((5, 5)))[0]  # another orthonormal basis of the same span
    A, B = canonical.canonical_rows(M), canonical.canonical_rows(R @ M)
    np.testing.assert_allclose(A, B, rtol=0, atol=1e-12)
    np.testing.assert_allclose(A @ A.T, np.eye(5), atol=1e-12)
    np.testing.assert_allclose(A.T @ A, M.T @ M, atol=1e-12)  # same span
    # element 1 is the normalised projection of the first coordinate vector
    P = M.T @ M
    np.testing.assert_allclose(A[0], P[:, 0] / np.linalg.norm(P[:, 0]), atol=1e-12)


def test_ordered_orthonormal_is_gram_schmidt_in_order(rng):
    S = rng.standard_normal((7, 30))
    keep, Q = canonical.ordered_orthonormal(S)
    assert keep.tolist() == list(range(7))
    np.testing.assert_allclose(Q, _ref_ordered_gs(S), rtol=0, atol=1e-12)
    # an exactly dependent row is dropped, the others keep their order
    S2 = np.concatenate([S[:3], S[:1] - 2 * S[2:3], S[3:]])
    keep, Q2 = canonical.ordered_orthonormal(S2)
    assert keep.tolist() == [0, 1, 2, 4, 5, 6, 7]
    np.testing.assert_allclose(Q2, Q, atol=1e-10)
    # a near-dependence at the rounding edge is refused rather than decided by rounding
    S3 = np.concatenate([S[:2], S[:1] + 1e-7 * S[2:3]])
    with pytest.raises(canonical.AmbiguousRankError, match="between"):
        canonical.ordered_orthonormal(S3)


def _mixed_change_of_basis(G, rng):
    """A regular representation of G whose change of basis is another valid one: copies of an irrep mixed by a
    random orthogonal matrix, 2-d blocks rotated (C_N only), signs flipped -- what another BLAS might return."""
    rep = regular(G)
    irreps, Q = list(rep.irreps), rep.change_of_basis.copy()
    offs = np.cumsum([0] + [p.size for p in irreps])
    for psi in set(irreps):
        idx = [i for i, p in enumerate(irreps) if p == psi]
        d = psi.size
        O = np.linalg.qr(rng.standard_normal((len(idx), len(idx))))[0]
        cols = np.stack([Q[:, offs[i]:offs[i] + d] for i in idx])  # (m, n, d)
        mixed = np.einsum("ab,bnd->and", O, cols)
        if d == 2 and not G.reflections:
            a = rng.uniform(0, 2 * np.pi)
            Rm = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
            mixed = mixed @ Rm
        for j, i in enumerate(idx):
            Q[:, offs[i]:offs[i] + d] = mixed[j]
    Q = -Q
    new = regular(G)
    new._irreps, new._Q = irreps, Q
    for g in G.elements():  # still a valid change of basis
        blocks = np.zeros((rep.size, rep.size))
        for i, p in enumerate(irreps):
            blocks[offs[i]:offs[i + 1], offs[i]:offs[i + 1]] = p(g)
        np.testing.assert_allclose(Q @ blocks @ Q.T, rep(g), atol=1e-12)
    return rep, new


@pytest.mark.parametrize("G", [groups.cyclic(8), groups.dihedral(4)], ids=["C8", "D4"])
def test_basis_does_not_depend_on_the_change_of_basis(G, rng):
    rep, new = _mixed_change_of_basis(G, rng)
    for pair in ((G.trivial, rep), (rep, rep), (rep, G.trivial)):
        kernels.clear_cache()
        a = kernels.steerable_basis_numpy(*pair, 5)
        kernels.clear_cache()
        b = kernels.steerable_basis_numpy(*[new if r is rep else r for r in pair], 5)
        assert a.shape == b.shape and a.shape[0] > 0
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    np.testing.assert_allclose(trivial_projector(rep), trivial_projector(new), atol=1e-13)
    np.testing.assert_allclose(trivial_projector(rep), np.full((G.order, 1), G.order ** -0.5), atol=1e-13)
    kernels.clear_cache()


@pytest.mark.parametrize("G", [groups.cyclic(16), groups.dihedral(6), groups.o2(3)], ids=repr)
def test_routes_give_the_same_elements_and_rank_decisions_have_a_margin(G, monkeypatch):
    seen = {True: [], False: []}
    decide = canonical._decide

    def spy(res, scale, what):
        out = decide(res, scale, what)
        seen[out].append(res / scale)
        return out

    monkeypatch.setattr(canonical, "_decide", spy)
    reps = list(G.irreps()) + ([G.regular] if G.N is not None else [])
    for ri in reps:
        for ro in reps:
            a = kernels.steerable_basis_numpy(ri, ro, 5, method="analytic")
            b = kernels.steerable_basis_numpy(ri, ro, 5, method="numerical")
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert min(seen[True]) > 1e-2 and max(seen[False], default=0.0) < 1e-12  # ~13 orders of magnitude apart


@pytest.mark.parametrize("G, k", [(groups.cyclic(8), 5), (groups.dihedral(4), 9), (groups.so2(3), 7)],
                         ids=["C8-k5", "D4-k9", "SO2-k7"])
def test_fast_build_equals_plain_gram_schmidt_of_the_sampled_elements(G, k):
    """The factored build (per group of coupled angular solutions; D4 at k = 9 has coupled pairs) is the ordered
    Gram-Schmidt of the dense sampled elements."""
    from equinet.kernels.basis import DEFAULT_RULE, angular_basis
    from equinet.kernels.sampling import sample_basis
    reps = [G.regular, G.trivial] if G.N is not None else list(G.irreps())[:3]
    for ri in reps:
        for ro in reps:
            F = max(f for _, f in DEFAULT_RULE.rings(k))
            S = sample_basis(angular_basis(ri, ro, F), k, DEFAULT_RULE)
            fast = kernels.steerable_basis_numpy(ri, ro, k)
            if not len(S):
                assert fast.shape[0] == 0
                continue
            ref = _ref_ordered_gs(S.reshape(len(S), -1))
            np.testing.assert_allclose(fast.reshape(len(fast), -1), ref, rtol=0, atol=1e-12)
