"""Decomposition of a representation into irreducibles with an orthogonal change of basis.

A direct sum is assembled from its summands' decompositions (block diagonal); any other representation is split
numerically, by solving the intertwiner equations ρ(g) X = X ψ(g) on the group's generators for every irrep ψ
whose multiplicity (from characters) is positive.
"""
from __future__ import annotations

import numpy as np

from .linalg import intertwiner_equations, nullspace

__all__ = ["decompose"]


def _assemble(summands: list) -> tuple[list, np.ndarray]:
    """Irreps and change of basis of a direct sum, from its summands' (block diagonal)."""
    irr, blocks = [], []
    for r in summands:
        irr += r.irreps
        blocks.append(r.change_of_basis)
    total = sum(b.shape[0] for b in blocks)
    Q = np.zeros((total, total))
    o = 0
    for b in blocks:
        Q[o:o + b.shape[0], o:o + b.shape[1]] = b
        o += b.shape[0]
    return irr, Q


def decompose(rep) -> tuple[list, np.ndarray]:
    """Irreps and orthogonal change of basis of ``rep``: numerically, by solving ρ(g) Q = Q ψ(g) on generators."""
    if len(rep.summands) > 1 or rep.summands[0] is not rep:
        return _assemble(rep.summands)
    G = rep.group
    gens = G.generators() or [G.identity]
    rho = [rep(g) for g in gens]
    mult = rep.multiplicities()
    irreps: list = []
    cols: list[np.ndarray] = []
    basis = np.zeros((rep.size, 0))
    for psi, m in mult.items():
        d = psi.size
        # intertwiners X (n x d) with X ψ(g) = ρ(g) X
        ns = nullspace(intertwiner_equations([psi(g) for g in gens], rho), rtol=1e-9)
        found = 0
        for v in ns:
            X = v.reshape(rep.size, d)
            X = X - basis @ (basis.T @ X)  # the complement of an invariant subspace is invariant
            nrm = np.linalg.norm(X[:, 0])
            if nrm < 1e-6:
                continue
            X = X / nrm  # XᵀX = c·I for an intertwiner out of an irrep into an orthogonal rep
            if not np.allclose(X.T @ X, np.eye(d), atol=1e-6):
                continue
            irreps.append(psi)
            cols.append(X)
            basis = np.concatenate([basis, X], axis=1)
            found += 1
            if found == m:
                break
        if found != m:
            raise ArithmeticError(f"could not split {m} copies of {psi.name} out of {rep.name}")
    Q = np.concatenate(cols, axis=1)
    # one polish step: re-orthonormalise (exact up to rounding)
    u, _, vt = np.linalg.svd(Q)
    return irreps, u @ vt
