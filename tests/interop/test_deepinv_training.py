"""equinet networks trained by either trainer, inside deepinv's solvers, and a deepinv user's script from the docs
(runs where deepinv imports: CI's deepinv stage)."""
import os
import re
import warnings

import numpy as np
import pytest
import torch

dinv = pytest.importorskip("deepinv", reason="deepinv is a reference extra (see docs/interop.md for the install)")

from equinet.data.phantoms import random_ellipses  # noqa: E402
from equinet.interop import (from_deepinv_dataset, to_deepinv, to_deepinv_dataset,  # noqa: E402
                             to_deepinv_denoiser, to_deepinv_model)
from equinet.losses import LossSum, MCLoss, SupervisedLoss  # noqa: E402
from equinet.nets import NetSpec, PinvReconstructor, build  # noqa: E402
from equinet.physics import GaussianNoise, Radon  # noqa: E402
from equinet.data import simulate_measurements  # noqa: E402
from equinet.training import Trainer  # noqa: E402

DT = torch.float64
DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "interop.md")


def c8_model(init="adjoint"):
    torch.manual_seed(0)
    net = build("dncnn", NetSpec("C8", width=1, depth=3, kernel_size=3))
    return PinvReconstructor(net, init=init).double()


def deepinv_train(model, physics, loader, losses, steps, lr, online):
    trainer = dinv.Trainer(model=model, physics=physics, optimizer=torch.optim.SGD(model.parameters(), lr=lr),
                           train_dataloader=loader, losses=losses, epochs=steps, online_measurements=online,
                           metrics=None, compute_train_metrics=False, save_path=None, verbose=False,
                           show_progress_bar=False, device="cpu", plot_images=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()


def assert_same_weights(a, b, atol):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=atol, msg=lambda m: f"{name}: {m}")
    assert any(float((p - q).abs().max()) > 0 for p, q in zip(a.parameters(), c8_model().parameters())), \
        "training did not move the weights"


def test_same_weights_through_either_trainer_deepinv_physics_offline():
    """deepinv physics and measurements, the same C8 network: equinet's Trainer (MC + supervised) and deepinv's
    Trainer (its MCLoss + SupLoss) from the same seed give the same weights after 3 full-batch SGD steps."""
    mask = (torch.rand(1, 12, 12, generator=torch.Generator().manual_seed(0)) > 0.3).to(DT)
    dp = dinv.physics.Inpainting(img_size=(1, 12, 12), mask=mask, noise_model=dinv.physics.GaussianNoise(0.05),
                                 rng=torch.Generator().manual_seed(1))
    x = random_ellipses(4, 12, seed=0).to(DT)
    y = dp(x)
    data = torch.utils.data.TensorDataset(x, y)  # a dataset of (x, y) pairs, as deepinv's generate_dataset gives
    ours, theirs = c8_model(), to_deepinv_model(c8_model())
    Trainer(ours, LossSum([MCLoss(), SupervisedLoss()]), dp, data, steps=3, batch_size=4,
            optimizer=lambda p: torch.optim.SGD(p, lr=0.5), identifiability=False).fit()
    deepinv_train(theirs, dp, torch.utils.data.DataLoader(data, batch_size=4, shuffle=False),
                  [dinv.loss.MCLoss(), dinv.loss.SupLoss()], steps=3, lr=0.5, online=False)
    assert_same_weights(ours, theirs.model, atol=1e-12)


def test_same_weights_through_either_trainer_equinet_physics_and_dataset():
    """equinet physics and measurement dataset handed to deepinv's trainer (to_deepinv, to_deepinv_dataset)."""
    op = Radon(12, angles=8, noise=GaussianNoise(0.02)).double()
    x = random_ellipses(4, 12, seed=1).to(DT)
    ds = simulate_measurements(op, x, seed=0, ground_truth=True)
    ours, theirs = c8_model("pinv"), to_deepinv_model(c8_model("pinv"))  # on the FBP
    Trainer(ours, LossSum([MCLoss(), SupervisedLoss()]), op, ds, steps=3, batch_size=4,
            optimizer=lambda p: torch.optim.SGD(p, lr=1e-3), identifiability=False).fit()
    deepinv_train(theirs, to_deepinv(op), torch.utils.data.DataLoader(to_deepinv_dataset(ds), batch_size=4),
                  [dinv.loss.MCLoss(), dinv.loss.SupLoss()], steps=3, lr=1e-3, online=False)
    assert max(float(p.abs().max()) for p in ours.parameters()) < 10  # a sane run, not a diverged one
    assert_same_weights(ours, theirs.model, atol=1e-12)


