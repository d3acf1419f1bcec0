"""The canonical kernel basis: one orthonormal basis per span, the same on every machine.

An orthonormal basis of a subspace is not unique: an SVD or eigen-solver returns one that depends on the rounding
of the BLAS build, the CPU's instruction set and the thread count. A layer's weights are coefficients on its basis,
so the basis must be a function of the span alone. Two ordered procedures with unique results make it so:

* `canonical_rows` -- the angular solutions of one frequency. From *any* orthonormal basis M of the span
  (either route) it forms the projections P e_j of the coordinate vectors (P = MᵀM is unique) and Gram-Schmidts
  them in coordinate order, skipping the ones that depend on those before. The result depends on P only.
* `ordered_orthonormal` -- the sampled elements, in the fixed order ring, frequency, angular solution. It is
  Gram-Schmidt in that order (computed as a Cholesky factorisation of the Gram matrix, refined once), i.e. the
  unique Q with positive diagonal in R of the QR factorisation.

Rank decisions are made far from the rounding level: a candidate counts as dependent when its residual is below
``DEPENDENT`` and as independent when above ``INDEPENDENT``; a residual in between (possible only for an unusual
sampling rule) raises, instead of silently making a machine-dependent choice.
"""
from __future__ import annotations

import math

import numpy as np

#: residual norms (relative to the candidate's norm) that decide dependence; the gap between them is the margin
DEPENDENT = 1e-9
INDEPENDENT = 1e-5


class AmbiguousRankError(ArithmeticError):
    """A candidate's residual fell between ``DEPENDENT`` and ``INDEPENDENT``: its rank decision would be a
    matter of rounding."""


def _decide(res: float, scale: float, what: str) -> bool:
    rel = res / scale if scale > 0 else 0.0
    if rel <= DEPENDENT:
        return False
    if rel >= INDEPENDENT:
        return True
    raise AmbiguousRankError(f"{what}: relative residual {rel:.2e} lies between {DEPENDENT:g} (dependent) and "
                             f"{INDEPENDENT:g} (independent); the basis would depend on rounding. Change the "
                             "sampling rule (e.g. ring_spacing, width).")


def canonical_rows(M: np.ndarray, rank: int | None = None) -> np.ndarray:
    """The canonical orthonormal basis (rows) of the row span of ``M``, which must have orthonormal rows.

    Element i is the normalised part of P e_{j_i} orthogonal to the elements before it, where P = MᵀM and
    j_1 < j_2 < ... are the first coordinates whose projections are independent of the earlier ones. Any
    orthonormal basis of the same span gives the same result (to rounding).
    """
    M = np.asarray(M, dtype=np.float64)
    n = M.shape[0] if rank is None else int(rank)
    if n == 0:
        return M[:0]
    # coordinates of P e_j in the basis M are the columns of M; work in that n-dimensional space
    cols = np.nonzero(np.sum(M * M, axis=0) > DEPENDENT ** 2)[0]
    Q = np.zeros((n, n))
    found = 0
    for j in cols:
        v = M[:, j]
        scale = math.sqrt(v @ v)
        r = v - Q[:, :found] @ (Q[:, :found].T @ v)
        r = r - Q[:, :found] @ (Q[:, :found].T @ r)  # reorthogonalise
        nr = math.sqrt(r @ r)
        if not _decide(nr, scale, f"canonical_rows (coordinate {j})"):
            continue
        Q[:, found] = r / nr
        found += 1
        if found == n:
            break
    if found != n:
        raise ArithmeticError(f"canonical_rows: found {found} independent projections, expected {n}")
    return Q.T @ M


def ordered_orthonormal(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gram-Schmidt of the rows of ``S`` (n, D) in their order: returns (rows kept, orthonormal basis).

    Computed as T S with T from `ordered_coefficients` on the Gram matrix S Sᵀ: the unique orthonormal rows
    with S = R Q, R lower triangular with a positive diagonal. A row dependent on earlier ones is dropped (see the
    module docstring).
    """
    S = np.asarray(S, dtype=np.float64)
    if S.shape[0] == 0:
        return np.zeros(0, dtype=int), S
    T = ordered_coefficients(S @ S.T)
    if T is None:
        keep = _independent_rows(S)
        S = S[keep]
        T = ordered_coefficients(S @ S.T)
        return keep, T @ S
    return np.arange(S.shape[0]), T @ S


def ordered_coefficients(G: np.ndarray) -> np.ndarray | None:
    """Lower-triangular T with T G Tᵀ = I (Gram-Schmidt in order, for rows with Gram matrix ``G``), or None when
    some row is not clearly independent of the earlier ones (then drop rows with `_independent_rows`).

    T = L⁻¹ with L the Cholesky factor of G, refined once on the small matrix T G Tᵀ (itself lower triangular,
    so T stays the ordered Gram-Schmidt). ``G`` may be a stack (..., n, n); T is then a stack too.
    """
    d = np.sqrt(np.diagonal(G, axis1=-2, axis2=-1))
    if np.any(d == 0):
        return None
    dd = d[..., :, None] * d[..., None, :]
    try:
        L = np.linalg.cholesky(G / dd)
    except np.linalg.LinAlgError:
        return None
    if np.any(np.diagonal(L, axis1=-2, axis2=-1) < INDEPENDENT):  # too close to dependent: decide exactly
        return None
    T = np.linalg.solve(L, np.eye(G.shape[-1]) / d[..., None, :])
    L2 = np.linalg.cholesky(T @ G @ np.swapaxes(T, -1, -2))  # ≈ I
    return np.linalg.solve(L2, T)


def _independent_rows(S: np.ndarray) -> np.ndarray:
    """Rows independent of the earlier ones, by Gram-Schmidt with reorthogonalisation on the rows themselves
    (residuals accurate to rounding, unlike a Cholesky of the Gram matrix)."""
    Q: list = []
    keep = []
    for i, v in enumerate(S):
        scale = np.linalg.norm(v)
        r = v
        if Q:
            Qm = np.asarray(Q)
            r = r - Qm.T @ (Qm @ r)
            r = r - Qm.T @ (Qm @ r)
        nr = np.linalg.norm(r)
        if not _decide(float(nr), float(scale), f"ordered_orthonormal (element {i})"):
            continue
        Q.append(r / nr)
        keep.append(i)
    return np.asarray(keep, dtype=int)
