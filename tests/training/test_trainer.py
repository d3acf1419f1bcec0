"""The trainer with the losses of this file (any Loss works): learning, ground-truth hiding, exact resume with an
adversary, micro-batches, outputs, and clear errors."""
import math
import os

import pytest
import torch
from torch import nn

from equinet.data import MeasurementDataset, random_ellipses, simulate_measurements
from equinet.losses import Loss
from equinet.metrics import psnr
from equinet.nets import PinvReconstructor
from equinet.physics import Blur, GaussianNoise, Inpainting, gaussian_kernel
from equinet.training import CosineSchedule, Trainer, read_csv

IMAGES = random_ellipses(20, 12, seed=3)


class MSE(Loss):
    """Supervised: needs the ground truth."""
    name = "mse"
    needs_ground_truth = True

    def terms(self, inputs):
        assert inputs.x is not None
        return {"mse": torch.mean((inputs.x1 - inputs.x) ** 2)}


class MCLike(Loss):
    """Unsupervised: measurement consistency plus a small random-shift consistency (uses the step generator)."""
    name = "mc"

    def terms(self, inputs):
        assert inputs.x is None, "an unsupervised loss received the ground truth"
        s = int(torch.randint(-2, 3, (1,), generator=inputs.generator))
        x2 = torch.roll(inputs.x1, s, dims=-1)
        x3 = inputs.model(inputs.physics(x2), inputs.physics)
        return {"mc": torch.mean((inputs.physics(inputs.x1) - inputs.y) ** 2),
                "shift": 0.1 * torch.mean((x3 - x2) ** 2)}


class WithAdversary(MCLike):
    """MC-like terms plus a critic on x1 with its own optimizer (exercises the adversary hooks)."""
    name = "adv"

    def __init__(self):
        super().__init__()
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(144, 1))

    def terms(self, inputs):
        out = super().terms(inputs)
        out["g"] = 0.01 * (self.discriminator(inputs.x1) - 1).pow(2).mean()
        return out

    def adversary_step(self, inputs, optimizer):
        x1 = inputs.x1.detach()
        fake = x1 + 0.1 * torch.randn(x1.shape, generator=inputs.generator)
        optimizer.zero_grad(set_to_none=True)
        loss = (self.discriminator(x1) - 1).pow(2).mean() + self.discriminator(fake).pow(2).mean()
        loss.backward()
        optimizer.step()
        return {"d": float(loss.detach())}


def _model(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 1, 3, padding=1))
    return PinvReconstructor(net, residual=True, init="pinv")


def _blur():
    return Blur(gaussian_kernel(1.0), image_size=12, noise=GaussianNoise(0.02))


def _weights(*modules):
    return torch.cat([p.detach().reshape(-1) for m in modules for p in m.parameters()])


def test_supervised_training_improves_validation_psnr_and_writes_outputs(tmp_path):
    physics = _blur()
    val = simulate_measurements(physics, random_ellipses(8, 12, seed=9), seed=1, ground_truth=True)
    model = _model()
    t = Trainer(model, MSE(), physics, IMAGES, steps=30, batch_size=5,
                optimizer=lambda p: torch.optim.Adam(p, lr=3e-3), validation=val, val_every=15,
                out=str(tmp_path / "run"), checkpoint_every=15, seed=0)
    h = t.fit()
    assert [v["step"] for v in h.validation] == [0, 15, 30]
    assert h.validation[-1]["psnr"] > h.validation[0]["psnr"] + 1.0
    rows = read_csv(str(tmp_path / "run" / "log.csv"))
    assert [float(r["loss"]) for r in rows[1:]] == h.loss and float(rows[0]["val_psnr"]) == h.validation[0]["psnr"]
    assert os.path.getsize(tmp_path / "run" / "curves.png") > 0
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["step"] == 30


def test_validation_psnr_of_identity_backbone_equals_first_estimate():
    physics = _blur()
    val = simulate_measurements(physics, random_ellipses(4, 12, seed=9), seed=1, ground_truth=True)
    model = _model()
    for p in model.net.parameters():
        nn.init.zeros_(p)
    t = Trainer(model, MSE(), physics, IMAGES, steps=1, batch_size=4, validation=val)
    x, y = val.batch(torch.arange(4))
    assert t.evaluate()["psnr"] == pytest.approx(float(psnr(physics.pinv(y), x).double().mean()), rel=1e-12)


