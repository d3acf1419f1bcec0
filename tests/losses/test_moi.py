"""The multi-operator loss: MC with each item's own member, cross-operator consistency with another member drawn
per item from the step's generator; zero for the oracle, registered, and refused without per-sample operators."""
import pytest
import torch

from equinet.data import random_ellipses
from equinet.losses import LOSSES, LossInputs, MOILoss
from equinet.losses.moi import draw_other_operators, moi_term
from equinet.physics import GaussianNoise, Inpainting, inpainting_family

from .conftest import gen

DT = torch.float64


class Net(torch.nn.Module):
    """f(y, A) = u + r(u), u = A^T y: a fixed nonlinear reconstruction that uses the operator it is given."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.r = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.Tanh(),
                                     torch.nn.Conv2d(3, 1, 3, padding=1)).double()

    def forward(self, y, physics):
        u = physics.adjoint(y)
        return u + self.r(u)


def setup(noise=None):
    fam = inpainting_family(8, 3, drop=0.5, seed=0, noise=noise)
    ops = torch.tensor([0, 1, 2, 0, 2])
    A = fam.select(ops)
    x = random_ellipses(5, 8, seed=1).to(DT)
    y = A(x)
    f = Net()
    return fam, ops, A, x, y, f


def test_terms_are_mc_with_the_own_member_and_consistency_through_the_drawn_member():
    fam, ops, A, x, y, f = setup()
    x1 = f(y, A)
    terms = MOILoss(weight=2.0, mc_weight=0.5)(LossInputs(y, A, f, x1, gen(3)))
    others = draw_other_operators(ops, 3, gen(3))
    assert bool((others != ops).all())
    mc = torch.stack([(fam[k](x1[b:b + 1]) - y[b:b + 1]).pow(2).mean() for b, k in enumerate(ops.tolist())]).mean()
    x3 = torch.cat([f(fam[j](x1[b:b + 1]), fam[j]) for b, j in enumerate(others.tolist())])
    assert torch.allclose(terms["moi_mc"], 0.5 * mc, rtol=1e-13, atol=0)
    assert torch.allclose(terms["moi"], 2.0 * (x3 - x1).pow(2).mean(), rtol=1e-13, atol=0)
    assert float(terms["moi"].detach()) > 1e-4  # another member's mask: a different reconstruction


def test_the_oracle_has_zero_loss_and_gradients_flow_to_the_model():
    fam, ops, A, x, y, f = setup()
    oracle = lambda yy, physics: x  # noqa: E731  (returns the true images whatever it is given)
    terms = MOILoss()(LossInputs(y, A, oracle, x, gen(0)))
    assert float(terms["moi_mc"]) == 0.0 and float(terms["moi"]) == 0.0
    x1 = f(y, A)
    sum(MOILoss()(LossInputs(y, A, f, x1, gen(0))).values()).backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in f.parameters())


def test_draws_come_from_the_generator_distinct_unless_asked_or_alone():
    ops = torch.arange(4).repeat(250)
    j = draw_other_operators(ops, 4, gen(1))
    assert bool((j != ops).all()) and torch.equal(j, draw_other_operators(ops, 4, gen(1)))
    counts = torch.bincount(j, minlength=4).double() / j.numel()
    assert float((counts - 0.25).abs().max()) < 0.05  # uniform over the others
    same = draw_other_operators(ops, 4, gen(1), distinct=False)
    assert 0.15 < float((same == ops).double().mean()) < 0.35
    assert torch.equal(draw_other_operators(torch.zeros(5, dtype=torch.long), 1, gen(0)), torch.zeros(5).long())


def test_noisy_remeasurement_uses_the_family_noise_with_the_clean_gradient():
    fam, ops, A, x, y, f = setup(GaussianNoise(0.2))
    x1 = f(y, A)
    inputs = LossInputs(y, A, f, x1, gen(2))
    clean, noisy = moi_term(inputs, ops, noisy=False), moi_term(LossInputs(y, A, f, x1, gen(2)), ops, noisy=True)
    assert float((clean - noisy).abs().max()) > 1e-3
    assert float(MOILoss(noise=True)(LossInputs(y, A, f, x1, gen(2)))["moi"].detach()) > 0


def test_registered_and_refused_without_an_operator_family():
    assert LOSSES.get("moi") is MOILoss
    A = Inpainting(8)
    y = A(torch.rand(2, 1, 8, 8))
    with pytest.raises(TypeError, match="needs each item's operator from an operator family"):
        MOILoss()(LossInputs(y, A, lambda yy, p: yy, y, gen(0)))
    with pytest.raises(TypeError, match="distinct must be a bool"):
        MOILoss(distinct=1)
    with pytest.raises(ValueError, match="mc_weight"):
        MOILoss(mc_weight=-1.0)
