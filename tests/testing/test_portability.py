"""A saved model computes the same function in fresh processes with other BLAS core types and thread counts
(issue 7): bases agree to <= 1e-10, outputs to <= 1e-5 relative. Also a checkpoint written by the trainer."""
import os
import subprocess
import sys

import pytest
import torch

from equinet.testing import portability

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# OpenBLAS kernels of different instruction sets (SSE3 'Prescott', AVX 'SandyBridge', AVX2 'Haswell') and thread
# counts: each rounds differently, which rotated the old SVD-based basis by O(1)
SETTINGS = [{"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1"},
            {"OPENBLAS_CORETYPE": "SandyBridge", "OPENBLAS_NUM_THREADS": "2"},
            {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "2"}]


def _run(args, extra_env):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra_env)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("portability") / "snapshot.pt")
    snap = portability.save(path)
    return path, snap


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: "-".join(s.values()))
def test_saved_models_agree_across_blas_settings(snapshot, setting):
    path, _ = snapshot
    res = _run(["-m", "equinet.testing.portability", "compare", path], setting)
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [line.split() for line in res.stdout.splitlines() if line.split()[:1] in (["C8"], ["D4"], ["C16"])]
    assert [r[0] for r in rows] == ["C8", "D4", "C16"]
    for case, dbasis, dout in rows:
        assert float(dbasis) <= 1e-10 and float(dout) <= 1e-5, (case, dbasis, dout)


def test_compare_in_process_and_detects_a_changed_output(snapshot, tmp_path):
    path, snap = snapshot
    rows = portability.compare(path)
    assert all(r["basis_max_diff"] <= 1e-10 and r["output_rel_diff"] <= 1e-5 for r in rows)
    # the check can fail: a snapshot whose stored output is perturbed is reported
    bad = dict(snap, cases={k: dict(v) for k, v in snap["cases"].items()})
    bad["cases"]["D4"]["output"] = bad["cases"]["D4"]["output"] * (1 + 1e-3)
    torch.save(bad, tmp_path / "bad.pt")
    assert portability.main(["compare", str(tmp_path / "bad.pt")]) == 1
    from equinet.utils.cli import run_command
    assert run_command(portability.main, ["compare", str(tmp_path / "missing.pt")], prog="portability") == 2


def test_trainer_checkpoint_loads_with_identical_outputs_under_other_blas(tmp_path):
    from equinet.physics import Denoising, GaussianNoise
    from equinet.training import fit_supervised
    from equinet.training.checkpoint import load_checkpoint

    ckpt = str(tmp_path / "ckpt.pt")
    model = portability.CheckpointDenoiser("C8")
    physics = Denoising(image_size=16, noise=GaussianNoise(0.1))
    images = torch.rand(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    fit_supervised(model, physics, images, steps=2, batch_size=2, lr=1e-2, seed=0, checkpoint=ckpt)
    state = load_checkpoint(ckpt)
    model.load_state_dict(state["model"])
    x = torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model.net(x)
    torch.save(x, tmp_path / "x.pt")
    code = ("import sys, torch; from equinet.testing.portability import CheckpointDenoiser; "
            "from equinet.training.checkpoint import load_checkpoint; m = CheckpointDenoiser('C8').eval(); "
            "m.load_state_dict(load_checkpoint(sys.argv[1])['model']); x = torch.load(sys.argv[2]); "
            "torch.save(m.net(x).detach(), sys.argv[3])")
    res = _run(["-c", code, ckpt, str(tmp_path / "x.pt"), str(tmp_path / "y.pt")],
               {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr
    y2 = torch.load(tmp_path / "y.pt")
    assert float((y2 - y).norm() / y.norm()) <= 1e-5
