"""The TensorBoard log: every scalar of the run once per step, and a killed-and-resumed run's log equal to the
uninterrupted run's (the killed process's events after its checkpoint are purged)."""
import importlib.util

import pytest
import torch

from equinet.data import random_ellipses
from equinet.losses import MCLoss
from equinet.physics import GaussianNoise, Inpainting
from equinet.reconstructors import PinvReconstructor
from equinet.training import TrainConfig, Trainer

pytest.importorskip("tensorboard", reason="the optional 'tensorboard' package (equinet-imaging[tensorboard])")
from equinet.training.tensorboard import TensorBoardLog  # noqa: E402

IMAGES = random_ellipses(12, 12, seed=5)
PHYSICS = Inpainting(12, drop=0.3, seed=0, noise=GaussianNoise(0.01))
VAL = (IMAGES[:4], PHYSICS(IMAGES[:4]))


def _model():
    torch.manual_seed(0)
    return PinvReconstructor(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
                                                 torch.nn.Conv2d(4, 1, 3, padding=1)))


def _trainer(out, **kw):
    from equinet.data.measurements import PairedMeasurementDataset
    cfg = TrainConfig(steps=6, batch_size=4, seed=1, identifiability=False, plots=False, val_every=2,
                      checkpoint_every=2, data_range=1.0)
    return Trainer(_model(), MCLoss(), PHYSICS, IMAGES, cfg, out=out, validation=PairedMeasurementDataset(*VAL),
                   callbacks=[TensorBoardLog(out, every=1)], **kw)


def test_scalars_once_per_step_and_exact_after_a_kill(tmp_path):
    full = _trainer(str(tmp_path / "a"))
    h = full.fit()
    log = TensorBoardLog.read(str(tmp_path / "a" / "tensorboard"))
    assert [s for s, _ in log["train/loss"]] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in log["train/loss"]] == pytest.approx(h.loss, rel=1e-6)
    assert [v for _, v in log["train/lr"]] == pytest.approx(h.lr, rel=1e-6)
    assert [s for s, _ in log["val/psnr"]] == [0, 2, 4, 6]
    assert [v for _, v in log["val/psnr"]] == pytest.approx([v["psnr"] for v in h.validation], rel=1e-6)

    class Kill(Exception):
        pass

    def kill(step, loss):
        if step == 5:
            raise Kill
    with pytest.raises(Kill):
        _trainer(str(tmp_path / "b"), callback=kill).fit()
    resumed = _trainer(str(tmp_path / "b"))
    assert resumed.check_resume() == 4
    resumed.fit()
    log_b = TensorBoardLog.read(str(tmp_path / "b" / "tensorboard"))
    assert set(log_b) == set(log)
    for tag in log:
        assert [s for s, _ in log_b[tag]] == [s for s, _ in log[tag]], tag
        assert [v for _, v in log_b[tag]] == pytest.approx([v for _, v in log[tag]], rel=1e-6), tag


def test_the_missing_package_is_named(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_tensorboard(name, *a, **kw):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real(name, *a, **kw)
    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match=r"equinet-imaging\[tensorboard\]"):
        TensorBoardLog("out")
    assert importlib.util.find_spec("tensorboard") is not None


def test_the_config_switch_attaches_it_on_the_main_process(tmp_path):
    cfg = TrainConfig(steps=4, batch_size=4, seed=1, identifiability=False, plots=False, tensorboard=True,
                      log_every=2)
    t = Trainer(_model(), MCLoss(), PHYSICS, IMAGES, cfg, out=str(tmp_path))
    assert [cb.every for cb in t.callbacks if isinstance(cb, TensorBoardLog)] == [2]
    t.fit()
    assert [s for s, _ in TensorBoardLog.read(str(tmp_path / "tensorboard"))["train/loss"]] == [2, 4]
    assert not any(isinstance(cb, TensorBoardLog) for cb in
                   Trainer(_model(), MCLoss(), PHYSICS, IMAGES, cfg, out=None).callbacks)