def test_ground_truth_is_hidden_from_unsupervised_losses_even_with_paired_data():
    physics = _blur()
    paired = simulate_measurements(physics, IMAGES, seed=0, ground_truth=True)
    Trainer(_model(), MCLike(), physics, paired, steps=2, batch_size=4).fit()  # MCLike asserts x is None
    Trainer(_model(), MSE(), physics, paired, steps=2, batch_size=4).fit()  # MSE asserts x is given


def test_ground_truth_loss_on_measurement_only_data_is_refused():
    physics = _blur()
    ys = simulate_measurements(physics, IMAGES, seed=0)
    assert isinstance(ys, MeasurementDataset) and not ys.has_ground_truth
    with pytest.raises(ValueError, match="needs ground-truth images.*measurements only"):
        Trainer(_model(), MSE(), physics, ys, steps=1)


def _adv_run(tmp, steps, stop=None, micro_batches=2):
    physics = Inpainting(12, drop=0.3, seed=1, noise=GaussianNoise(0.01))
    data = simulate_measurements(physics, IMAGES, seed=5)
    model, loss = _model(), WithAdversary()
    torch.manual_seed(1)
    nn.init.normal_(loss.discriminator[1].weight, std=0.1)

    def cb(step, value):
        if step == stop:
            raise KeyboardInterrupt

    t = Trainer(model, loss, physics, data, steps=steps, batch_size=6, micro_batches=micro_batches, seed=4,
                optimizer=lambda p: torch.optim.Adam(p, lr=2e-3),
                scheduler=lambda o, total: CosineSchedule(o, total, 1e-4),
                adversary_optimizer=lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
                out=tmp, checkpoint_every=3, callback=cb, plots=False)
    return t.fit(), model, loss


@pytest.mark.parametrize("micro_batches", [1, 2])
def test_interrupted_and_resumed_run_is_bitwise_the_uninterrupted_one(tmp_path, micro_batches):
    ref, m_ref, l_ref = _adv_run(str(tmp_path / "a"), 8, micro_batches=micro_batches)
    assert set(ref.terms) == {"mc", "shift", "g", "d"} and all(math.isfinite(v) for v in ref.loss)
    with pytest.raises(KeyboardInterrupt):
        _adv_run(str(tmp_path / "b"), 8, stop=5, micro_batches=micro_batches)  # killed after step 5, checkpoint at 3
    h, m, l = _adv_run(str(tmp_path / "b"), 8, micro_batches=micro_batches)
    assert h.resumed_from == 3
    assert h.loss == ref.loss and h.terms == ref.terms and h.lr == ref.lr
    assert torch.equal(_weights(m, l), _weights(m_ref, l_ref))
    assert read_csv(str(tmp_path / "b" / "log.csv")) == read_csv(str(tmp_path / "a" / "log.csv"))


def test_micro_batches_change_the_random_streams_not_the_objective():
    """With a deterministic loss, M slices give the gradient of the whole batch (up to rounding)."""
    physics = _blur()
    data = simulate_measurements(physics, IMAGES, seed=0, ground_truth=True)
    runs = []
    for m in (1, 2, 4):
        model = _model()
        h = Trainer(model, MSE(), physics, data, steps=3, batch_size=8, micro_batches=m,
                    optimizer=lambda p: torch.optim.SGD(p, lr=0.1)).fit()
        runs.append((h.loss, _weights(model)))
    for loss, w in runs[1:]:
        assert loss == pytest.approx(runs[0][0], rel=1e-5)
        assert torch.allclose(w, runs[0][1], rtol=0, atol=1e-6)


def test_callers_random_state_is_untouched():
    model, physics = _model(), _blur()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Trainer(model, MCLike(), physics, IMAGES, steps=2, batch_size=4).fit()
    assert torch.equal(torch.rand(3), expected)


