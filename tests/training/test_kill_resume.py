"""A run killed with SIGKILL (a real subprocess, ``kill -9``) or stopped with Ctrl-C (SIGINT), and resumed,
reproduces the uninterrupted run bit for bit: the same CSV (every loss term, learning rate and validation value)
and the same final weights."""
import os
import signal
import subprocess
import sys
import time

import torch

from equinet.training import read_csv
from equinet.training.cli import main as train_main

from .configs import tiny_ei_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = tiny_ei_config(seed=11, drop=0.4, sigma=0.02, n_train=10, n_val=3, ei_noise=True, train="""
steps = 60
batch_size = 4
micro_batches = 2
schedule = "cosine"
checkpoint_every = 5
val_every = 20
progress = false
plots = false
""")


def _interrupt(cfg, out, signum):
    """Start ``train`` in a subprocess, send ``signum`` once a checkpoint exists; returns (status, stderr, step)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "equinet", "train", str(cfg), "--out", str(out)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = out / "checkpoint.pt"
    try:
        while not ckpt.exists() and proc.poll() is None:
            time.sleep(0.02)
        os.kill(proc.pid, signum)
    finally:
        _, err = proc.communicate()
    return proc.returncode, err.decode(), torch.load(ckpt, weights_only=True)["step"]


def test_sigkill_or_ctrl_c_then_resume_is_bitwise_the_uninterrupted_run(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG)
    killed, interrupted = tmp_path / "killed", tmp_path / "interrupted"
    status, err, at = _interrupt(cfg, killed, signal.SIGKILL)
    assert status == -signal.SIGKILL, err[-2000:]
    assert 5 <= at < 60  # killed part-way, after at least one checkpoint
    status, err, at_int = _interrupt(cfg, interrupted, signal.SIGINT)  # Ctrl-C: one line, exit status 130
    lines = err.strip().splitlines()
    assert status == 130 and "Traceback" not in err, err[-2000:]
    assert lines[-1] == f"python -m equinet train: interrupted: the last checkpoint in {interrupted} is whole; " \
                        "continue with --resume"
    assert 5 <= at_int <= 60 and not (interrupted / ".equinet.lock").exists()

    reference = train_main([str(cfg), "--out", str(tmp_path / "reference")])
    ref_rows = read_csv(str(tmp_path / "reference" / "log.csv"))
    b = torch.load(tmp_path / "reference" / "checkpoint.pt", weights_only=True)
    for out, step in ((killed, at), (interrupted, at_int)):
        resumed = train_main([str(cfg), "--out", str(out), "--resume"])  # this process: one thread, as the child
        assert resumed["resumed_from"] == step and resumed["steps"] == 60 == reference["steps"]
        rows = read_csv(str(out / "log.csv"))
        assert len(rows) == 61 and rows == ref_rows  # every value, written with repr: bit for bit
        a = torch.load(out / "checkpoint.pt", weights_only=True)
        assert a["model"].keys() == b["model"].keys()
        assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
