"""Each loss trains a tiny reconstruction network to a better PSNR than its starting point (a few dozen Adam
steps, inline: the losses are used exactly as a trainer would use them)."""
import pytest
import torch

from equinet import physics as P
from equinet.data.phantoms import random_ellipses
from equinet.losses import (AdversarialEILoss, DALoss, EILoss, EISupLoss, LossInputs, LossSum, MCLoss, REILoss,
                            SupervisedLoss, SureGaussianLoss, SurePGLoss, SurePoissonLoss, total)
from equinet.metrics import psnr
from equinet.transforms import Rot90, Rotate, Shift

from .conftest import gen

SIZE = 16


class Tiny(torch.nn.Module):
    """f(y, A) = A^+ y + r(A^+ y), r a two-layer CNN (random init: the start is worse than A^+ y)."""

    def __init__(self, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.r = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                                     torch.nn.Conv2d(8, 1, 3, padding=1))

    def forward(self, y, physics):
        u = physics.pinv(y)
        return u + self.r(u)


def train(loss, physics, steps=40, lr=1e-2):
    x = random_ellipses(8, SIZE, seed=0)
    y = physics.measure(x, gen(1))  # measured once, as an acquisition would
    model = Tiny()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    adv_opt = None if loss.discriminator is None else torch.optim.Adam(loss.discriminator.parameters(), lr=1e-3)
    g = gen(2)
    with torch.no_grad():
        start = psnr(model(y, physics), x, data_range=1.0).mean()
    for _ in range(steps):
        x1 = model(y, physics)
        inputs = LossInputs(y, physics, model, x1, g, x if loss.needs_ground_truth else None)
        terms = loss(inputs)
        opt.zero_grad()
        total(terms).backward()
        opt.step()
        if adv_opt is not None:
            loss.adversary_step(inputs, adv_opt)
    with torch.no_grad():
        end = psnr(model(y, physics), x, data_range=1.0).mean()
    return float(start), float(end)


def inpainting(noise=None):
    return P.Inpainting(SIZE, drop=0.3, seed=0, noise=noise)


CASES = {
    "supervised": (lambda: SupervisedLoss(), inpainting),
    "mc": (lambda: MCLoss(), inpainting),
    "mc+ei": (lambda: LossSum([MCLoss(), EILoss(Shift(image_size=SIZE))]), inpainting),
    "ei_sup": (lambda: EISupLoss(Rot90()), inpainting),
    "ei_adv": (lambda: AdversarialEILoss(Shift(image_size=SIZE), weight_adv=0.01), inpainting),
    "da": (lambda: DALoss(Rotate(multiples=90)), inpainting),
    "sure_gaussian": (lambda: SureGaussianLoss(), lambda: inpainting(P.GaussianNoise(0.05))),
    "sure_poisson": (lambda: SurePoissonLoss(), lambda: inpainting(P.PoissonNoise(0.02))),
    "sure_pg": (lambda: SurePGLoss(), lambda: inpainting(P.PoissonGaussianNoise(0.02, 0.05))),
    "rei": (lambda: REILoss(Shift(image_size=SIZE)), lambda: inpainting(P.GaussianNoise(0.05))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_loss_trains_a_tiny_model(name):
    make_loss, make_physics = CASES[name]
    start, end = train(make_loss(), make_physics())
    assert end > start + 3.0, (start, end)
