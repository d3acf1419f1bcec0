"""Each SURE is unbiased: over many noise draws (and probes) its mean equals the true measurement-domain MSE
within 3 standard errors, for a fixed nonlinear denoiser. The Poisson-Gaussian curvature term is needed: with
its sign flipped, or with a symmetric probe (which makes it vanish on average), the bias is detected."""
import math

import pytest
import torch

import equinet.losses._sure as sure_module
from equinet import physics as P
from equinet.losses import LossInputs, SureGaussianLoss, SurePGLoss, SurePoissonLoss

from .conftest import gen

DT = torch.float64
X = torch.linspace(0.5, 3.0, 16, dtype=DT).reshape(1, 1, 4, 4)


class Denoiser(torch.nn.Module):
    """A fixed, smooth, nonlinear f(y) = u - a tanh((u + w * u) / l), u = A^T y (with a 3x3 mixing kernel w)."""

    def __init__(self, a=0.5, scale=0.5):
        super().__init__()
        self.a, self.scale = a, scale
        self.w = 0.3 * torch.randn(1, 1, 3, 3, generator=gen(1), dtype=DT)

    def forward(self, y, physics):
        u = physics.adjoint(y)
        return u - self.a * torch.tanh((u + torch.nn.functional.conv2d(u, self.w, padding=1)) / self.scale)


def paired_bias(noise, loss, chunks=60, draws=500, seed=0):
    """Mean and standard error of SURE - ||h(y) - A x||^2 / m over chunks x draws independent noise draws."""
    A = P.Denoising(noise=noise)
    f = Denoiser()
    g = gen(seed)
    xs = X.expand(draws, -1, -1, -1)
    d = []
    with torch.no_grad():
        for _ in range(chunks):
            y = A.measure(xs, g)
            x1 = f(y, A)
            est = loss(LossInputs(y, A, f, x1, g))["sure"]
            d.append(float(est - (A(x1) - A(xs)).pow(2).mean()))
    d = torch.tensor(d, dtype=DT)
    mse_scale = float((A(f(A.measure(xs, gen(99)), A)) - A(xs)).pow(2).mean())
    return float(d.mean()), float(d.std() / math.sqrt(chunks)), mse_scale


@pytest.mark.parametrize("noise,loss", [
    (P.GaussianNoise(0.3), SureGaussianLoss(tau=1e-3)),
    (P.GaussianNoise(0.3), SureGaussianLoss(tau=1e-3, probe="rademacher")),
    (P.PoissonNoise(0.02), SurePoissonLoss(tau=1e-3)),
    (P.PoissonNoise(0.05), SurePoissonLoss(tau=1e-3, second_order=True)),
    (P.PoissonGaussianNoise(0.1, 0.3), SurePGLoss(tau=1e-3)),
], ids=["gaussian", "gaussian-rademacher", "poisson", "poisson-2nd-order", "poisson-gaussian"])
def test_sure_is_unbiased(noise, loss):
    mean, se, scale = paired_bias(noise, loss)
    assert abs(mean) < 3 * se
    assert se < 0.05 * scale  # the test has the power to see a 15% bias


def test_pg_curvature_term_has_a_minus_sign_and_needs_a_skewed_probe(monkeypatch):
    noise = P.PoissonGaussianNoise(0.1, 0.3)
    mean, se, _ = paired_bias(noise, SurePGLoss(tau=1e-3), seed=1)
    assert abs(mean) < 3 * se

    class FlippedSign(SurePGLoss):
        def _second_order(self, *args, **kwargs):
            return -super()._second_order(*args, **kwargs)

    mean, se, _ = paired_bias(noise, FlippedSign(tau=1e-3), seed=1)
    assert mean > 5 * se
    draw = sure_module.draw_probe
    monkeypatch.setattr(sure_module, "draw_probe",
                        lambda like, g, kind: draw(like, g, "rademacher" if kind == "golden" else kind))
    mean, se, _ = paired_bias(noise, SurePGLoss(tau=1e-3), seed=1)
    assert mean > 3 * se
