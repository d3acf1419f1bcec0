"""Claim 7 (EI paper 002, Proposition 1, eq. 8; imaging paper 001, eq. 15): every f(y) = A†y + v(y) with v mapping
into the nullspace N(A) is measurement consistent, A f(y) = y; hence measurement consistency (MC) alone cannot
determine the nullspace component of a reconstruction.

Measured (float64): A = compressed sensing, m = 40 Gaussian measurements of 12x12 images (n = 144), and
A = inpainting with 30 % of the pixels dropped. v(y) = P_N g(y) with g a random two-layer network and P_N the
projector onto N(A) (I − A†A):
* ‖A f(y) − y‖/‖y‖ for 32 measurement vectors y = A x, for two different networks g1, g2;
* the two reconstructions differ by a large nullspace component while their MC losses agree: |MC(f1) − MC(f2)|;
* controls: v = g(y) not projected (leaves N(A)): A f(y) ≠ y; and an MC loss gradient step shows the nullspace
  part receives no gradient (‖P_N ∇_x MC‖ = 0 while ‖∇_x MC‖ > 0).

    python proofs/measurement_consistency_nullspace.py [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
import torch
from _common import Claim, rel

from equinet import physics

TOL = 1e-12


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(7, "Proposition 1: f = A†y + v(y), v into N(A), is measurement consistent; MC cannot determine the "
                 "nullspace component",
              "002_8bd7f64e97414dac.txt, Proposition 1 (eq. 8); 001_85888c81389e56ff.txt eq. 15")
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    n = 12
    for A in (physics.CompressedSensing(n, m=40, seed=a.seed), physics.Inpainting(n, drop=0.3, seed=a.seed)):
        name = type(A).__name__
        x = torch.rand(32, 1, n, n, generator=g, dtype=torch.float64)
        y = A(x)
        PN = lambda u: u - A.pinv(A(u))  # noqa: E731  (A†A is the projector onto the row space for both operators)
        nets = []
        for _ in range(2):
            net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(y[0].numel(), 64), torch.nn.Tanh(),
                                      torch.nn.Linear(64, n * n), torch.nn.Unflatten(1, (1, n, n))).double()
            nets.append(net)
        with torch.no_grad():
            fs = [A.pinv(y) + PN(net(y)) for net in nets]
            for i, f in enumerate(fs):
                c.check(f"{name}: ‖A f{i + 1}(y) − y‖/‖y‖, f{i + 1} = A†y + P_N g{i + 1}(y)", rel(A(f), y), TOL)
            mc = [float((A(f) - y).pow(2).sum()) for f in fs]
            c.check(f"{name}: |MC(f1) − MC(f2)| (both zero)", abs(mc[0] - mc[1]), TOL)
            c.note(f"{name}: yet ‖f1(y) − f2(y)‖/‖f1(y)‖ = {rel(fs[0], fs[1]):.3f} and ‖f1(y) − x‖/‖x‖ = "
                   f"{rel(fs[0], x):.3f}: MC is blind to the nullspace part")
            bad = A.pinv(y) + nets[0](y)
            c.control(f"{name}: v = g(y) not projected onto N(A): ‖A f(y) − y‖/‖y‖", rel(A(bad), y), TOL)
        u = torch.randn(32, 1, n, n, generator=g, dtype=torch.float64, requires_grad=True)
        loss = (A(u) - y).pow(2).sum()
        (grad,) = torch.autograd.grad(loss, u)
        c.check(f"{name}: nullspace part of the MC gradient ‖P_N ∇MC‖/‖∇MC‖", rel(PN(grad), torch.zeros_like(grad))
                / float(grad.norm()) if float(grad.norm()) else 0.0, TOL)
        c.control(f"{name}: the MC gradient itself ‖∇MC‖ (the loss does move the range part)", float(grad.norm()), TOL)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
