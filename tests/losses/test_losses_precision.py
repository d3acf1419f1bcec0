"""The precision rule of the losses: float16/bfloat16 measurements and reconstructions are promoted to float32, the
terms are float32 scalars equal to those of the promoted inputs, and the losses train under bfloat16 autocast."""
import pytest
import torch

from equinet import losses as L
from equinet import physics as P
from equinet.data.phantoms import random_ellipses
from equinet.transforms import Rot90, Rotate

from .conftest import gen


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, y, physics):
        u = physics.pinv(y)
        return u + self.conv(u.float()).to(u.dtype)  # float32 weights, any input dtype


LOSSES = [lambda: L.MCLoss(), lambda: L.EILoss(Rot90()), lambda: L.EILoss(Rotate(), noise=True),
          lambda: L.SureGaussianLoss(), lambda: L.REILoss(Rot90()), lambda: L.SupervisedLoss()]


@pytest.mark.parametrize("make", LOSSES, ids=["mc", "ei", "ei_noisy", "sure", "rei", "sup"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_reduced_precision_inputs_give_float32_terms(make, dtype):
    op = P.Radon(12, angles=6, noise=P.GaussianNoise(0.05))
    x = random_ellipses(2, 12, seed=0)
    f, loss = Net(), make()
    y = op.measure(x, gen(1)).to(dtype)
    x1 = f(y, op)
    assert x1.dtype == dtype
    low = loss(L.LossInputs(y, op, f, x1, gen(2), x.to(dtype)))
    ref = loss(L.LossInputs(y.float(), op, f, x1.float(), gen(2), x.to(dtype).float()))
    for k, v in low.items():
        assert v.dtype == torch.float32 and torch.equal(v, ref[k]), k
    L.total(low).backward()
    assert all(torch.isfinite(p.grad).all() for p in f.parameters())


def test_losses_under_bf16_autocast_are_float32_and_close_to_float32():
    op = P.Radon(12, angles=6, noise=P.GaussianNoise(0.05))
    x = random_ellipses(2, 12, seed=0)
    y = op.measure(x, gen(1))
    f, loss = Net(), L.LossSum([L.MCLoss(), L.EILoss(Rot90())])
    ref = loss(L.LossInputs(y, op, f, f(y, op), gen(2)))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        x1 = f(y, op)
        out = loss(L.LossInputs(y, op, f, x1, gen(2)))
        assert f.conv(x1).dtype == torch.bfloat16  # the network does run in bfloat16
    for k, v in out.items():
        assert v.dtype == torch.float32 and float(v.detach()) == pytest.approx(float(ref[k].detach()), rel=0.05), k
