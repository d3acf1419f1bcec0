"""Cross-check against deepinv 0.5 on identical inputs and probes (runs where deepinv imports: see
docs/losses.md for the reference install; skipped with the reason otherwise).

Definitions that coincide and are compared to float64 round-off: MC; EI (noise-free re-measurement, same
transformation); SURE Gaussian (Gaussian or Rademacher probe); SURE Poisson (first order, Rademacher probe);
SURE Poisson-Gaussian with deepinv's ``second_derivative=True`` vs ours with ``poisson_second_order=False`` and a
Rademacher first-order probe (and deepinv's rounded golden-law curvature probe). Deliberate differences (documented in docs/losses.md): our PG default adds the
``-γ² y`` curvature term; deepinv's PG default (``second_derivative=False``) drops the curvature term entirely.
"""
import math

import pytest
import torch

dinv = pytest.importorskip("deepinv", reason="deepinv is a reference extra (see docs/losses.md for the install)")

from equinet import physics as P  # noqa: E402
from equinet.data.phantoms import random_ellipses  # noqa: E402
from equinet.losses import (EILoss, LossInputs, MCLoss, SureGaussianLoss, SurePGLoss,  # noqa: E402
                            SurePoissonLoss)
import equinet.losses._sure as sure_module  # noqa: E402
from equinet.transforms import Rot90, Rotate, Shift  # noqa: E402

from .conftest import gen  # noqa: E402

DT = torch.float64
# deepinv builds its +-1 probes in the default dtype (float32) whatever the dtype of y, so tau * b is rounded to
# float32 before the float64 sum: steps that are powers of two make that rounding exact
TAU, TAU2 = 2.0 ** -10, 2.0 ** -7


class Net(torch.nn.Module):
    """A fixed nonlinear reconstruction f(y) = u + r(u), u = A^T y, callable with either library's physics."""

    def __init__(self, op):
        super().__init__()
        torch.manual_seed(0)
        self.op = op
        self.r = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Tanh(),
                                     torch.nn.Conv2d(4, 1, 3, padding=1)).double()

    def forward(self, y, physics=None):
        u = self.op.adjoint(y)
        return u + self.r(u)


def setup(noise=None, positive=False):
    op = P.CompressedSensing(8, m=40, seed=0, noise=noise) if not positive else \
        P.Blur(P.gaussian_kernel(1.0).double(), noise=noise)
    dphys = dinv.physics.LinearPhysics(A=lambda x: op(x), A_adjoint=lambda y: op.adjoint(y))
    x = random_ellipses(3, 8, seed=0).to(DT) + 0.2
    y = op.measure(x, gen(1)) if noise is not None else op(x)
    f = Net(op)
    return op, dphys, f, x, y, f(y, op)


def test_mc_matches_deepinv():
    op, dphys, f, x, y, x1 = setup(P.GaussianNoise(0.1))
    ours = MCLoss()(LossInputs(y, op, f, x1, gen(0)))["mc"]
    theirs = dinv.loss.MCLoss()(y=y, x_net=x1, physics=dphys)
    assert torch.allclose(ours, theirs, rtol=1e-13, atol=0)


@pytest.mark.parametrize("T", [Rot90(), Shift(image_size=8), Rotate(degrees=(-40, 40))], ids=repr)
def test_ei_matches_deepinv_noise_free(T):
    op, dphys, f, x, y, x1 = setup()
    params = T.sample(x1.shape[0], gen(5))
    ours = EILoss(T, weight=3.0)(LossInputs(y, op, f, x1, gen(5)))["ei"]
    theirs = dinv.loss.EILoss(lambda z: T.apply(z, params), apply_noise=False, weight=3.0)(
        x_net=x1, physics=dphys, model=f)
    assert torch.allclose(ours, theirs, rtol=1e-13, atol=0)


