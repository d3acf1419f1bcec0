"""Angular solutions of the steerable kernel constraint k(Hx) π_in(H) = π_out(H) k(x).

A kernel on a ring is expanded in angular Fourier modes, ``k(φ) = Σ_f A_f cos(fφ) + B_f sin(fφ)``. The constraint
decouples by frequency f (it is the same on every ring), so its solution space is described by an
`AngularBasis`: for each f >= 0 a stack of pairs (A, B), each of shape (d_out, d_in).

Two independent routes compute it:

* `angular_basis_analytic` -- closed-form circular harmonics for every pair of irreducible components of
  π_in and π_out (rotation and reflection blocks, with the aliasing f ≡ n ± m (mod N) of C_N and D_N),
  assembled through the representations' changes of basis;
* `angular_basis_numerical` -- the constraint written as a linear system over the group's generators and
  solved by SVD; it needs nothing but the representations' matrices.

Both return, per frequency, the *canonical* orthonormal basis of the solution space
(`equinet.kernels.canonical.canonical_rows`): it depends on the space only, so the two routes, and every
machine, give the same elements.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..groups.linalg import nullspace, row_space
from ..groups.representation import Irrep, Representation
from .canonical import canonical_rows

_I2 = np.eye(2)
_J = np.array([[0.0, -1.0], [1.0, 0.0]])
_P = np.diag([1.0, -1.0])


@dataclass
class AngularBasis:
    """Per frequency f: arrays A[f], B[f] of shape (n_f, d_out, d_in) spanning the angular solutions."""

    d_out: int
    d_in: int
    A: dict[int, np.ndarray]
    B: dict[int, np.ndarray]

    def count(self, f: int) -> int:
        return 0 if f not in self.A else self.A[f].shape[0]

    @property
    def frequencies(self) -> list[int]:
        return sorted(f for f in self.A if self.A[f].shape[0])

    def vectors(self, f: int) -> np.ndarray:
        """Solutions at frequency f as flat rows [vec A, vec B]."""
        if f not in self.A:
            return np.zeros((0, 2 * self.d_out * self.d_in))
        n = self.A[f].shape[0]
        return np.concatenate([self.A[f].reshape(n, -1), self.B[f].reshape(n, -1)], axis=1)


def _congruent(t: int, target: int, N: int | None) -> bool:
    return t == target if N is None else (t - target) % N == 0


def _pair_solutions(psi_in: Irrep, psi_out: Irrep, F: int) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Closed-form solutions (f, A, B) for one pair of irreps, frequencies |f| <= F."""
    G = psi_in.group
    N, refl = G.N, G.reflections
    m, n = psi_in.frequency, psi_out.frequency
    s_in = -1.0 if psi_in.j == 1 else 1.0
    s_out = -1.0 if psi_out.j == 1 else 1.0
    out = []
    d_i, d_o = psi_in.size, psi_out.size

    def harmonic(t, A, JA):
        # cos(tφ) A + sin(tφ) JA for signed t
        if t == 0:
            return (0, A, np.zeros_like(A))
        return (abs(t), A, JA if t > 0 else -JA)

    if d_i == 1 and d_o == 1:
        for t in range(0, F + 1):
            if not _congruent(t, n - m, N):
                continue
            if not refl or s_in == s_out:
                out.append((t, np.ones((1, 1)), np.zeros((1, 1))))
            if t > 0 and (not refl or s_in == -s_out):
                out.append((t, np.zeros((1, 1)), np.ones((1, 1))))
        return out
    for t in range(-F, F + 1):
        if d_i == 2 and d_o == 2:
            if _congruent(t, n - m, N):
                for X in ([_I2] if refl else [_I2, _J]):
                    out.append(harmonic(t, X, _J @ X))
            if _congruent(t, n + m, N):
                for X in ([_P] if refl else [_P, _P @ _J]):
                    out.append(harmonic(t, X, _J @ X))
        elif d_i == 1 and d_o == 2:
            if _congruent(t, n - m, N):
                vs = [np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])]
                if refl:
                    vs = [vs[0]] if s_in > 0 else [vs[1]]
                for v in vs:
                    out.append(harmonic(t, v, _J @ v))
        else:  # 2 -> 1
            if _congruent(t, n - m, N):
                vs = [np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])]
                if refl:
                    vs = [vs[0]] if s_out > 0 else [vs[1]]
                for v in vs:
                    out.append(harmonic(t, v, v @ _J))
    return out


def _pair_rows(pi: Irrep, po: Irrep, F: int) -> dict[int, np.ndarray]:
    """Orthonormal coefficient rows [vec a, vec b] per frequency of one irreducible pair (duplicates ±t removed)."""
    per_f: dict[int, list[np.ndarray]] = {}
    for f, a, b in _pair_solutions(pi, po, F):
        per_f.setdefault(f, []).append(np.concatenate([a.ravel(), b.ravel()]))
    return {f: row_space(np.stack(rows), rtol=1e-9) for f, rows in per_f.items()}


