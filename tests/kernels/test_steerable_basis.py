"""The kernel solver: exact constraint on grid-preserving elements, independence, agreement of the two routes,
continuous-constraint exactness of the angular solutions, kernel sizes, caching and bad input."""
import math

import numpy as np
import pytest
import torch

from equinet import groups, kernels
from equinet.groups.linalg import same_span
from equinet.kernels import basis as basis_mod


def reps_of(G):
    reps = list(G.irreps())
    if G.N is not None:
        reps.append(G.regular)
        if G.reflections:
            reps.append(G.quotient(groups.flips()))
    return reps


GROUPS = [groups.cyclic(4), groups.cyclic(8), groups.dihedral(4), groups.dihedral(6), groups.so2(3),
          groups.o2(3)]


def constraint_error(B, ri, ro, g):
    """max over basis elements of |k(Hx) π_in - π_out k(x)| / |k|, on the grid, for a grid-preserving g."""
    n, do, di, k, _ = B.shape
    if n == 0:
        return 0.0
    kb = torch.as_tensor(B).reshape(n, do * di, k, k)
    rotated = groups.act(g.inverse, kb, method="exact").reshape(B.shape).numpy()  # k(H_g x)
    lhs = np.einsum("noihw,ij->nojhw", rotated, ri(g))
    rhs = np.einsum("po,noihw->npihw", ro(g), B)
    return float(np.max(np.abs(lhs - rhs)) / max(np.max(np.abs(B)), 1e-300))


@pytest.mark.parametrize("G", GROUPS, ids=[repr(g) for g in GROUPS])
@pytest.mark.parametrize("k", [3, 4, 5])
def test_every_pair_exact_on_grid_independent_and_routes_agree(G, k):
    reps = reps_of(G)
    grid_els = [g for g in G.testing_elements(8) if g.preserves_grid]
    for ri in reps:
        for ro in reps:
            Ba = kernels.steerable_basis_numpy(ri, ro, k, method="analytic")
            Bn = kernels.steerable_basis_numpy(ri, ro, k, method="numerical")
            assert Ba.shape[1:] == (ro.size, ri.size, k, k)
            if ri == ro:  # the identity intertwiner (f = 0) is always there
                assert Ba.shape[0] > 0
            assert Ba.shape[0] == Bn.shape[0]
            assert same_span(Ba.reshape(len(Ba), -1 if len(Ba) else 0), Bn.reshape(len(Bn), -1 if len(Bn) else 0), tol=1e-6)
            # linearly independent (orthonormal, in fact)
            flat = Ba.reshape(len(Ba), -1 if len(Ba) else 0)
            np.testing.assert_allclose(flat @ flat.T, np.eye(len(Ba)), atol=1e-8)
            for g in grid_els:
                assert constraint_error(Ba, ri, ro, g) <= 1e-6


def _eval_angular(ang, f, x):
    phi = math.atan2(x[1], x[0])
    return ang.A[f] * math.cos(f * phi) + ang.B[f] * math.sin(f * phi)


@pytest.mark.parametrize("G", GROUPS + [groups.dihedral(5), groups.cyclic(3)],
                         ids=[repr(g) for g in GROUPS + [groups.dihedral(5), groups.cyclic(3)]])
def test_angular_solutions_satisfy_the_continuous_constraint(G, rng):
    """Before sampling, every solution satisfies k(Hx) π_in(g) = π_out(g) k(x) exactly for every element."""
    reps = reps_of(G)
    els = G.testing_elements(5, seed=4)
    for ri in reps:
        for ro in reps:
            for method in ("analytic", "numerical"):
                ang = kernels.angular_basis(ri, ro, 4, method)
                for f in ang.frequencies:
                    for g in els:
                        x = rng.standard_normal(2)
                        lhs = np.einsum("noi,ij->noj", _eval_angular(ang, f, g.matrix @ x), ri(g))
                        rhs = np.einsum("po,noi->npi", ro(g), _eval_angular(ang, f, x))
                        np.testing.assert_allclose(lhs, rhs, atol=1e-9)


def test_angular_solution_space_is_complete():
    """The analytic route finds the full solution space: same dimension as the generic nullspace, per frequency."""
    for G in GROUPS:
        for ri in reps_of(G):
            for ro in reps_of(G):
                a = kernels.angular_basis(ri, ro, 5, "analytic")
                n = kernels.angular_basis(ri, ro, 5, "numerical")
                for f in range(6):
                    assert a.count(f) == n.count(f), (G, ri, ro, f)
                    if a.count(f):
                        assert same_span(a.vectors(f), n.vectors(f))


