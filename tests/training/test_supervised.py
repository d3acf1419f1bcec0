import os

import pytest
import torch
from torch import nn

from equinet.data import random_ellipses
from equinet.physics import Blur, Denoising, GaussianNoise, gaussian_kernel
from equinet.training import fit_supervised
from equinet.unrolled import UnrolledPGD


class TinyProx(nn.Module):
    def __init__(self, width=6):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 1, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


def _problem(init_seed=0):
    physics = Blur(gaussian_kernel(1.2), image_size=16, noise=GaussianNoise(0.02))
    torch.manual_seed(init_seed)
    model = UnrolledPGD(physics, TinyProx(), n_iter=2, init="adjoint")
    return model, physics


def _weights(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


IMAGES = random_ellipses(12, 16, seed=1)


def test_loss_decreases_and_reconstruction_improves():
    model, physics = _problem()
    test = random_ellipses(8, 16, seed=99)
    y = physics.measure(test, torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = torch.mean((model(y, physics) - test) ** 2)
    hist = fit_supervised(model, physics, IMAGES, steps=80, batch_size=4, lr=3e-3, seed=0)
    assert hist.steps == 80 and len(hist.loss) == 80 and len(hist.lr) == 80
    first, last = sum(hist.loss[:8]) / 8, sum(hist.loss[-8:]) / 8
    assert last < 0.5 * first, (first, last)
    with torch.no_grad():
        after = torch.mean((model(y, physics) - test) ** 2)
    assert after < 0.7 * before  # generalises to held-out phantoms
    assert model.training  # the model's mode is restored


def test_same_seed_same_weights_and_different_seed_differs():
    runs = []
    for seed in (3, 3, 4):
        model, physics = _problem(init_seed=0)
        h = fit_supervised(model, physics, IMAGES, steps=6, batch_size=4, lr=1e-2, seed=seed, schedule="cosine")
        runs.append((_weights(model), h.loss))
    assert torch.equal(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not torch.equal(runs[0][0], runs[2][0])
    # the global RNG is left alone
    torch.manual_seed(123)
    a = torch.rand(3)
    torch.manual_seed(123)
    model, physics = _problem(init_seed=0)
    torch.manual_seed(123)
    fit_supervised(model, physics, IMAGES, steps=2, batch_size=4, seed=0)
    assert torch.equal(torch.rand(3), a)


class Interrupt(Exception):
    pass


def test_checkpoint_resume_equals_uninterrupted_run(tmp_path):
    kw = dict(steps=9, batch_size=5, lr=1e-2, seed=7, schedule="cosine", min_lr=1e-4)
    model, physics = _problem(init_seed=0)
    ref = fit_supervised(model, physics, IMAGES, **kw)
    ref_w = _weights(model)

    ckpt = str(tmp_path / "run" / "ckpt.pt")

    def stop_at_5(step, loss):
        if step == 5:
            raise Interrupt

    model, physics = _problem(init_seed=0)
    with pytest.raises(Interrupt):
        fit_supervised(model, physics, IMAGES, checkpoint=ckpt, checkpoint_every=2, callback=stop_at_5, **kw)
    assert os.path.exists(ckpt)
    assert not [f for f in os.listdir(tmp_path / "run") if f.startswith(".tmp")]  # atomic: no leftovers
    # resume into a model with *different* initial weights: everything must come from the checkpoint (step 4)
    model, physics = _problem(init_seed=1)
    hist = fit_supervised(model, physics, IMAGES, checkpoint=ckpt, checkpoint_every=2, **kw)
    assert hist.resumed_from == 4
    assert torch.equal(_weights(model), ref_w)
    assert hist.loss == ref.loss and hist.lr == ref.lr
    # a finished checkpoint returns its history without training
    model, physics = _problem(init_seed=2)
    again = fit_supervised(model, physics, IMAGES, checkpoint=ckpt, **kw)
    assert again.loss == ref.loss and torch.equal(_weights(model), ref_w)
    # another configuration is refused with a clear message
    with pytest.raises(ValueError, match="another configuration"):
        fit_supervised(model, physics, IMAGES, checkpoint=ckpt, **{**kw, "lr": 2e-2})


def test_epochs_visit_every_image_once_per_epoch():
    data = torch.arange(10, dtype=torch.float32).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    seen = []

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(()))

        def forward(self, y, physics):
            return self.w * torch.ones_like(y)

    def loss(u, x):
        seen.append(x[:, 0, 0, 0].long().tolist())
        return ((u - x) ** 2).mean()

    h = fit_supervised(Model(), Denoising(), data, loss=loss, epochs=2, batch_size=4, seed=0)
    assert h.steps == 6 and [len(b) for b in seen] == [4, 4, 2, 4, 4, 2]
    assert sorted(sum(seen[:3], [])) == list(range(10)) and sorted(sum(seen[3:], [])) == list(range(10))
    assert sum(seen[:3], []) != sum(seen[3:], [])  # reshuffled each epoch


def test_bad_arguments():
    model, physics = _problem()
    with pytest.raises(ValueError, match="exactly one"):
        fit_supervised(model, physics, IMAGES, steps=2, epochs=1)
    with pytest.raises(ValueError, match="exactly one"):
        fit_supervised(model, physics, IMAGES)
    with pytest.raises(ValueError, match="schedule"):
        fit_supervised(model, physics, IMAGES, steps=1, schedule="linear")
    with pytest.raises(ValueError, match="lr"):
        fit_supervised(model, physics, IMAGES, steps=1, lr=0)
    with pytest.raises(ValueError, match="images"):
        fit_supervised(model, physics, IMAGES[0], steps=1)
    with pytest.raises(ValueError, match="seed"):
        fit_supervised(model, physics, IMAGES, steps=1, seed=-1)
    with pytest.raises(TypeError, match="measure"):
        fit_supervised(model, object(), IMAGES, steps=1)
    with pytest.raises(FloatingPointError, match="non-finite"):
        fit_supervised(model, physics, IMAGES, steps=1, loss=lambda u, x: torch.tensor(float("nan")))
