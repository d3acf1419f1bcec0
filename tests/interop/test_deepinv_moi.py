"""The multi-operator loss against deepinv 0.5's ``MOILoss`` and ``MCLoss`` on identical inputs (runs where deepinv
imports: CI's deepinv stage; skipped with the reason otherwise).

deepinv draws one member ``j`` for the whole batch from its ``rng``; equinet draws one per item from the step's
generator. With the same ``j`` for every item (read from the same seeded ``rng``), the same reconstruction ``x̂``
and the same network, the cross-operator terms agree, for deepinv's own inpainting operators and for equinet's
MRI members seen through `equinet.interop.to_deepinv`; the MC term equals deepinv's MC with each item's operator.
"""
import warnings

import pytest
import torch

dinv = pytest.importorskip("deepinv", reason="deepinv is a reference extra (see docs/interop.md for the install)")

from equinet.data.phantoms import random_ellipses  # noqa: E402
from equinet.interop import to_deepinv  # noqa: E402
from equinet.losses import LossInputs, MOILoss  # noqa: E402
from equinet.losses.moi import draw_other_operators, moi_term  # noqa: E402
from equinet.physics import inpainting_family, mri_family, real_to_channels  # noqa: E402

DT = torch.float64
warnings.filterwarnings("ignore", module="deepinv")


def gen(seed):
    return torch.Generator().manual_seed(seed)


class Net(torch.nn.Module):
    """f(y, A) = u + r(u), u = A^T y, with the operator it is given (either library's)."""

    def __init__(self, channels):
        super().__init__()
        torch.manual_seed(0)
        self.r = torch.nn.Sequential(torch.nn.Conv2d(channels, 4, 3, padding=1), torch.nn.Tanh(),
                                     torch.nn.Conv2d(4, channels, 3, padding=1)).double()

    def forward(self, y, physics):
        u = physics.A_adjoint(y) if hasattr(physics, "A_adjoint") else physics.adjoint(y)
        return u + self.r(u)


def _setup(kind):
    if kind == "inpainting":
        fam = inpainting_family(10, 4, drop=0.5, seed=3)
        x = random_ellipses(6, 10, seed=0).to(DT)
        theirs = [dinv.physics.Inpainting(img_size=(1, 10, 10), mask=m.mask.to(DT)[None]) for m in fam]
    else:
        fam = mri_family(10, 4, acceleration=3.0, seed=3)
        x = real_to_channels(random_ellipses(6, 10, seed=0).to(DT))
        theirs = [to_deepinv(m) for m in fam]
    ops = torch.tensor([0, 1, 2, 3, 1, 0])
    A = fam.select(ops)
    y = A(x)
    f = Net(x.shape[1])
    return fam, theirs, ops, A, y, f, f(y, A)


@pytest.mark.parametrize("kind", ["inpainting", "mri"])
@pytest.mark.parametrize("seed", [0, 1, 3, 5])  # deepinv draws j = 0, 1, 2, 3
def test_cross_operator_term_equals_deepinv_moi(kind, seed):
    fam, theirs, ops, A, y, f, x1 = _setup(kind)
    x1 = x1.detach()
    j = int(torch.randint(0, len(fam), (1,), generator=gen(seed)))  # the member deepinv's rng draws
    loss = dinv.loss.MOILoss(physics=theirs, apply_noise=False, weight=1.5, rng=gen(seed))
    with torch.no_grad():
        expected = loss(x_net=x1, physics=theirs[0], model=f)
        x3 = moi_term(LossInputs(y, A, f, x1, gen(0)), torch.full((6,), j), noisy=False)
    ours = 1.5 * (x3 - x1).pow(2).mean()
    assert float(expected) > 1e-6
    torch.testing.assert_close(ours, expected, rtol=1e-6, atol=0)
    assert abs(float(ours) - float(expected)) <= 1e-12 * float(expected)  # float64: round-off only


@pytest.mark.parametrize("kind", ["inpainting", "mri"])
def test_mc_term_equals_deepinv_mc_with_each_items_operator(kind):
    fam, theirs, ops, A, y, f, x1 = _setup(kind)
    x1 = x1.detach() + 0.01  # not measurement consistent: a non-zero MC term
    terms = MOILoss(mc_weight=0.7)(LossInputs(y, A, f, x1, gen(1)))
    expected = 0.7 * dinv.loss.MCLoss()(y=y, x_net=x1, physics=to_deepinv(A))
    assert float(expected) > 1e-6
    torch.testing.assert_close(terms["moi_mc"], expected, rtol=1e-12, atol=0)
    others = draw_other_operators(ops, len(fam), gen(1))  # the loss's own draw: per item, never the own member
    assert bool((others != ops).all()) and float(terms["moi"].detach()) > 0
