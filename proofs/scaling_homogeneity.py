"""Claim 4 (imaging paper 001, Sec. IV-B, Fig. 6): ReLU and LeakyReLU are positively 1-homogeneous, f(cx) = c f(x) for
c > 0; hence bias-free networks built from them (linear layers + these activations) are scale equivariant, and
networks with biases are not.

Measured (float64), scales c in {0.1, 0.5, 2, 10}:
* ReLU and LeakyReLU(0.2) on i.i.d. N(0, 1) inputs: max_c ‖f(cx) − c f(x)‖/‖c f(x)‖;
* bias-free DnCNN proximal networks (equinet.nets, C4 steerable and its plain translation twin) with
  ``equinet.testing.check_scaling_equivariance``;
* controls: the same networks with biases; ELU (not homogeneous) as an activation.

    python proofs/scaling_homogeneity.py [--seed 0]
"""
from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401
import torch
from _common import Claim, rel

from equinet import testing
from equinet.nets import NetSpec, build

TOL = 1e-12
SCALES = (0.1, 0.5, 2.0, 10.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(4, "ReLU/LeakyReLU are positively 1-homogeneous; bias-free networks are scale equivariant, networks "
                 "with bias are not", "001_85888c81389e56ff.txt, Sec. IV-B (scaling group (0, ∞)), Fig. 6")
    g = torch.Generator().manual_seed(a.seed)
    x = torch.randn(1000, generator=g, dtype=torch.float64)
    for name, f in (("ReLU", torch.relu), ("LeakyReLU(0.2)", lambda t: torch.nn.functional.leaky_relu(t, 0.2))):
        c.check(f"{name}: max over c of ‖f(cx) − c·f(x)‖/‖c·f(x)‖", max(rel(f(s * x), s * f(x)) for s in SCALES), TOL)
    c.control("ELU: the same check", max(rel(torch.nn.functional.elu(s * x), s * torch.nn.functional.elu(x))
                                         for s in SCALES), TOL)
    torch.manual_seed(a.seed)
    for label, spec in (("C4 steerable DnCNN", NetSpec("C4", width=2, depth=3, kernel_size=3)),
                        ("translation twin", NetSpec("C4", width=2, depth=3, kernel_size=3).translation_twin("width"))):
        for act in ("relu", "leaky_relu"):
            free = build("dncnn", NetSpec(**{**spec.__dict__, "bias": False, "activation": act}))
            r = testing.check_scaling_equivariance(free, SCALES, channels=1, image_size=12, seed=a.seed)
            c.check(f"bias-free {label}, {act}", r.max_error(), TOL)
            biased = build("dncnn", NetSpec(**{**spec.__dict__, "bias": True, "activation": act}))
            with torch.no_grad():  # freshly built biases may start at zero: give them values
                for n_, p in biased.named_parameters():
                    if "bias" in n_:
                        p.uniform_(-0.5, 0.5)
            r = testing.check_scaling_equivariance(biased, SCALES, channels=1, image_size=12, seed=a.seed)
            c.control(f"{label} with biases, {act}", r.max_error(), TOL)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