def _nullspace(M: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Orthonormal rows spanning the nullspace of M (singular values below rtol · max(1, σ_max)); for a tall M only
    the small factor of its SVD is formed."""
    if M.shape[0] < M.shape[1]:
        return nullspace(M, rtol=rtol)
    _, s, vt = np.linalg.svd(M, full_matrices=False)
    rank = int(np.sum(s > rtol * max(1.0, s[0] if s.size else 0.0)))
    return vt[rank:]


def check_pair(in_rep: Representation, out_rep: Representation) -> None:
    """Both are equinet representations of one group (else a TypeError / ValueError naming them)."""
    for r, what in ((in_rep, "in_rep"), (out_rep, "out_rep")):
        if not isinstance(r, Representation):
            raise TypeError(f"{what} must be an equinet Representation, got {type(r).__name__}")
    if in_rep.group != out_rep.group:
        raise ValueError(f"in_rep and out_rep must be representations of the same group, got {in_rep!r} and "
                         f"{out_rep!r}")


def angular_basis_analytic(in_rep: Representation, out_rep: Representation, max_frequency: int) -> AngularBasis:
    """Solutions from closed-form harmonics of every irreducible pair, through the changes of basis."""
    check_pair(in_rep, out_rep)
    Qi, Qo = in_rep.change_of_basis, out_rep.change_of_basis
    d_o, d_i = out_rep.size, in_rep.size
    D = d_o * d_i
    per_f: dict[int, list[np.ndarray]] = {}
    pair_cache: dict = {}
    oo = 0
    for po in out_rep.irreps:
        oi = 0
        for pi in in_rep.irreps:
            key = (pi.index, po.index)
            if key not in pair_cache:
                pair_cache[key] = _pair_rows(pi, po, max_frequency)
            rows = pair_cache[key]
            if rows:
                # a -> Q_out,b a Q_in,bᵀ maps the pair's coefficients isometrically into its own block, and blocks of
                # different pairs are orthogonal, so the mapped rows of all pairs are orthonormal together
                E = np.einsum("xu,yv->uvxy", Qo[:, oo:oo + po.size], Qi[:, oi:oi + pi.size]).reshape(-1, D)
                n_ab = po.size * pi.size
                for f, R in rows.items():
                    per_f.setdefault(f, []).append(np.concatenate([R[:, :n_ab] @ E, R[:, n_ab:] @ E], axis=1))
            oi += pi.size
        oo += po.size
    A, B = {}, {}
    for f in range(max_frequency + 1):
        M = canonical_rows(np.concatenate(per_f[f])) if f in per_f else np.zeros((0, 2 * D))
        A[f] = M[:, :D].reshape(-1, d_o, d_i)
        B[f] = M[:, D:].reshape(-1, d_o, d_i)
    return AngularBasis(d_o, d_i, A, B)


def angular_basis_numerical(in_rep: Representation, out_rep: Representation, max_frequency: int) -> AngularBasis:
    """Solutions of the constraint as a linear system over the generators (SVD nullspace)."""
    check_pair(in_rep, out_rep)
    G = in_rep.group
    gens = G.generators()
    d_i, d_o = in_rep.size, out_rep.size
    D = d_i * d_o
    Kin = [np.kron(np.eye(d_o), in_rep(g).T) for g in gens]  # vec(X π_in)
    Kout = [np.kron(out_rep(g), np.eye(d_i)) for g in gens]  # vec(π_out X)
    A, B = {}, {}
    for f in range(max_frequency + 1):
        rows = []
        for g, ki, ko in zip(gens, Kin, Kout):
            c, s = np.cos(f * g.angle), np.sin(f * g.angle)
            if f == 0:
                rows.append(ki - ko)
                continue
            if not g.reflection:  # A' = cA + sB, B' = -sA + cB
                rows.append(np.concatenate([c * ki - ko, s * ki], axis=1))
                rows.append(np.concatenate([-s * ki, c * ki - ko], axis=1))
            else:  # A' = cA + sB, B' = sA - cB
                rows.append(np.concatenate([c * ki - ko, s * ki], axis=1))
                rows.append(np.concatenate([s * ki, -c * ki - ko], axis=1))
        if f == 0:
            M = np.concatenate(rows, axis=0) if rows else np.zeros((0, D))
            ns = _nullspace(M)
            ns = np.concatenate([ns, np.zeros_like(ns)], axis=1)  # (A, B = 0), as the analytic route
        else:
            M = np.concatenate(rows, axis=0) if rows else np.zeros((0, 2 * D))
            ns = _nullspace(M)
        ns = canonical_rows(ns)
        A[f] = ns[:, :D].reshape(-1, d_o, d_i)
        B[f] = ns[:, D:].reshape(-1, d_o, d_i)
    return AngularBasis(d_o, d_i, A, B)
