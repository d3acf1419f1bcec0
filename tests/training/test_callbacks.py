"""The open trainer: TrainConfig, the overridable step parts, the events, EMA of the weights and early stopping."""
import pytest
import torch

from equinet.data import random_ellipses, simulate_measurements
from equinet.losses import MCLoss, SupervisedLoss
from equinet.physics import GaussianNoise, Inpainting
from equinet.reconstructors import PinvReconstructor
from equinet.training import EMA, Callback, EarlyStopping, TrainConfig, Trainer

IMAGES = random_ellipses(12, 12, seed=5)
PHYSICS = Inpainting(12, drop=0.3, seed=0, noise=GaussianNoise(0.01))


def _model():
    torch.manual_seed(0)
    return PinvReconstructor(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                                 torch.nn.Conv2d(4, 1, 3, padding=1)))


def _config(**kw):
    return TrainConfig(**{**dict(steps=4, batch_size=4, micro_batches=2, seed=1, identifiability=False,
                                 plots=False), **kw})


class Record(Callback):
    """The events in order, and the weights after every optimizer step."""

    def __init__(self):
        self.events, self.weights = [], []

    def on_fit_start(self, trainer):
        self.events.append("start")

    def on_optimizer_step(self, trainer, step):
        self.events.append(("opt", step))
        self.weights.append({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})

    def on_evaluation(self, trainer, step, metrics):
        self.events.append(("eval", step))

    def on_checkpoint(self, trainer, step):
        self.events.append(("ckpt", step))

    def on_step(self, trainer, step, loss):
        self.events.append(("step", step))

    def on_fit_end(self, trainer):
        self.events.append("end")


def test_keywords_override_the_config_and_the_events_come_in_order(tmp_path):
    val = simulate_measurements(PHYSICS, random_ellipses(3, 12, seed=9), seed=2, ground_truth=True)
    rec = Record()
    t = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(steps=9), steps=2, val_every=1, validation=val,
                out=str(tmp_path), checkpoint_every=2, callbacks=[rec])
    assert t.config.steps == 2 and t.total == 2
    t.fit()
    assert rec.events == ["start", ("eval", 0), ("opt", 1), ("eval", 1), ("step", 1), ("opt", 2), ("eval", 2),
                          ("ckpt", 2), ("step", 2), "end"]


def test_the_step_parts_can_be_overridden():
    calls = {"get_batch": 0, "forward": 0, "compute_loss": 0, "optimize": 0}

    class Counting(Trainer):
        def get_batch(self, step, ids, generator):
            calls["get_batch"] += 1
            return super().get_batch(step, ids, generator)

        def forward(self, net, y):
            calls["forward"] += 1
            return super().forward(net, y)

        def compute_loss(self, inputs):
            calls["compute_loss"] += 1
            return {k: 2.0 * v for k, v in super().compute_loss(inputs).items()}

        def optimize(self, step):
            calls["optimize"] += 1
            super().optimize(step)

    h2 = Counting(_model(), MCLoss(), PHYSICS, IMAGES, _config()).fit()
    assert calls == {"get_batch": 8, "forward": 8, "compute_loss": 8, "optimize": 4}  # 4 steps x 2 micro-batches
    h1 = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(), optimizer=lambda p: torch.optim.SGD(p, lr=0.0)).fit()
    h2b = Counting(_model(), MCLoss(), PHYSICS, IMAGES, _config(),
                   optimizer=lambda p: torch.optim.SGD(p, lr=0.0)).fit()
    assert h2b.loss[0] == 2.0 * h1.loss[0] and len(h2.loss) == 4  # the doubled terms are what the run records


def test_ema_is_the_exponential_average_of_the_weights_and_resumes_exactly(tmp_path):
    rec = Record()
    t = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(ema=0.5), callbacks=[rec])
    w0 = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
    t.fit()
    ema = next(cb for cb in t.callbacks if isinstance(cb, EMA))
    for k in w0:
        expected = w0[k].clone()
        for w in rec.weights:
            expected.mul_(0.5).add_(w[k], alpha=0.5)
        assert torch.equal(ema.average[k], expected), k
    model = _model()
    ema.copy_to(model)
    assert torch.equal(model.net[0].weight, ema.average["net.0.weight"])

    class Kill(Exception):
        pass

    def kill(step, loss):
        if step == 3:
            raise Kill
    full = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(ema=0.5), out=str(tmp_path / "a"), checkpoint_every=2)
    full.fit()
    with pytest.raises(Kill):
        Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(ema=0.5), out=str(tmp_path / "b"), checkpoint_every=2,
                callback=kill).fit()
    resumed = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(ema=0.5), out=str(tmp_path / "b"),
                      checkpoint_every=2)
    assert resumed.check_resume() == 2
    resumed.fit()
    avg = lambda tr: next(cb for cb in tr.callbacks if isinstance(cb, EMA)).average  # noqa: E731
    assert all(torch.equal(avg(full)[k], avg(resumed)[k]) for k in avg(full))
    assert resumed.history.loss == full.history.loss


