"""A multi-operator run from a TOML file (``[physics] operators = 3``: a family of inpainting masks; MOI + EI) killed
with SIGKILL in a real subprocess and resumed reproduces the uninterrupted run bit for bit."""
import signal

import pytest
import torch

from equinet.training import read_csv
from equinet.training.cli import main as train_main
from equinet.training.config import ConfigError, build_run, load_config

from .test_kill_resume import _interrupt

CONFIG = """
seed = 13
[physics]
name = "inpainting"
drop = 0.5
operators = 3
noise = { name = "gaussian", sigma = 0.02 }
[data]
image_size = 12
n_train = 10
n_val = 3
[model]
backbone = "dncnn"
[model.net]
group = "C1"
kernel_size = 3
width = 4
depth = 3
[[loss]]
name = "moi"
noise = true
[[loss]]
name = "ei"
transform = { name = "rot90" }
[train]
steps = 40
batch_size = 4
micro_batches = 2
schedule = "cosine"
checkpoint_every = 5
val_every = 20
progress = false
plots = false
"""


def test_the_toml_family_is_the_python_one(tmp_path):
    from equinet.physics import inpainting_family
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG)
    run = build_run(load_config(str(cfg)))
    fam = inpainting_family(12, 3, drop=0.5, seed=0)
    assert len(run.physics) == 3 and all(torch.equal(a.mask, b.mask) for a, b in zip(run.physics, fam))
    assert run.data.operators.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0] and run.validation.operators is not None


@pytest.mark.parametrize("lines,message", [
    ('name = "inpainting"\noperators = 0', "physics.operators must be >= 1, got 0"),
    ('name = "inpainting"\noperators = 2.5', "physics.operators must be"),
    ('name = "radon"\nangles = 4\noperators = 2', "[physics] radon has no seed"),
])
def test_bad_families_in_a_config_are_one_line_errors(tmp_path, lines, message):
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG.replace('name = "inpainting"\ndrop = 0.5\noperators = 3', lines))
    with pytest.raises(ConfigError) as err:
        build_run(load_config(str(cfg)))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_sigkill_then_resume_is_bitwise_the_uninterrupted_multi_operator_run(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG)
    killed = tmp_path / "killed"
    status, err, at = _interrupt(cfg, killed, signal.SIGKILL)
    assert status == -signal.SIGKILL, err[-2000:]
    assert 5 <= at < 40
    reference = train_main([str(cfg), "--out", str(tmp_path / "reference")])
    resumed = train_main([str(cfg), "--out", str(killed), "--resume"])
    assert resumed["resumed_from"] == at and resumed["steps"] == 40 == reference["steps"]
    rows = read_csv(str(killed / "log.csv"))
    assert len(rows) == 41 and rows == read_csv(str(tmp_path / "reference" / "log.csv"))
    assert {"moi", "moi_mc", "ei"} <= set(rows[0])
    a = torch.load(killed / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "reference" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"])
