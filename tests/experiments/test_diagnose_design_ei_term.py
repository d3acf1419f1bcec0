"""The EI-residual diagnostic of design-plus-learning runs (experiments/diagnose_design_ei_term.py)."""
import importlib.util
import json
import os

import pytest
import torch

from equinet.experiments.reproduce.design_plus_learning import DesignLearningConfig, run_design_plus_learning
from equinet.losses import EILoss
from equinet.losses.base import LossInputs
from equinet.physics import Denoising, Inpainting
from equinet.transforms import Rot90, Rotate

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "experiments", "diagnose_design_ei_term.py")


def _script():
    spec = importlib.util.spec_from_file_location("diagnose_design_ei_term", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_residual_is_zero_for_an_equivariant_system_and_not_otherwise():
    d = _script()
    y = torch.rand(3, 1, 8, 8)
    ident = lambda y, physics: y  # noqa: E731
    assert d.ei_residual(ident, Denoising(), y, Rot90(), rotations=4) == 0.0
    ramp = torch.linspace(0.5, 1.5, 8).view(1, 1, 1, 8)
    tilted = lambda y, physics: y * ramp  # noqa: E731   not equivariant to quarter turns
    assert d.ei_residual(tilted, Denoising(), y, Rot90(), rotations=4) > 1e-3


def test_the_residual_is_the_ei_loss_relative_to_the_transformed_energy():
    d = _script()
    physics = Inpainting(8, drop=0.3, seed=0)
    y = physics(torch.rand(2, 1, 8, 8))
    model = lambda y, physics: physics.adjoint(y) * 0.9 + 0.05  # noqa: E731
    transform = Rotate(multiples=1.0)
    res = d.ei_residual(model, physics, y, transform, rotations=1, seed=3)
    x1 = model(y, physics)
    gen = torch.Generator().manual_seed(3)
    loss = EILoss(transform)(LossInputs(y=y, physics=physics, model=model, x1=x1, generator=gen))["ei"]
    gen = torch.Generator().manual_seed(3)
    x2 = transform.apply(x1, transform.sample(2, gen))
    assert res == pytest.approx(float(loss) * x2.numel() / float((x2 ** 2).sum()), rel=1e-5)


def test_the_command_scores_every_finished_run_of_a_folder(tmp_path, capsys):
    d = _script()
    cfg = DesignLearningConfig.converged(image_size=16, train_sizes=(2,), n_test=2, n_val=2, n_iter=1, width=3,
                                         depth=2, steps=6, val_every=3, min_steps=3, batch_size=2, problems=("ct",),
                                         ct_views=8, methods=("mc",))
    run_design_plus_learning(cfg, str(tmp_path / "run"), progress=False, results=str(tmp_path / "r.json"))
    out = str(tmp_path / "d.json")
    assert d.main(["--runs", str(tmp_path / "run"), "--rotations", "2", "--out", out]) == 0
    rows = json.loads(open(out).read())["rows"]
    assert {(r["prox"], r["method"], r["size"]) for r in rows} == {("cnn", "mc", 2), ("c8", "mc", 2)}
    assert all(r["step"] == 6 and r["ei_residual"] > 0 and r["psnr"] > 0 for r in rows)
    from equinet.utils.cli import run_command
    assert run_command(d.main, ["--runs", str(tmp_path)], prog="diagnose") == 2
    assert "no runs/ folder" in capsys.readouterr().err
    os.remove(tmp_path / "run" / "table.json")     # settings unknown: the preset's networks do not fit its checkpoints
    assert run_command(d.main, ["--runs", str(tmp_path / "run"), "--out", out], prog="diagnose") == 2
    err = capsys.readouterr().err                  # one line, no traceback (the equivariant layers refuse it first)
    assert err.startswith("diagnose: error:") and err.count("\n") == 1 and "Traceback" not in err
