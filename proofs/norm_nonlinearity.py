"""Claim 3 (imaging paper 001, Sec. IV-A, the paragraph after eq. 12): a norm nonlinearity f(u)(x) = φ(‖u(x)‖)u(x)
is equivariant when the representation is orthogonal (‖π_H v‖ = ‖v‖); a pointwise ReLU on an irrep-1 field is not.

Measured (float64): ``equinet.nn.NormNonlinearity`` on three irrep-1 (vector) fields.
* It acts point by point, so the spatial part of T_g commutes with it trivially; the channel part is checked for
  every element of C8 and for 16 random angles of SO(2): ‖f(π(g)v) − π(g)f(v)‖/‖π(g)f(v)‖;
* full field check (space and channels) with ``equinet.testing.check_equivariance`` on the grid elements of C8;
* controls: ReLU applied to each component of the same fields; the same norm nonlinearity under the
  non-orthogonal representation S π S⁻¹ (S = diag(1, 3)), whose action does not preserve the norm.

    python proofs/norm_nonlinearity.py [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
import torch
from _common import Claim, rel

from equinet import groups, testing
from equinet.nn import FieldType, NormNonlinearity

TOL = 1e-12


def channel_error(f, mats, v):
    """max_g ‖f(P_g v) − P_g f(v)‖ / ‖P_g f(v)‖ with P_g acting on the channels of every pixel."""
    fv = f(v)
    return max(rel(f(torch.einsum("oc,bchw->bohw", P, v)), torch.einsum("oc,bchw->bohw", P, fv)) for P in mats)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(3, "norm nonlinearities are equivariant for orthogonal representations; a pointwise ReLU on an irrep-1 "
                 "field is not", "001_85888c81389e56ff.txt, Sec. IV-A (norm nonlinearity f(u)(x) = φ(‖u(x)‖)u(x))")
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    v = torch.randn(2, 6, 9, 9, generator=g, dtype=torch.float64)
    for G in (groups.cyclic(8), groups.so2(4)):
        els = G.elements() if not G.continuous else G.testing_elements(16, seed=a.seed)
        ft = FieldType(G, [G.irrep(1)] * 3)
        f = NormNonlinearity(ft, function="relu").double()
        with torch.no_grad():
            f.bias.data.uniform_(-1.0, 0.5)  # some vectors are shrunk to zero, others kept: a real nonlinearity
        mats = [torch.as_tensor(ft.representation(e), dtype=torch.float64) for e in els]
        with torch.no_grad():
            c.check(f"norm ReLU, {G.name}: channel action, {len(els)} elements", channel_error(f, mats, v), TOL)
            c.control(f"component-wise ReLU on the same fields, {G.name}", channel_error(torch.relu, mats, v), TOL)
            S = torch.block_diag(*[torch.diag(torch.tensor([1.0, 3.0], dtype=torch.float64))] * 3)
            bad = [S @ P @ torch.linalg.inv(S) for P in mats]
            c.control(f"norm ReLU under the non-orthogonal representation SπS⁻¹, {G.name}",
                      channel_error(f, bad, v), TOL)
        if not G.continuous:
            r = testing.check_equivariance(f, ft, ft, elements=[e for e in els if e.preserves_grid],
                                           image_size=(12, 13), seed=a.seed)
            c.check(f"norm ReLU, {G.name}: full field action on the grid elements", r.max_error(grid=True), TOL)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