def test_the_validation_evaluates_the_ema_and_the_model_ends_with_it_without_changing_the_training():
    import copy
    val = simulate_measurements(PHYSICS, random_ellipses(3, 12, seed=9), seed=2, ground_truth=True)
    seen = []

    class Check(Callback):
        def on_evaluation(self, trainer, step, metrics):  # after the validation: the training weights are back
            ema = next(cb for cb in trainer.callbacks if isinstance(cb, EMA))
            averaged = copy.deepcopy(trainer.model)
            ema.copy_to(averaged)
            seen.append((metrics["psnr"], trainer.evaluate(averaged)["psnr"], trainer.evaluate()["psnr"]))

    rec = Record()
    t = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(ema=0.5, val_every=1), validation=val,
                callbacks=[rec, Check()])
    t.fit()
    assert len(seen) == 5 and all(m == a for m, a, _ in seen)     # the validation PSNR is the average's ...
    assert any(m != raw for m, _, raw in seen[1:])                  # ... not the training weights'
    ema = next(cb for cb in t.callbacks if isinstance(cb, EMA))
    assert all(torch.equal(t.model.state_dict()[k], ema.average[k]) for k in ema.average)  # kept at the end
    plain = Record()
    h = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(val_every=1), validation=val, callbacks=[plain]).fit()
    assert h.loss == t.history.loss                                 # the swaps do not touch the training
    assert all(torch.equal(a[k], b[k]) for a, b in zip(rec.weights, plain.weights) for k in a)
    kept = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(), callbacks=[EMA(0.5, apply_at_end=False)])
    kept.fit()
    assert torch.equal(kept.model.state_dict()["net.0.weight"], plain.weights[-1]["net.0.weight"])


def test_early_stopping_stops_after_patience_evaluations_without_progress(tmp_path):
    val = simulate_measurements(PHYSICS, random_ellipses(3, 12, seed=9), seed=2, ground_truth=True)
    frozen = lambda p: torch.optim.SGD(p, lr=0.0)  # noqa: E731  (the PSNR never improves)
    cfg = _config(steps=20, val_every=1, early_stopping=3, checkpoint_every=100)
    t = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, cfg, validation=val, optimizer=frozen, out=str(tmp_path))
    h = t.fit()
    assert h.steps == 3 and [v["step"] for v in h.validation] == [0, 1, 2, 3]
    stopper = next(cb for cb in t.callbacks if isinstance(cb, EarlyStopping))
    assert stopper.stopped_at == 3
    again = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, cfg, validation=val, optimizer=frozen, out=str(tmp_path))
    assert again.check_resume() == 3 and again.fit().steps == 3  # a stopped run stays stopped when resumed
    learning = Trainer(_model(), SupervisedLoss(), PHYSICS, IMAGES, _config(steps=6, val_every=1, early_stopping=3,
                                                                           lr=1e-2), validation=val)
    assert learning.fit().steps == 6  # improving every validation: never stopped
    with pytest.raises(ValueError, match="EarlyStopping needs validation data"):
        Trainer(_model(), MCLoss(), PHYSICS, IMAGES, _config(early_stopping=2)).fit()


def test_train_config_validates_once_with_named_fields():
    with pytest.raises(ValueError, match="exactly one of steps or epochs"):
        TrainConfig()
    with pytest.raises(ValueError, match="ema must be None or a decay in"):
        TrainConfig(steps=1, ema=1.0)
    with pytest.raises(ValueError, match="early_stopping must be a positive int"):
        TrainConfig(steps=1, early_stopping=0)
    with pytest.raises(ValueError, match="optimizer = 'lbfgs' is unknown"):
        TrainConfig(steps=1, optimizer="lbfgs")
    assert TrainConfig(epochs=3, batch_size=5).total_steps(12) == 9
    with pytest.raises(ValueError, match="last batch of an epoch has 2"):
        TrainConfig(epochs=1, batch_size=5, micro_batches=3).batch_plan(12)
