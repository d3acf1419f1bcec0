"""``python -m equinet estimate CONFIG.toml``: parameters, activation memory per step, measured probe step time."""
import pytest

from equinet.__main__ import main as equinet_main
from equinet.training.estimate import main as estimate_main
from equinet.nets import count_parameters
from equinet.training.config import build_run, load_config
from equinet.training.estimate import estimate

from .configs import tiny_ei_config


def config(tmp_path, batch, steps=50):
    text = tiny_ei_config(seed=0, drop=0.3, sigma=0.01, n_train=16, n_val=4, ei_noise=False,
                          train=f"steps = {steps}\nbatch_size = {batch}\nprogress = false\nplots = false\n")
    path = tmp_path / f"b{batch}.toml"
    path.write_text(text)
    return str(path)


def test_estimate_reports_parameters_memory_and_time_and_writes_nothing(tmp_path, capsys):
    path = config(tmp_path, 4)
    before = sorted(p.name for p in tmp_path.iterdir())
    e = estimate_main([path, "--probe-steps", "2"])  # python -m equinet estimate (which exits with 0)
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert e["parameters"] == count_parameters(build_run(load_config(path)).model)
    assert e["weights_bytes"] == e["parameters"] * 4 * 4  # float32 weights, gradients, Adam's two moments
    assert e["step_seconds"] > 0 and e["total_seconds"] == pytest.approx(50 * e["step_seconds"])
    assert "parameters:" in out and "activation memory per step:" in out and "for 50 steps" in out


def test_activation_memory_grows_with_the_batch(tmp_path):
    small, large = (estimate(config(tmp_path, b), probe_steps=1)["activation_bytes"] for b in (4, 8))
    assert small > 0 and 1.8 < large / small < 2.2


def test_bad_config_is_one_line_exit_2(tmp_path, capsys):
    assert equinet_main(["estimate", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("python -m equinet estimate: error: config file")
    assert len(err.splitlines()) == 1 and "does not exist" in err
