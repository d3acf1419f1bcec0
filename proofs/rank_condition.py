"""Claim 8 (EI paper 002, Theorem 1 and Corollary 1; imaging paper 001, eq. 16-18): learning from measurements y = Ax
of a G-invariant signal set needs M = [A T_1; …; A T_|G|] to have rank n, hence m|G| ≥ n; and if A is itself
equivariant (A T_g = T'_g A, its range is invariant), rank M = rank A < n whatever the group: shifts cannot help CT,
MRI or blur; shifts suffice for inpainting; rotations help CT and MRI.

Measured with ``equinet.diagnostics.rank_condition`` (exact float64 singular values, rank at 1e-5·σ_max) on small
images (default 12x12, ``--size``), cyclic shifts = 8 random torch.roll offsets (including 0):
* Corollary 1 cases, |rank M − rank A| (must be 0): MRI + shifts, circular blur (binomial kernel, whose transfer
  function vanishes on the Nyquist lines) + shifts, two-view CT (0°, 90°; projections are row/column sums, exactly
  shift-equivariant) + shifts, and 8-view CT + C4 (the 8 angles are closed under 90° turns: A is C4-equivariant);
* controls, the same check where A is not equivariant to the group: MRI + C4, 5-view CT + C4, inpainting + shifts;
* Theorem 1: inpainting + shifts reaches rank n; with 90 % of the pixels dropped and 4 shifts, rank A·|G| < n and
  rank M < n; a vector v of N(M) gives two signals x and x + v with identical measurements under every virtual
  operator (‖Mv‖/‖v‖ = 0) — control: for the full-rank M, min ‖Mv‖/‖v‖ = σ_min(M) > 0.

    python proofs/rank_condition.py [--size 16] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
import torch
from _common import Claim

from equinet import diagnostics, groups, physics

BINOMIAL = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16


def shifts(count, size, seed):
    g = torch.Generator().manual_seed(seed)
    offs = [(0, 0)] + [tuple(int(v) for v in torch.randint(0, size, (2,), generator=g)) for _ in range(count - 1)]
    return [lambda x, s=s: torch.roll(x, s, dims=(-2, -1)) for s in offs]


def dense_M(A, actions, n_side):
    E = torch.eye(n_side * n_side, dtype=torch.float64).reshape(-1, 1, n_side, n_side)
    return torch.cat([A(t(E)).reshape(E.shape[0], -1).T for t in actions])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(8, "Theorem 1: rank M = n is necessary (m|G| ≥ n); Corollary 1: an equivariant A gives rank M = rank A",
              "002_8bd7f64e97414dac.txt, Theorem 1 (eq. 11), Corollary 1 (eq. 12); 001_85888c81389e56ff.txt eq. 16-18")
    N = a.size
    S = shifts(8, N, a.seed)
    C4 = groups.cyclic(4)
    same = [("MRI (4x, Cartesian lines) + shifts", physics.MRI(N, acceleration=4, seed=a.seed), S),
            ("circular blur (binomial 3x3) + shifts", physics.Blur(BINOMIAL, image_size=N), S),
            ("two-view CT (0°, 90°) + shifts", physics.Radon(N, angles=[0.0, 90.0], circle=True), S),
            ("8-view CT (closed under 90° turns) + C4", physics.Radon(N, angles=8, circle=False), C4)]
    differ = [("MRI + C4 (rotations help MRI)", physics.MRI(N, acceleration=4, seed=a.seed), C4),
              ("5-view CT + C4 (rotations help CT)", physics.Radon(N, angles=5, circle=False), C4),
              ("inpainting (30 % dropped) + shifts", physics.Inpainting(N, drop=0.3, seed=a.seed), S)]
    for label, A, T in same:
        r = diagnostics.rank_condition(A, T, method="exact")
        c.check(f"{label}: |rank M − rank A| (rank A = {r.rank_A:.0f} < n = {r.n})", abs(r.gain), 0.5)
    for label, A, T in differ:
        r = diagnostics.rank_condition(A, T, method="exact")
        c.control(f"{label}: |rank M − rank A| (rank A = {r.rank_A:.0f}, rank M = {r.rank_M:.0f}, n = {r.n})",
                  abs(r.gain), 0.5)
    inp = physics.Inpainting(N, drop=0.3, seed=a.seed)
    r = diagnostics.rank_condition(inp, S, method="exact")
    c.check(f"inpainting + shifts: n − rank M (rank A·|G| = {r.rank_A * r.n_transforms:.0f} ≥ n = {r.n})",
            r.nullity_M, 0.5)
    sparse = physics.Inpainting(N, drop=0.9, seed=a.seed)
    r4 = diagnostics.rank_condition(sparse, S[:4], method="exact")
    c.check(f"90 % dropped, 4 shifts: rank A·|G| = {r4.rank_A * 4:.0f} < n = {r4.n} forces rank M = "
            f"{r4.rank_M:.0f} < n (measured: rank M − rank A·|G|)", r4.rank_M - r4.rank_A * 4, 0.5)
    M = dense_M(sparse, S[:4], N)
    _, sv, Vh = torch.linalg.svd(M, full_matrices=True)
    v = Vh[-1]  # a direction of N(M)
    c.check("rank-deficient M: ‖Mv‖/‖v‖ for v in N(M) (x and x + v are indistinguishable)",
            float((M @ v).norm() / v.norm()), 1e-12)
    Mf = dense_M(inp, S, N)
    smin = float(torch.linalg.svdvals(Mf)[-1] / torch.linalg.svdvals(Mf)[0])
    c.control("full-rank M (inpainting + 8 shifts): min ‖Mv‖/‖v‖ relative to σ_max", smin, 1e-12)
    ct = diagnostics.rank_condition(physics.Radon(N, angles=5, circle=False), S, method="exact")
    c.note(f"5-view CT + cyclic shifts: rank A = {ct.rank_A:.0f}, rank M = {ct.rank_M:.0f} of {ct.n}: the discrete, "
           "periodically wrapped shift does not commute with a bilinear-sampled Radon transform at oblique angles, so "
           "Corollary 1 applies to discrete CT only where A is exactly shift-equivariant (the two-view case above)")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