def test_quarter_turns_match_deepinv_rotate():
    x = torch.randn(2, 1, 8, 8, dtype=DT, generator=gen(0))
    R = dinv.transform.Rotate(multiples=90, positive=True)
    T = Rotate(multiples=90)
    for deg in (90.0, 180.0, 270.0):
        p = torch.tensor([[math.radians(deg), 0.0]] * 2, dtype=DT)
        assert torch.allclose(T.apply(x, p), R.transform(x, theta=torch.tensor([deg])).to(DT), atol=0, rtol=0)


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
def test_sure_gaussian_matches_deepinv(probe):
    op, dphys, f, x, y, x1 = setup(P.GaussianNoise(0.2))
    ours = SureGaussianLoss(sigma=0.2, tau=1e-2, probe=probe)(LossInputs(y, op, f, x1, gen(7)))["sure"]
    if probe == "gaussian":
        theirs = dinv.loss.SureGaussianLoss(sigma=0.2, tau=1e-2, rng=gen(7))(y=y, x_net=x1, physics=dphys, model=f)
    else:  # deepinv's SURE Gaussian has only the Gaussian probe; its Poisson loss uses Rademacher: compare by hand
        b = (torch.rand(y.shape, generator=gen(7), dtype=DT) >= 0.5).to(DT) * 2 - 1
        h0, h1 = op(x1), op(f(y + 1e-2 * b))
        theirs = (y - h0).pow(2).mean() - 0.04 + 2 * 0.04 * (b * (h1 - h0)).mean() / 1e-2
    assert torch.allclose(ours, theirs.mean(), rtol=1e-12, atol=1e-15)


def test_sure_poisson_matches_deepinv():
    op, dphys, f, x, y, x1 = setup(P.PoissonNoise(0.05), positive=True)
    ours = SurePoissonLoss(gain=0.05, tau=TAU, probe="rademacher")(LossInputs(y, op, f, x1, gen(3)))["sure"]
    theirs = dinv.loss.SurePoissonLoss(gain=0.05, tau=TAU, rng=gen(3))(y=y, x_net=x1, physics=dphys, model=f)
    assert torch.allclose(ours, theirs.mean(), rtol=1e-12, atol=1e-15)


def test_sure_pg_matches_deepinv_where_the_definitions_coincide(monkeypatch):
    op, dphys, f, x, y, x1 = setup(P.PoissonGaussianNoise(0.05, 0.1), positive=True)
    # deepinv's curvature probe rounds the golden law (p = 0.7236, values sqrt(p/(1-p)) and -sqrt((1-p)/p)); use its
    # values here so that the probes are identical (ours: exact (1 -+ sqrt 5)/2, P(phi) = (1 - 1/sqrt 5)/2)
    p = 0.7236
    draw = sure_module.draw_probe

    def deepinv_golden(like, g, kind):
        if kind != "golden":
            return draw(like, g, kind)
        u = torch.rand(like.shape, generator=g, dtype=DT)
        return torch.where(u < p, -math.sqrt((1 - p) / p), math.sqrt(p / (1 - p))).to(like.dtype)

    monkeypatch.setattr(sure_module, "draw_probe", deepinv_golden)
    loss = SurePGLoss(gain=0.05, sigma=0.1, tau=TAU, tau2=TAU2, probe="rademacher", poisson_second_order=False)
    ours = loss(LossInputs(y, op, f, x1, gen(11)))["sure"]
    theirs = dinv.loss.SurePGLoss(sigma=0.1, gain=0.05, tau1=TAU, tau2=TAU2, second_derivative=True,
                                  rng=gen(11))(y=y, x_net=x1, physics=dphys, model=f)
    assert torch.allclose(ours, theirs.mean(), rtol=1e-12, atol=1e-15)
    # our default also keeps the -gamma^2 y part of the curvature term: a different (less biased) estimate
    full = SurePGLoss(gain=0.05, sigma=0.1, tau=TAU, tau2=TAU2, probe="rademacher")(
        LossInputs(y, op, f, x1, gen(11)))["sure"]
    assert not torch.allclose(full, ours, rtol=1e-9, atol=0)
