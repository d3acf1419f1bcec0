"""Claim 2 (imaging paper 001, Sec. IV-A, eq. 11-12): a kernel satisfying k(Hx)π_in(H) = π'_out(H)k(x) (eq. 12) gives
an equivariant steerable convolution (eq. 11); a kernel violating it breaks equivariance by a measurable amount,
proportional to the violation.

Measured (float64, C4 and D4, input field irrep 1 -> output regular field, 5x5 kernels):
* the constraint residual ‖π_out(g) k(H_g⁻¹x) π_in(g)ᵀ − k(x)‖/‖k‖ of a random combination of equinet's steerable
  basis, for every grid element g (the kernel is rotated exactly: a pixel permutation);
* the equivariance error of the convolution with that kernel (``equinet.testing.check_equivariance``);
* control: k + ε·R with R an unconstrained random kernel, ε = 1e-3, 1e-2, 1e-1: the residual and the equivariance
  error are both non-zero, and their ratio is the same for every ε (the error is linear in the violation).

    python proofs/kernel_constraint.py [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
import torch
import torch.nn.functional as F
from _common import Claim

from equinet import groups, kernels, testing
from equinet.nn import FieldType

TOL = 1e-12


def residual(K, G, rin, rout):
    """max over grid elements of ‖π_out(g) k(H⁻¹x) π_in(g)ᵀ − k(x)‖ / ‖k‖ (k rotated as an image: exact)."""
    o, i, h, w = K.shape
    worst = 0.0
    for g in G.elements():
        Kr = groups.act(g, K.reshape(o * i, 1, h, w), method="exact").reshape(o, i, h, w)
        Po = torch.as_tensor(rout(g), dtype=K.dtype)
        Pi = torch.as_tensor(rin(g), dtype=K.dtype)
        worst = max(worst, float((torch.einsum("ab,bcxy,dc->adxy", Po, Kr, Pi) - K).norm() / K.norm()))
    return worst


def conv_error(K, fin, fout, seed):
    f = lambda x: F.conv2d(x, K.to(x.dtype), padding=K.shape[-1] // 2)  # noqa: E731
    return testing.check_equivariance(f, fin, fout, elements=fin.group, image_size=(16, 17), seed=seed).max_error(
        grid=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(2, "the kernel constraint (eq. 12) implies equivariance of the steerable convolution (eq. 11); "
                 "violating it breaks equivariance measurably", "001_85888c81389e56ff.txt, Sec. IV-A, eq. 11-12")
    g = torch.Generator().manual_seed(a.seed)
    for G in (groups.cyclic(4), groups.dihedral(4)):
        rin = G.irrep(1) if not G.reflections else G.irrep(1, 1)
        rout = G.regular
        B = kernels.steerable_basis(rin, rout, 5, dtype=torch.float64)
        K = torch.einsum("b,boixy->oixy", torch.randn(B.shape[0], generator=g, dtype=torch.float64), B)
        fin, fout = FieldType(G, [rin]), FieldType(G, [rout])
        c.check(f"{G.name}: constraint residual of a steerable kernel ({B.shape[0]} basis elements)",
                residual(K, G, rin, rout), TOL)
        c.check(f"{G.name}: equivariance error of its convolution", conv_error(K, fin, fout, a.seed), TOL)
        R = torch.randn(K.shape, generator=g, dtype=torch.float64)
        R = R / R.norm() * K.norm()
        ratios = []
        for eps in (1e-3, 1e-2, 1e-1):
            Kb = K + eps * R
            res, err = residual(Kb, G, rin, rout), conv_error(Kb, fin, fout, a.seed)
            c.control(f"{G.name}: k + {eps:g}·R (unconstrained R): constraint residual", res, TOL)
            c.control(f"{G.name}: k + {eps:g}·R: equivariance error of the convolution", err, TOL)
            ratios.append(err / res)
        spread = (max(ratios) - min(ratios)) / max(ratios)
        c.note(f"{G.name}: equivariance error / constraint residual = {', '.join(f'{r:.3f}' for r in ratios)}")
        c.check(f"{G.name}: the error is linear in the violation (relative spread of error/residual over ε)", spread,
                0.05)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
