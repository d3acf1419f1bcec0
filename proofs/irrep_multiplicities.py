"""Claim 10 (talk 003, "Model identification" and "Sufficient conditions"): the action of a group on the pixel grid
decomposes into irreps ψ_j (dimension s_j) with multiplicities c_j; identifying a G-invariant model needs
m ≥ max_j c_j / s_j (≥ n/|G|), and a k-dimensional model is identifiable for almost every A when
m > 2k + max_j c_j + 1.

Measured (exact arithmetic on integers / float64 ranks):
* c_j from characters (``equinet.diagnostics.irrep_multiplicities``: χ(g) = number of pixels fixed by g) equal the
  multiplicities of the numerically decomposed permutation representation (``Representation.multiplicities`` of the
  explicit n x n matrices), and Σ_j c_j s_j = n, for C2, C4, D1, D2, D4 on 6x6 and 7x7 grids;
* the necessary count is tight for random operators: for Gaussian A (compressed sensing, seed fixed), the smallest
  m with rank [A T_g]_g = n equals max_j ⌈c_j/s_j⌉, which is ≥ n/|G|; control: m − 1 measurements leave M rank
  deficient (the rank check can tell);
* control of the character computation: the bilinear C8 "action" on the grid is not a representation, and the
  same character formula gives non-integer multiplicities;
* the sufficient bound m > 2k + max c_j + 1 is reported for k = 1..3 next to the necessary m.

    python proofs/irrep_multiplicities.py [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import sys

import _common  # noqa: F401
import torch
from _common import Claim

from equinet import diagnostics, groups, physics


def permutation_rep(G, N):
    n = N * N
    idx = torch.arange(n, dtype=torch.float64).reshape(1, 1, N, N)
    mats = {}
    for g in G.elements():
        p = groups.act(g, idx).flatten().long()
        P = torch.zeros(n, n, dtype=torch.float64)
        P[torch.arange(n), p] = 1.0
        mats[g] = P.numpy()
    return G.representation(lambda g: mats[g])


def min_measurements(G, N, seed, start):
    """Smallest m >= start - 1 with rank M = n for a Gaussian A with m rows (searched upward from start - 1)."""
    for m in range(max(1, start - 1), N * N + 1):
        r = diagnostics.rank_condition(physics.CompressedSensing(N, m=m, seed=seed), G, method="exact")
        if r.full_rank:
            return m
    return N * N


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(10, "irrep multiplicities c_j of the grid action; m ≥ max c_j/s_j ≥ n/|G| is necessary (tight for "
                  "random A); m > 2k + max c_j + 1 suffices", "003_28efc0a7a14fab64.txt, 'Necessary conditions' and "
                                                              "'Sufficient conditions' (equivariant imaging theorem)")
    for G in (groups.cyclic(2), groups.cyclic(4), groups.dihedral(1), groups.dihedral(2), groups.dihedral(4)):
        for N in (6, 7):
            mu = diagnostics.irrep_multiplicities(G, N)
            ref = {psi.name: cnt for psi, cnt in permutation_rep(G, N).multiplicities().items()}
            diff = sum(abs(mu.counts.get(k, 0) - ref.get(k, 0)) for k in set(mu.counts) | set(ref))
            c.check(f"{G.name} on {N}x{N}: |c_j(characters) − c_j(decomposition)| summed over j", diff, 0.5)
            c.check(f"{G.name} on {N}x{N}: |Σ c_j s_j − n|", abs(sum(mu.counts[k] * mu.dims[k] for k in mu.counts)
                                                               - N * N), 0.5)
    for G, N in ((groups.cyclic(4), 6), (groups.dihedral(4), 7), (groups.dihedral(2), 7)):
        mu = diagnostics.irrep_multiplicities(G, N)
        need = max(math.ceil(mu.counts[k] / mu.dims[k]) for k in mu.counts)
        m_min = min_measurements(G, N, a.seed, need)
        c.check(f"{G.name} on {N}x{N}: |smallest m with rank M = n (found {m_min}) − max ⌈c_j/s_j⌉ ({need})|",
                abs(m_min - need), 0.5)
        c.check(f"{G.name} on {N}x{N}: n/|G| − max ⌈c_j/s_j⌉ (≤ 0)", N * N / G.order - need, 1e-9)
        r = diagnostics.rank_condition(physics.CompressedSensing(N, m=need - 1, seed=a.seed), G, method="exact")
        c.control(f"{G.name} on {N}x{N}: m = {need - 1} measurements: n − rank M", r.nullity_M, 0.5)
        c.note(f"{G.name} on {N}x{N}: max c_j = {mu.max}; sufficient m > 2k + max c_j + 1: "
               + ", ".join(f"k={k}: m ≥ {mu.measurements_needed(k)}" for k in (1, 2, 3)) + f" (necessary: m ≥ {need})")
    C8 = groups.cyclic(8)
    N = 7
    E = torch.eye(N * N, dtype=torch.float64).reshape(-1, 1, N, N)
    chi = {g: float(torch.diagonal(groups.act(g, E, method="bilinear").reshape(N * N, -1)).sum())
           for g in C8.elements()}
    frac = 0.0
    for psi in C8.irreps():
        x = [psi.character(g) for g in C8.elements()]
        m = sum(chi[g] * v for g, v in zip(C8.elements(), x)) / sum(v * v for v in x)
        frac = max(frac, abs(m - round(m)))
    c.control("bilinear C8 rotations on the 7x7 grid (not a representation): max distance of the character "
              "'multiplicities' to integers", frac, 1e-9)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