def test_bad_arguments_and_outputs(tmp_path):
    physics = _blur()
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        Trainer(_model(), MSE(), physics, IMAGES, steps=1, out=str(f))
    with pytest.raises(ValueError, match="micro_batches"):
        Trainer(_model(), MSE(), physics, IMAGES, steps=1, batch_size=4, micro_batches=5)
    with pytest.raises(ValueError, match="last batch"):
        Trainer(_model(), MSE(), physics, IMAGES, epochs=1, batch_size=8, micro_batches=5)  # 20 = 8 + 8 + 4
    with pytest.raises(TypeError, match="equinet.losses.Loss"):
        Trainer(_model(), lambda i: {}, physics, IMAGES, steps=1)
    with pytest.raises(TypeError, match="PairedMeasurementDataset"):
        Trainer(_model(), MSE(), physics, IMAGES, steps=1, validation=IMAGES)
    bad = nn.Module()
    bad.w = nn.Parameter(torch.zeros(1))
    bad.forward = lambda y, physics: y[..., :5]
    with pytest.raises(ValueError, match="returns shape"):
        Trainer(bad, MSE(), physics, IMAGES, steps=1).fit()
    out = str(tmp_path / "run")
    Trainer(_model(), MSE(), physics, IMAGES, steps=2, batch_size=4, out=out).fit()
    with pytest.raises(ValueError, match="another configuration"):
        Trainer(_model(), MSE(), physics, IMAGES, steps=2, batch_size=5, out=out).fit()


def test_adversary_optimizer_steps_once_on_the_share_weighted_gradient():
    from equinet.training.distributed import AveragingOptimizer, Context
    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = AveragingOptimizer(torch.optim.SGD([p], lr=0.5), Context())
    assert isinstance(opt, torch.optim.Optimizer)
    for share, c in ((0.25, 3.0), (0.75, 1.0)):  # what adversary_step does once per slice
        opt.weight = share
        opt.zero_grad()
        (c * p.pow(2).sum()).backward()
        opt.step()
        assert torch.equal(p.detach(), torch.tensor([1.0, -2.0]))  # nothing moves before apply()
    opt.apply()
    grad = (0.25 * 3.0 + 0.75 * 1.0) * 2 * torch.tensor([1.0, -2.0])
    assert torch.equal(p.detach(), torch.tensor([1.0, -2.0]) - 0.5 * grad)


def test_a_resume_refuses_a_loss_with_other_settings(tmp_path):
    """The checkpoint's fingerprint holds the loss's settings, not only its class: a resume after changing a loss
    weight or SURE's step (same class) is refused, and an identical loss resumes."""
    from equinet.losses import LossSum, MCLoss, SupervisedLoss
    physics = Inpainting(12, drop=0.3, seed=0)
    out = str(tmp_path / "run")

    def make(weight, steps):
        return Trainer(_model(), LossSum([SupervisedLoss(), MCLoss(weight=weight)]), physics, IMAGES, steps=steps,
                       batch_size=4, out=out, progress=False, identifiability=False, plots=False)

    make(0.5, 2).fit()
    with pytest.raises(ValueError, match=r"another configuration .*loss_settings"):
        make(0.25, 2).check_resume()
    assert make(0.5, 2).check_resume() == 2


def test_weights_that_become_non_finite_stop_the_run_naming_the_step(tmp_path):
    """lr = inf passes an optimizer's own checks; the first update makes the weights NaN/inf, and the run stops
    there in one message (step, learning rate) with the last checkpoint (step 0: none yet) left whole."""
    physics = _blur()
    ys = simulate_measurements(physics, IMAGES, seed=0, ground_truth=True)
    trainer = Trainer(_model(), MSE(), physics, ys, steps=3, batch_size=4,
                      optimizer=lambda p: torch.optim.SGD(p, lr=float("inf")), out=str(tmp_path))
    with pytest.raises(FloatingPointError, match=r"weights became NaN or inf at step 1 \(learning rate inf"):
        trainer.fit()
    assert not (tmp_path / "checkpoint.pt").exists()


def test_check_runs_the_first_steps_checks_without_changing_anything():
    physics = _blur()
    ys = simulate_measurements(physics, IMAGES, seed=0, ground_truth=True)
    model = _model()
    before, rng = _weights(model).clone(), torch.get_rng_state()
    trainer = Trainer(model, MSE(), physics, ys, steps=1, batch_size=4)
    trainer.check()
    assert torch.equal(_weights(model), before) and torch.equal(torch.get_rng_state(), rng)

    class Diverged(MSE):
        def forward(self, inputs):
            return {"mse": super().forward(inputs)["mse"] * float("inf")}

    with pytest.raises(ValueError, match="loss is not finite on the first batch"):
        Trainer(_model(), Diverged(), physics, ys, steps=1, batch_size=4).check()
