"""A run killed with SIGKILL (a real subprocess, ``kill -9``) and resumed reproduces the uninterrupted run bit for
bit: the same CSV (every loss term, learning rate and validation value) and the same final weights."""
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


def test_sigkill_then_resume_is_bitwise_the_uninterrupted_run(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(CONFIG)
    killed = tmp_path / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "equinet", "train", str(cfg), "--out", str(killed)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = killed / "checkpoint.pt"
    try:
        while not ckpt.exists() and proc.poll() is None:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    at = torch.load(ckpt, weights_only=True)["step"]
    assert 5 <= at < 60  # killed part-way, after at least one checkpoint

    resumed = train_main([str(cfg), "--out", str(killed), "--resume"])  # this process: one thread, as the child
    assert resumed["resumed_from"] == at and resumed["steps"] == 60
    reference = train_main([str(cfg), "--out", str(tmp_path / "reference")])

    rows, ref_rows = read_csv(str(killed / "log.csv")), read_csv(str(tmp_path / "reference" / "log.csv"))
    assert len(rows) == 61 and rows == ref_rows  # every value, written with repr: bit for bit
    a = torch.load(ckpt, weights_only=True)
    b = torch.load(tmp_path / "reference" / "checkpoint.pt", weights_only=True)
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
