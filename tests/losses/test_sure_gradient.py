"""SURE is used for its gradient: averaged over noise draws, the gradient of SURE-PG with respect to a ReLU
network's weights equals the gradient of the true measurement-domain MSE (paired on the same draws). Measured on a
small CT problem at the scale of the low-dose CT reproduction (unit gain, sinogram values up to ~6, σ = 0.5).

The curvature term's finite difference crosses the kinks of a piecewise-linear network: a step ``tau2`` much
smaller than the gain makes the term's Monte-Carlo error grow like ``1/tau2`` (with ``tau2 = 1e-2`` at gain 1 the
gradient error is about 200 % over 100 draws; REI then barely trained). A smooth network is the control: there the
step does not matter."""
import pytest
import torch

from equinet import physics as P
from equinet.data.phantoms import random_ellipses
from equinet.losses import LossInputs, SurePGLoss, SurePoissonLoss

from .conftest import gen

DT = torch.float64


class Net(torch.nn.Module):
    """``f(y) = u + c2(act(c1(u)))``, ``u = A†y``, fixed random weights."""

    def __init__(self, act):
        super().__init__()
        self.act = act
        self.c1 = torch.nn.Conv2d(1, 8, 3, padding=1).double()
        self.c2 = torch.nn.Conv2d(8, 1, 3, padding=1).double()
        with torch.no_grad():
            for q in self.parameters():
                q.copy_(0.2 * torch.randn(q.shape, generator=gen(0), dtype=DT))

    def forward(self, y, physics):
        u = physics.pinv(y)
        return u + self.c2(self.act(self.c1(u)))


def flat_grad(value, model):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(value, list(model.parameters()))])


def gradient_error(loss, act, noise, draws=100, seed=0):
    """``|mean grad SURE - mean grad MSE| / |mean grad MSE|`` over ``draws`` paired noise draws of one phantom."""
    A = P.Radon(16, angles=8, noise=noise)
    x = (2.0 * random_ellipses(1, 16, seed=0).to(DT)).expand(draws, -1, -1, -1)
    f = Net(act)
    g = gen(seed)
    y = A.measure(x, g)
    g_sure = flat_grad(loss(LossInputs(y, A, f, f(y, A), g))["sure"], f)
    g_true = flat_grad((A(f(y, A)) - A(x)).pow(2).mean(), f)
    return float((g_sure - g_true).norm() / g_true.norm())


PG = P.PoissonGaussianNoise(1.0, 0.5)


@pytest.mark.parametrize("seed", [0, 1])
def test_sure_pg_gradient_is_the_risk_gradient_for_a_relu_network(seed):
    assert gradient_error(SurePGLoss(), torch.relu, PG, seed=seed) < 0.1  # measured 0.02-0.04 (seeds 0-3)


def test_small_curvature_step_is_what_breaks_relu_gradients():
    assert gradient_error(SurePGLoss(tau2=1e-2), torch.relu, PG) > 1.0  # measured 1.9-2.4
    # control: for a smooth network the same small step is harmless (measured 0.0002-0.002 either way)
    smooth = torch.nn.functional.softplus
    assert gradient_error(SurePGLoss(tau2=1e-2), smooth, PG) < 0.01
    assert gradient_error(SurePGLoss(), smooth, PG) < 0.01


def test_pure_second_order_gradient_for_a_relu_network():
    assert gradient_error(SurePoissonLoss(second_order=True), torch.relu, P.PoissonNoise(1.0)) < 0.1
    assert gradient_error(SurePoissonLoss(second_order=True, tau2=1e-2), torch.relu, P.PoissonNoise(1.0)) > 1.0
