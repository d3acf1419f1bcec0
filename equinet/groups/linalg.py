"""Small dense linear algebra shared by the representation and kernel code."""
from __future__ import annotations

import numpy as np

RTOL = 1e-9


def nullspace(M: np.ndarray, rtol: float = RTOL) -> np.ndarray:
    """Orthonormal basis (as rows) of the nullspace of ``M`` (singular values below ``rtol`` · max(1, σ_max))."""
    n = M.shape[1]
    if M.shape[0] == 0:
        return np.eye(n)
    _, s, vt = np.linalg.svd(M, full_matrices=True)
    scale = max(1.0, s[0] if s.size else 0.0)
    rank = int(np.sum(s > rtol * scale))
    return vt[rank:]


def row_space(M: np.ndarray, rtol: float = 1e-7) -> np.ndarray:
    """Orthonormal basis (rows) of the row space of ``M``, dropping directions whose singular value is below
    ``rtol`` times the largest. Wide matrices go through the small Gram matrix (much faster than an SVD)."""
    if M.shape[0] == 0:
        return M
    if M.shape[1] > 4 * M.shape[0] and rtol >= 1e-7:
        gram = M @ M.T
        lam, V = np.linalg.eigh(gram)
        lam, V = lam[::-1], V[:, ::-1]
        if lam[0] <= 0:
            return M[:0]
        keep = lam > (rtol ** 2) * lam[0]
        C = V[:, keep].T / np.sqrt(lam[keep])[:, None]  # rows of C @ M are orthonormal up to rounding
        # a second, symmetric orthonormalisation removes the rounding that forming M Mᵀ squared; it only needs
        # the small Gram matrix of the rows, C (M Mᵀ) Cᵀ
        mu, W = np.linalg.eigh(C @ gram @ C.T)
        C = (W / np.sqrt(mu)) @ W.T @ C
        return C @ M
    _, s, vt = np.linalg.svd(M, full_matrices=False)
    if not s.size or s[0] == 0:
        return vt[:0]
    rank = int(np.sum(s > rtol * s[0]))
    return vt[:rank]


def intertwiner_equations(rho_in: list[np.ndarray], rho_out: list[np.ndarray]) -> np.ndarray:
    """Matrix of the linear map X -> [X ρ_in(g) - ρ_out(g) X]_g on row-major vec(X), X of shape (d_out, d_in)."""
    blocks = []
    for a, b in zip(rho_in, rho_out):
        d_in, d_out = a.shape[0], b.shape[0]
        blocks.append(np.kron(np.eye(d_out), a.T) - np.kron(b, np.eye(d_in)))
    return np.concatenate(blocks, axis=0) if blocks else np.zeros((0, 0))


def same_span(A: np.ndarray, B: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether the rows of A and B span the same subspace (A, B: (n, D) and (m, D))."""
    qa, qb = row_space(A), row_space(B)
    if qa.shape[0] != qb.shape[0]:
        return False
    if qa.shape[0] == 0:
        return True
    # principal angles: all singular values of qa qb^T equal to 1
    s = np.linalg.svd(qa @ qb.T, compute_uv=False)
    return bool(np.all(s > 1 - tol))
