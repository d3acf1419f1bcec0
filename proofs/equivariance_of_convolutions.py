"""Claim 1 (imaging paper 001, Sec. II and IV-A, eq. 7, 9, 10): equivariance is preserved by composition; convolution
is translation equivariant (eq. 7); group convolutions (eq. 9) and lifting convolutions (eq. 10) are equivariant.

Measured (float64):
* translations: a circular convolution (eq. 7 on the torus) against every cyclic shift of a 12x12 grid,
  ‖k∗(S_h u) − S_h(k∗u)‖/‖S_h(k∗u)‖; a composition conv∘ReLU∘conv likewise;
* rotations/flips: equinet's lifting convolution (trivial -> regular fields, eq. 10) and group convolution
  (regular -> regular, eq. 9) for C4 and D4, and their composition with a pointwise ReLU, with
  ``equinet.testing.check_equivariance`` on the grid-preserving elements (exact pixel permutations);
* controls: the same convolution with zero padding (edges break translation equivariance, as the paper notes), an
  unconstrained ``nn.Conv2d`` checked as if it were a lifting convolution, and the composition of an equivariant
  layer with a non-equivariant one.

    python proofs/equivariance_of_convolutions.py [--size 12] [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401  (sets the import path)
import torch
from _common import Claim, rel

from equinet import groups, testing
from equinet.nn import EquivariantSequential, FieldType, ReLU, SteerableConv2d

TOL = 1e-12


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    c = Claim(1, "composition preserves equivariance; convolutions (eq. 7), group (eq. 9) and lifting (eq. 10) "
                 "convolutions are equivariant", "001_85888c81389e56ff.txt, Sec. II (composition), IV-A eq. 7, 9, 10")
    n = a.size
    u = torch.randn(2, 1, n, n, dtype=torch.float64)
    circ = torch.nn.Conv2d(1, 3, 5, padding=2, padding_mode="circular", bias=False).double()
    zero = torch.nn.Conv2d(1, 3, 5, padding=2, padding_mode="zeros", bias=False).double()
    zero.weight.data.copy_(circ.weight.data)
    circ2 = torch.nn.Conv2d(3, 1, 3, padding=1, padding_mode="circular").double()
    stack = lambda v: circ2(torch.relu(circ(v)))  # noqa: E731
    shifts = [(i, j) for i in range(n) for j in range(n)]
    with torch.no_grad():
        S = lambda v, s: torch.roll(v, s, dims=(-2, -1))  # noqa: E731
        err = max(rel(circ(S(u, s)), S(circ(u), s)) for s in shifts)
        c.check(f"circular convolution vs all {len(shifts)} cyclic shifts (eq. 7)", err, TOL)
        err = max(rel(stack(S(u, s)), S(stack(u), s)) for s in shifts)
        c.check("composition conv∘ReLU∘conv vs all cyclic shifts", err, TOL)
        err = max(rel(zero(S(u, s)), S(zero(u), s)) for s in shifts[1:])
        c.control("zero-padded convolution (image edges) vs the nonzero shifts", err, TOL)
    for G in (groups.cyclic(4), groups.dihedral(4)):
        f_in, f_reg = FieldType.trivial(G, 1), FieldType.regular(G, 2)
        lift = SteerableConv2d(f_in, f_reg, 5)
        gconv = SteerableConv2d(f_reg, f_reg, 3)
        r = testing.check_equivariance(lift, f_in, f_reg, elements=G, image_size=n + 1, seed=a.seed)
        c.check(f"lifting convolution trivial -> regular, {G.name} (eq. 10)", r.max_error(grid=True), TOL)
        r = testing.check_equivariance(gconv, f_reg, f_reg, elements=G, image_size=n + 1, seed=a.seed)
        c.check(f"group convolution regular -> regular, {G.name} (eq. 9)", r.max_error(grid=True), TOL)
        net = EquivariantSequential(lift, ReLU(f_reg), gconv)
        r = testing.check_equivariance(net, f_in, f_reg, elements=G, image_size=n + 1, seed=a.seed)
        c.check(f"composition lifting∘ReLU∘group conv, {G.name}", r.max_error(grid=True), TOL)
        plain = torch.nn.Conv2d(1, f_reg.size, 5, padding=2)
        r = testing.check_equivariance(plain, f_in, f_reg, elements=G, image_size=n + 1, seed=a.seed)
        c.control(f"unconstrained Conv2d read as a lifting convolution, {G.name}", r.max_error(grid=True), TOL)
        mixed = torch.nn.Sequential(lift, torch.nn.Conv2d(f_reg.size, f_reg.size, 3, padding=1))
        r = testing.check_equivariance(mixed, f_in, f_reg, elements=G, image_size=n + 1, seed=a.seed)
        c.control(f"composition with a non-equivariant layer, {G.name}", r.max_error(grid=True), TOL)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
