"""Training until convergence: the plateau rule, the cool-down schedule, the trainer's stop_when, exact resume."""
import math

import pytest
import torch
from torch import nn

from equinet.data import random_ellipses, simulate_measurements
from equinet.losses import SupervisedLoss
from equinet.nets import PinvReconstructor
from equinet.physics import Blur, GaussianNoise, gaussian_kernel
from equinet.training import Trainer
from equinet.training.convergence import PlateauCooldown, PlateauRule, UntilConverged

IMAGES = random_ellipses(16, 12, seed=3)


def _model(seed=0):
    torch.manual_seed(seed)
    return PinvReconstructor(nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 1, 3, padding=1)))


def _physics():
    return Blur(gaussian_kernel(1.0), image_size=12, noise=GaussianNoise(0.02))


def test_plateau_rule_uses_the_best_so_far_over_the_last_window():
    rule = PlateauRule(tol_db=0.1, window=0.2, min_steps=100)
    rising = [(s, 20 + s / 50) for s in range(0, 501, 50)]
    assert not rule.holds(rising)
    assert rule.rise(rising) == pytest.approx(2.0)            # best(500) - best(400)
    flat = rising[:5] + [(s, 28.0 + 0.01 * (s % 100 == 0)) for s in range(250, 501, 50)]
    assert rule.holds(flat)
    noisy_dip = flat + [(550, 27.0)]                          # a dip does not undo the plateau: best so far
    assert rule.holds(noisy_dip)
    assert not rule.holds([(0, 20.0), (50, 28.0), (60, 28.0)])  # before min_steps
    assert not rule.holds([(100, 28.0)])                        # one point: no window


@pytest.mark.parametrize("bad", [dict(tol_db=0), dict(tol_db=math.inf), dict(window=1.0), dict(window=0),
                                 dict(min_steps=0), dict(tol_db=True)])
def test_plateau_rule_refuses_bad_settings(bad):
    with pytest.raises(ValueError, match="PlateauRule"):
        PlateauRule(**bad)


def test_cooldown_schedule_is_constant_then_a_half_cosine_to_zero():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    s = PlateauCooldown(opt)
    lrs = []
    for t in range(12):
        if t == 4:
            s.start_cooldown(4, 4)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    assert lrs[:5] == [0.5] * 5
    assert lrs[5:9] == pytest.approx([0.5 * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in (1, 2, 3, 4)])
    assert lrs[8:] == [0.0] * 4
    state = s.state_dict()
    assert state["cooldown_start"] == 4 and state["cooldown_steps"] == 4


def _run(out, steps=400, stop_at=None, tol_db=0.3, max_steps=None):
    physics = _physics()
    val = simulate_measurements(physics, random_ellipses(6, 12, seed=9), seed=1, ground_truth=True)
    data = simulate_measurements(physics, IMAGES, seed=0, ground_truth=True)
    holder = []

    def schedule(o, n):
        s = PlateauCooldown(o)
        holder.append(UntilConverged(PlateauRule(tol_db=tol_db, window=0.3, min_steps=20), s, cooldown=0.25,
                                     val_every=5, max_steps=max_steps))
        return s

    def cb(step, value):
        if step == stop_at:
            raise KeyboardInterrupt

    model = _model()
    t = Trainer(model, SupervisedLoss(), physics, data, steps=steps, batch_size=4, seed=2,
                optimizer=lambda p: torch.optim.Adam(p, lr=3e-2), scheduler=schedule, validation=val, val_every=5,
                checkpoint_every=5, out=out, plots=False, callback=cb, stop_when=lambda h: holder[0](h))
    return t.fit(), model, holder[0]


def test_training_stops_after_the_cooldown_and_a_killed_run_resumes_bitwise(tmp_path):
    h, model, until = _run(str(tmp_path / "a"))
    assert until.converged
    start, n = until.schedule.cooldown_start, until.schedule.cooldown_steps
    assert h.steps == start + n < 400 and n % 5 == 0 and n >= 0.25 * start
    curve = UntilConverged.curve(h)
    assert curve[-1][0] == h.steps
    assert until.rule.holds([p for p in curve if p[0] <= start])        # the rule held when the cool-down began
    assert not until.rule.holds([p for p in curve if p[0] < start])     # and not one evaluation earlier
    assert h.lr[start - 1] > 0 and h.lr[-1] < 0.01 * h.lr[0]          # constant, then decayed to ~0
    # killed in the middle of the cool-down, then resumed: the same steps, losses and weights
    kill = start + n // 2 + 2
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "b"), stop_at=kill)
    h2, model2, until2 = _run(str(tmp_path / "b"))
    assert h2.resumed_from is not None and h2.resumed_from < kill
    assert h2.loss == h.loss and h2.lr == h.lr and h2.validation == h.validation
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))
    # running a finished run again trains nothing
    h3, _, until3 = _run(str(tmp_path / "a"))
    assert h3.resumed_from == h.steps and h3.steps == h.steps and until3.converged


def test_stop_when_needs_a_validation_set():
    physics = _physics()
    with pytest.raises(ValueError, match="stop_when .* validation"):
        Trainer(_model(), SupervisedLoss(), physics, simulate_measurements(physics, IMAGES, ground_truth=True),
                steps=5, stop_when=lambda h: False)


def test_a_run_that_does_not_plateau_cools_down_into_its_cap():
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    until = UntilConverged(PlateauRule(tol_db=0.1, window=0.5, min_steps=100), PlateauCooldown(opt), cooldown=0.2,
                           val_every=50, max_steps=1000)

    class H:
        validation: list = []
    for s in range(0, 1001, 50):  # rising 1 dB per 100 steps: the rule never holds
        H.validation = H.validation + [{"step": s, "psnr": 20.0 + s / 100}]
        stop = until(H)
        if s < 800:
            assert until.schedule.cooldown_start is None, s  # a plateau at 800 would still cool down in time
    # at 800 a cool-down started one validation later (850 + 200) would end past the cap: it starts now
    assert (until.schedule.cooldown_start, until.schedule.cooldown_end) == (800, 1000)
    assert until.schedule.capped and not until.converged and stop


def test_a_capped_run_resumes_bitwise_mid_cooldown(tmp_path):
    h, model, until = _run(str(tmp_path / "a"), steps=60, tol_db=1e-12, max_steps=60)
    assert (until.schedule.cooldown_start, until.schedule.cooldown_end) == (45, 60)
    assert until.schedule.capped and not until.converged and h.steps == 60 and h.lr[-1] < 0.02 * h.lr[0] < h.lr[44]
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "b"), steps=60, stop_at=53, tol_db=1e-12, max_steps=60)
    h2, model2, until2 = _run(str(tmp_path / "b"), steps=60, tol_db=1e-12, max_steps=60)
    assert h2.resumed_from == 50 and h2.loss == h.loss and h2.lr == h.lr and h2.validation == h.validation
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))
    assert until2.schedule.capped and not until2.converged