def test_known_counts():
    """Closed-form counts: SO(2) irrep(1) -> irrep(1) has 2 solutions at f = 0 and 2 at f = 2; C_N aliases."""
    S = groups.so2(4)
    a = kernels.angular_basis(S.irrep(1), S.irrep(1), 4)
    assert [a.count(f) for f in range(5)] == [2, 0, 2, 0, 0]
    O = groups.o2(4)
    a = kernels.angular_basis(O.irrep(1, 1), O.irrep(1, 1), 4)
    assert [a.count(f) for f in range(5)] == [1, 0, 1, 0, 0]
    C4 = groups.cyclic(4)
    a = kernels.angular_basis(C4.trivial, C4.trivial, 4)
    assert [a.count(f) for f in range(5)] == [1, 0, 0, 0, 2]  # frequencies ≡ 0 (mod 4)


def test_user_defined_representation_both_routes(rng):
    G = groups.dihedral(4)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    user = G.representation(lambda g: Q @ G.regular(g) @ Q.T)
    for other in (G.trivial, G.irrep(1, 1), user):
        Ba = kernels.steerable_basis_numpy(user, other, 5, method="analytic")
        Bn = kernels.steerable_basis_numpy(user, other, 5, method="numerical")
        assert same_span(Ba.reshape(len(Ba), -1 if len(Ba) else 0), Bn.reshape(len(Bn), -1 if len(Bn) else 0))
        for g in G.elements():
            assert constraint_error(Ba, user, other, g) <= 1e-6


def test_kernel_size_one_and_two():
    G = groups.cyclic(4)
    B1 = kernels.steerable_basis(G.regular, G.regular, 1)
    assert B1.shape == (4, 4, 4, 1, 1)  # the 1x1 kernels are exactly the intertwiners (dim End = 4)
    for g in G.elements():
        M = B1[..., 0, 0].double().numpy()
        np.testing.assert_allclose(np.einsum("noi,ij->noj", M, G.regular(g)),
                                   np.einsum("po,noi->npi", G.regular(g), M), atol=1e-10)
    B2 = kernels.steerable_basis(G.trivial, G.trivial, 2)  # even size: a correct, non-empty basis
    assert B2.shape[0] == 1
    np.testing.assert_allclose(B2[0, 0, 0], torch.full((2, 2), 0.5), atol=1e-6)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        kernels.steerable_basis(G.trivial, G.trivial, 0)
    with pytest.raises(TypeError, match="kernel_size must be an integer"):
        kernels.steerable_basis(G.trivial, G.trivial, 2.5)


def test_bad_pairs():
    with pytest.raises(ValueError, match="same group"):
        kernels.steerable_basis(groups.cyclic(4).trivial, groups.cyclic(8).regular, 3)
    with pytest.raises(TypeError, match="Representation"):
        kernels.steerable_basis(np.eye(2), groups.cyclic(8).regular, 3)
    with pytest.raises(ValueError, match="unknown method"):
        kernels.steerable_basis(groups.cyclic(4).trivial, groups.cyclic(4).trivial, 3, method="magic")


def test_cache_serves_identical_requests(monkeypatch):
    G = groups.cyclic(8)
    kernels.clear_cache()
    calls = []
    real = basis_mod.sample_factors
    monkeypatch.setattr(basis_mod, "sample_factors", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    b1 = kernels.steerable_basis(G.regular, G.regular, 5)
    b2 = kernels.steerable_basis(G.regular, G.regular, 5)
    assert len(calls) == 1 and torch.equal(b1, b2)
    b1.zero_()  # the caller owns its copy
    assert not torch.equal(b1, kernels.steerable_basis(G.regular, G.regular, 5))
    assert kernels.cache_info()["entries"] == 1
    kernels.steerable_basis(G.regular, G.regular, 3)
    assert len(calls) == 2
    shared = kernels.steerable_basis_numpy(G.regular, G.regular, 3, copy=False)  # the cached array, read-only
    assert len(calls) == 2 and not shared.flags.writeable
    with pytest.raises(ValueError):
        shared[0] = 0.0


def test_offgrid_error_of_default_rule_is_small():
    """Measured protocol of docs/kernels.md: C8 regular fields at 45° on smooth analytic inputs."""
    from equinet.kernels.diagnostics import basis_equivariance_error
    G = groups.cyclic(8)
    B = kernels.steerable_basis_numpy(G.regular, G.regular, 5)
    err = basis_equivariance_error(B, G.regular, G.regular, G.element(steps=1), "smooth", n_trials=3)
    assert err < 5e-3  # escnn's basis measures ~7e-3 on the same protocol (bench_kernel_basis.py)
