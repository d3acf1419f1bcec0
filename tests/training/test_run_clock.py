"""A run's wall and CPU time are summed across resumes: the checkpoint keeps the time spent so far and the resumed
process adds its own (what the converged results report as wall time and core-hours)."""
import pytest
import torch

from equinet.data import random_ellipses
from equinet.losses import MCLoss
from equinet.physics import GaussianNoise, Inpainting
from equinet.reconstructors import PinvReconstructor
from equinet.training import TrainConfig, Trainer
from equinet.training.checkpoint import load_checkpoint
from equinet.training.log import History, RunClock

IMAGES = random_ellipses(8, 12, seed=5)
PHYSICS = Inpainting(12, drop=0.3, seed=0, noise=GaussianNoise(0.01))


def _trainer(out, **kw):
    torch.manual_seed(0)
    model = PinvReconstructor(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                                  torch.nn.Conv2d(4, 1, 3, padding=1)))
    cfg = TrainConfig(steps=6, batch_size=4, seed=1, identifiability=False, plots=False, checkpoint_every=2)
    return Trainer(model, MCLoss(), PHYSICS, IMAGES, cfg, out=out, **kw)


def test_the_clock_adds_this_process_to_what_the_history_held():
    h = History(seconds=100.0, cpu_seconds=50.0)
    clock = RunClock(h)
    sum(i * i for i in range(200000))  # some CPU work
    clock.stamp(h)
    assert 100.0 < h.seconds < 200.0 and 50.0 < h.cpu_seconds < 150.0
    assert History.from_state(h.state()).seconds == h.seconds
    assert History.from_state({"loss": [], "lr": []}).cpu_seconds == 0.0  # a checkpoint written before the clock


def test_time_is_summed_across_a_resume(tmp_path):
    def kill(step, loss):
        if step == 5:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        _trainer(str(tmp_path), callback=kill).fit()
    saved = load_checkpoint(str(tmp_path / "checkpoint.pt"))["history"]
    assert saved["seconds"] > 0 and saved["cpu_seconds"] > 0
    h = _trainer(str(tmp_path)).fit()
    assert h.resumed_from == 4 and h.steps == 6
    assert h.seconds > saved["seconds"] and h.cpu_seconds > saved["cpu_seconds"]
