"""Claim 9 (talk 003, "Geometric intuition", toy example n = 3, m = 2): the signal set X = span{[1, 1, 1]} observed
through A = keep the first two coordinates cannot be identified from Y = A X alone (every x with x1 = x2 fits), but
with the permutation symmetry of X it can: X = ∩_g A_g⁻¹ Y with A_g = A T_g.

Measured (float64, exact linear algebra):
* the consistent set {x : A T_g x ∈ Y for all g} is a subspace (the nullspace of the stacked (I − P_Y) A T_g);
  without symmetry (G = {e}) its dimension is 2 (ambiguous); with the cyclic permutations C3 (and with all of S3)
  it is 1, and its principal angle to X is 0; M = [A T_g]_g has rank 3 = n;
* control: the group {e, swap(1, 2)}, under which A is equivariant (it only permutes the observed coordinates): the
  consistent set stays 2-dimensional and rank M = rank A = 2 (Corollary 1).

    python proofs/permutation_toy.py
"""
from __future__ import annotations

import argparse
import itertools
import sys

import _common  # noqa: F401
import torch
from _common import Claim

TOL = 1e-12


def perm_matrix(p):
    P = torch.zeros(3, 3, dtype=torch.float64)
    for i, j in enumerate(p):
        P[j, i] = 1.0  # T e_i = e_{p(i)}
    return P


def consistent_set(A, Ts, Y):
    """Orthonormal basis of {x : A T x ∈ range(Y) for every T} (a subspace: the signal set is linear)."""
    PY = Y @ torch.linalg.pinv(Y)
    K = torch.cat([(torch.eye(A.shape[0], dtype=torch.float64) - PY) @ A @ T for T in Ts])
    _, s, Vh = torch.linalg.svd(K, full_matrices=True)
    r = int((s > 1e-12 * max(1.0, float(s.max()) if s.numel() else 1.0)).sum())
    return Vh[r:].T


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.parse_args(argv)
    c = Claim(9, "the n = 3, m = 2 permutation toy: X = span{[1,1,1]} is identified from A = first two coordinates "
                 "only with the permutation symmetry", "003_28efc0a7a14fab64.txt, 'Geometric intuition', toy example")
    x = torch.ones(3, 1, dtype=torch.float64) / 3 ** 0.5
    A = torch.eye(3, dtype=torch.float64)[:2]
    Y = A @ x  # the observed measurement set A X (a line in R^2)
    groups_ = {"no symmetry {e}": [(0, 1, 2)],
               "cyclic permutations C3": [(0, 1, 2), (1, 2, 0), (2, 0, 1)],
               "all permutations S3": list(itertools.permutations(range(3)))}
    for label, perms in groups_.items():
        Ts = [perm_matrix(p) for p in perms]
        B = consistent_set(A, Ts, Y)
        rankM = int(torch.linalg.matrix_rank(torch.cat([A @ T for T in Ts])))
        if len(perms) == 1:
            c.check(f"{label}: dim of the consistent set − 2 (ambiguous: contains e3 = nullspace of A)",
                    abs(B.shape[1] - 2), 0.5)
        else:
            c.check(f"{label}: dim of the consistent set − 1", abs(B.shape[1] - 1), 0.5)
            angle = float(torch.linalg.norm(x - B @ (B.T @ x)))  # sine of the principal angle to X
            c.check(f"{label}: sine of the principal angle between the consistent set and X", angle, TOL)
            c.check(f"{label}: n − rank M (rank M = {rankM})", 3 - rankM, 0.5)
    Ts = [perm_matrix((0, 1, 2)), perm_matrix((1, 0, 2))]
    B = consistent_set(A, Ts, Y)
    rankM = int(torch.linalg.matrix_rank(torch.cat([A @ T for T in Ts])))
    c.control("{e, swap(1,2)} (A is equivariant to it): dim of the consistent set − 1", abs(B.shape[1] - 1), 0.5)
    c.control(f"{{e, swap(1,2)}}: n − rank M (rank M = {rankM} = rank A)", 3 - rankM, 0.5)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