def test_deepinv_dataset_items_are_read_lazily_and_checked():
    x = torch.rand(3, 1, 4, 4)
    y = torch.rand(3, 1, 5)
    reads = []

    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            reads.append(i)
            return {"x": x[i], "y": y[i]}

    ds = from_deepinv_dataset(Items())
    assert ds.has_ground_truth and len(ds) == 3 and reads == [0]
    xb, yb = ds.batch(torch.tensor([2, 1]))
    assert torch.equal(xb, x[[2, 1]]) and torch.equal(yb, y[[2, 1]]) and reads == [0, 2, 1]
    unsup = from_deepinv_dataset(torch.utils.data.TensorDataset(torch.full((3, 1), float("nan")), y))
    assert not unsup.has_ground_truth and torch.equal(unsup.batch(torch.tensor([0]))[1], y[:1])
    images = from_deepinv_dataset(torch.utils.data.TensorDataset(x))
    assert torch.equal(images[1], x[1])
    with pytest.raises(ValueError, match="physics parameters"):
        from_deepinv_dataset([(x[0], y[0], {"mask": 1})])
    with pytest.raises(TypeError, match="tensor"):
        from_deepinv_dataset([(x[0], 3)])[0]


def test_equinet_network_inside_deepinv_pnp_solver():
    """A C8 network as the denoiser of deepinv's PnP-PGD on an equinet operator: the solver computes exactly
    x_{k+1} = D(x_k - tau A^T(A x_k - y)) from x_0 = A^T y, and the reconstruction commutes with 90-degree turns
    (equivariant denoiser, operator commuting with them: Radon with angles closed under 90-degree turns)."""
    torch.manual_seed(0)
    net = build("dncnn", NetSpec("C8", width=2, depth=3, kernel_size=3)).double()
    op = Radon(12, angles=8).double()
    tau = 1.0 / op.norm() ** 2
    solver = dinv.optim.PGD(data_fidelity=dinv.optim.L2(), prior=dinv.optim.PnP(to_deepinv_denoiser(net)),
                            stepsize=tau, g_param=0.05, max_iter=3, early_stop=False)
    x = random_ellipses(2, 12, seed=2).to(DT)
    y = op(x)
    with torch.no_grad():
        out = solver(y, to_deepinv(op))
        u = op.adjoint(y)
        for _ in range(3):
            u = net(u - tau * op.adjoint(op(u) - y))
        torch.testing.assert_close(out, u, rtol=1e-10, atol=1e-10)
        turned = solver(op(torch.rot90(x, 1, (-2, -1))), to_deepinv(op))
        torch.testing.assert_close(turned, torch.rot90(out, 1, (-2, -1)), rtol=1e-8, atol=1e-8)


def docs_script() -> str:
    text = open(DOCS).read()
    block = re.search(r"<!-- deepinv-user-script -->\s*```python\n(.*?)```", text, flags=re.S)
    assert block, "docs/interop.md lacks the deepinv user's script"
    return block.group(1)


def test_docs_deepinv_users_script_trains_a_c8_network_with_ei(tmp_path, monkeypatch):
    code = docs_script()
    added = code.split("# --- equinet")[1].strip().splitlines()
    assert len([l for l in added if l.strip() and not l.lstrip().startswith("#")]) <= 10
    monkeypatch.chdir(tmp_path)
    np.random.seed(0)
    scope = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "docs/interop.md", "exec"), scope)
    history, net = scope["history"], scope["net"]
    assert set(history.terms) == {"mc", "ei"}
    first, last = np.mean(history.loss[:3]), np.mean(history.loss[-3:])
    assert np.isfinite(history.loss).all() and last < first  # the EI + MC objective goes down
    assert net.net.in_type.group.order == 8


def test_equinet_network_trained_inside_deepinv_unrolled_solver():
    """deepinv's unfolded PGD (trainable step sizes) around a C8 denoiser, trained 2 steps by deepinv's Trainer on
    an equinet Radon operator: the denoiser's weights move, and the trained solver still commutes with 90-degree
    turns (equivariant network, operator commuting with them)."""
    torch.manual_seed(0)
    net = build("dncnn", NetSpec("C8", width=1, depth=3, kernel_size=3)).double()
    before = [p.detach().clone() for p in net.parameters()]
    op = Radon(12, angles=8).double()
    solver = dinv.optim.PGD(data_fidelity=dinv.optim.L2(), prior=dinv.optim.PnP(to_deepinv_denoiser(net)),
                            stepsize=1.0 / op.norm() ** 2, g_param=0.05, max_iter=2, unfold=True)
    x = random_ellipses(4, 12, seed=3).to(DT)
    data = torch.utils.data.TensorDataset(x, op(x))
    deepinv_train(solver, to_deepinv(op), torch.utils.data.DataLoader(data, batch_size=4), dinv.loss.SupLoss(),
                  steps=2, lr=1e-3, online=False)
    assert any(float((p - q).abs().max()) > 0 for p, q in zip(net.parameters(), before))
    with torch.no_grad():
        out = solver(op(x), to_deepinv(op))
        turned = solver(op(torch.rot90(x, 1, (-2, -1))), to_deepinv(op))
    torch.testing.assert_close(turned, torch.rot90(out, 1, (-2, -1)), rtol=1e-8, atol=1e-8)
