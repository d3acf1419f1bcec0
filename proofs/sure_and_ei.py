"""Claim 11 (talk 003, "Handling noise via SURE"; EI paper 002, eq. 6; imaging paper 001, eq. 19): the SURE losses are
unbiased estimates of the measurement-domain risk, E_y[SURE(f)] = E_{y,x}[mean((A f(y) − A x)²)], for Gaussian
(Stein), Poisson and Poisson-Gaussian noise; and the EI loss vanishes when f∘A is equivariant to the transformations.

Measured with ``equinet.losses`` (float64):
* SURE: a fixed nonlinear reconstructor f(y) = A†y + 0.3·tanh(conv(A†y)) on circular Gaussian blur of 12x12
  images; ``--draws`` paired samples, each one loss evaluation on 25 independent noise realisations of 2 images,
  giving SURE_k (``SureGaussianLoss``, ``SurePoissonLoss`` with the second-order term, ``SurePGLoss``) and the true
  risk_k = mean((A f(y) − A x)²); |mean(SURE − risk)| / (3.5·SE) must be <= 1;
* controls: the same estimators with the noise level mis-specified (Gaussian σ' = 2σ; Poisson and PG gain 2γ):
  the bias is many standard errors;
* EI (``EILoss`` with ``equinet.transforms``): if f∘A is equivariant, f(A T_g x1) = T_g f(A x1), so the EI loss
  equals the g-independent gap mean((f(A x1) − x1)²) — checked for the Tikhonov inverse of circular blur with shifts
  and FBP of 8-view CT with 90° turns (angle set closed under them) — and it vanishes when moreover f∘A∘f = f
  (f an exact pseudo-inverse): circular blur and MRI with shifts;
* controls: inpainting with shifts (f = A† is a projector but does not commute with shifts), MRI with 90° turns,
  5-view CT with 90° turns (EI differs from the gap).

    python proofs/sure_and_ei.py [--draws 300] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import sys

import _common  # noqa: F401
import torch
from _common import Claim

from equinet import groups, physics
from equinet.losses import EILoss, LossInputs, SureGaussianLoss, SurePGLoss, SurePoissonLoss
from equinet.transforms import GroupTransform, Shift


class SmoothRecon(torch.nn.Module):
    """f(y, A) = A†y + 0.3·tanh(conv(A†y)): nonlinear and smooth, fixed weights."""

    def __init__(self, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular").double()

    def forward(self, y, A):
        u = A.pinv(y)
        return u + 0.3 * torch.tanh(self.conv(u))


def paired_bias(A, x, model, loss, draws, seed, per_call=25):
    """(mean(SURE − risk), its standard error) over ``draws`` paired samples, each the mean over ``per_call``
    independent noise realisations of the batch ``x`` (one loss evaluation on the stacked batch)."""
    d = []
    xs = x.repeat(per_call, 1, 1, 1)
    for k in range(draws):
        g = torch.Generator().manual_seed(seed * 100003 + k)
        y = A.measure(xs, generator=g)
        with torch.no_grad():
            x1 = model(y, A)
            risk = float((A(x1) - A(xs)).pow(2).mean())
            s = float(loss(LossInputs(y, A, model, x1, g))["sure"])
        d.append(s - risk)
    d = torch.tensor(d, dtype=torch.float64)
    return float(d.mean()), float(d.std() / math.sqrt(draws))


def ei_value(A, f, T, x, seed, reps=4):
    """(max EI loss relative to mean(x1²), max |EI loss − gap| / gap with gap = mean((f(A x1) − x1)²)) over ``reps``
    draws of the transformations. If f∘A is equivariant, f(A T x1) = T f(A x1), so the EI loss equals the
    g-independent gap
    mean((f(A x1) − x1)²), which vanishes when x1 is a fixed point of f∘A (f = an exact pseudo-inverse)."""
    loss = EILoss(T)
    worst, dev = 0.0, 0.0
    for r in range(reps):
        g = torch.Generator().manual_seed(seed * 7919 + r)
        with torch.no_grad():
            x1 = f(A(x), A)
            scale = float(x1.pow(2).mean())
            ei = float(loss(LossInputs(A(x), A, f, x1, g))["ei"])
            gap = float((f(A(x1), A) - x1).pow(2).mean())
        worst, dev = max(worst, ei / scale), max(dev, abs(ei - gap) / max(gap, 1e-300))
    return worst, dev


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    c = Claim(11, "SURE (Gaussian, Poisson, Poisson-Gaussian) is unbiased; the EI loss vanishes for an equivariant f∘A",
              "003_28efc0a7a14fab64.txt, 'Handling noise via SURE'; 002_8bd7f64e97414dac.txt eq. 6; "
              "001_85888c81389e56ff.txt eq. 19")
    N = 12
    g = torch.Generator().manual_seed(a.seed)
    x = 0.2 + torch.rand(2, 1, N, N, generator=g, dtype=torch.float64)
    kernel = physics.gaussian_kernel(1.0, size=5, dtype=torch.float64)
    model = SmoothRecon(a.seed)
    sig, gam = 0.1, 0.05
    cases = [("Gaussian σ = 0.1", physics.GaussianNoise(sig), SureGaussianLoss(), SureGaussianLoss(sigma=2 * sig),
              "σ' = 2σ"),
             ("Poisson γ = 0.05", physics.PoissonNoise(gam), SurePoissonLoss(second_order=True),
              SurePoissonLoss(gain=2 * gam, second_order=True), "gain 2γ"),
             ("Poisson-Gaussian γ = 0.05, σ = 0.05", physics.PoissonGaussianNoise(gam, 0.05), SurePGLoss(),
              SurePGLoss(gain=2 * gam, sigma=0.05), "gain 2γ")]
    for label, noise, loss, wrong, how in cases:
        A = physics.Blur(kernel, image_size=N, reg=1e-2, noise=noise)
        bias, se = paired_bias(A, x, model, loss, a.draws, a.seed)
        c.check(f"SURE, {label}: |mean(SURE − risk)| / (3.5 SE) (bias {bias:.2e}, SE {se:.1e}, {a.draws} draws)",
                abs(bias) / (3.5 * se), 1.0)
        bias, se = paired_bias(A, x, model, wrong, a.draws, a.seed)
        c.control(f"SURE, {label}, mis-specified ({how}): |mean(SURE − risk)| / (3.5 SE) (bias {bias:.2e})",
                  abs(bias) / (3.5 * se), 1.0)
    pinv = lambda y, A: A.pinv(y)  # noqa: E731
    fbp = lambda y, A: A.fbp(y)  # noqa: E731
    xs = torch.rand(4, 1, N, N, generator=g, dtype=torch.float64)
    x2 = torch.rand(4, 2, N, N, generator=g, dtype=torch.float64)
    tol = 1e-24  # on squared errors relative to mean(x1²): 1e-12 in norm
    shift, rot = Shift(image_size=N), GroupTransform(groups.cyclic(4))
    blur_t, blur_p = physics.Blur(kernel, image_size=N, reg=1e-2), physics.Blur(kernel, image_size=N, reg=0.0)
    for label, A, f, T, xx in (("circular blur, f = Tikhonov inverse, shifts", blur_t, pinv, shift, xs),
                               ("8-view CT, f = FBP, 90° turns", physics.Radon(N, angles=8, circle=False), fbp, rot,
                                xs)):
        ei, dev = ei_value(A, f, T, xx, a.seed)
        c.check(f"EI, {label}: |EI − gap| / gap, gap = mean((f(A x1) − x1)²) (f∘A equivariant; EI {ei:.1e})", dev,
                1e-12)
    for label, A, T, xx in (("circular blur, f = exact pseudo-inverse, shifts", blur_p, shift, xs),
                            ("MRI, f = A† (zero-filled), shifts", physics.MRI(N, acceleration=3), shift, x2),
                            ("MRI, f = A†, 90° turns applied to both channels", physics.MRI(N, acceleration=3),
                             rot, x2)):
        ei, dev = ei_value(A, pinv, T, xx, a.seed)
        if "90°" in label:  # MRI lines are not invariant to quarter turns: a control
            c.control(f"EI, {label} (f∘A not equivariant)", ei, tol)
        else:
            c.check(f"EI, {label}: EI loss (f∘A equivariant and f∘A∘f = f)", ei, tol)
    ei, dev = ei_value(physics.Inpainting(N, drop=0.3), pinv, shift, xs, a.seed)
    c.control("EI, inpainting, f = A† (a projector, but not shift-equivariant), shifts: EI loss", ei, tol)
    ei, dev = ei_value(physics.Radon(N, angles=5, circle=False), fbp, rot, xs, a.seed)
    c.control(f"EI, 5-view CT, f = FBP, 90° turns: |EI − gap| / gap (EI {ei:.1e})", dev, 1e-12)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
