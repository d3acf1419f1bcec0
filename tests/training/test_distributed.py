"""Two gloo processes under a real ``torchrun`` follow the one-process trajectory (same global batch) to 1e-6, in fp32
and fp16, with the EI loss (the model is called twice per step), a checkpoint written by rank 0, and a resume under
DDP."""
import math
import os
import subprocess
import sys

import pytest
import torch

from equinet.training import read_csv
from equinet.training.cli import main as train_main

from .configs import tiny_ei_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = tiny_ei_config(seed=5, drop=0.4, sigma=0.02, n_train=12, n_val=3, ei_noise=True, train="""
steps = 6
batch_size = 6
micro_batches = 2
lr = 3e-3
checkpoint_every = 2
val_every = 3
progress = false
plots = false
""")

# one torchrun job: DDP from scratch, stopped on every rank after the checkpoint of step 2 (as a crashed job), then
# the same processes resume with the command-line entry point (the process group is kept between the two)
DRIVER = """
import os
import sys
import torch.distributed as dist
from equinet.training import Trainer
from equinet.training.cli import main
from equinet.training.config import build_run, load_config

class Stop(Exception):
    pass

def stop(step, loss):
    if step == 2:
        raise Stop

dist.init_process_group("gloo")
run = build_run(load_config(sys.argv[1]))
try:
    Trainer(run.model, run.loss, run.physics, run.data, out=sys.argv[2], callback=stop, **run.trainer_kwargs).fit()
except Stop:
    pass
dist.barrier()  # rank 0 has written the checkpoint of step 2
if dist.get_rank() == 0:
    import torch
    ck = torch.load(sys.argv[2] + "/checkpoint.pt", weights_only=True)
    assert ck["step"] == 2 and ck["world_size"] == 2 and len(ck["rng"]) == 2, (ck["step"], ck["world_size"])
summary = main([sys.argv[1], "--out", sys.argv[2], "--resume"])
assert summary["resumed_from"] == 2, summary
dist.barrier()
dist.destroy_process_group()
# Leave without interpreter teardown: once (1 CI run in 3) a rank that ran two DDP trainers on this one gloo group
# aborted *after* finishing ("terminate called without an active exception", a C++ thread still joinable while
# torch's objects were destroyed at exit). Everything this test checks is written and flushed by now.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)
"""


def _torchrun(args, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.skipif(not torch.distributed.is_available(), reason="this PyTorch build has no torch.distributed")
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_two_gloo_processes_follow_the_one_process_trajectory_and_resume(tmp_path, precision):
    """fp16: float16 overflows at the same loss scale in either run (each process back-propagates its slices' share,
    as one process does; the scale falls during this run), so the same steps are skipped."""
    cfg = tmp_path / "ddp.toml"
    cfg.write_text(CONFIG.replace("plots = false", f"plots = false\nprecision = \"{precision}\""))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "ddp"
    _torchrun([str(driver), str(cfg), str(out)], tmp_path)
    last = torch.load(out / "checkpoint.pt", weights_only=True)
    assert last["step"] == 6 and last["world_size"] == 2
    if precision == "fp16":
        assert last["precision"]["scale"] < 2.0 ** 16

    ref = train_main([str(cfg), "--out", str(tmp_path / "one")])  # one process, same global batch
    assert ref["steps"] == 6
    rows, ref_rows = read_csv(str(out / "log.csv")), read_csv(str(tmp_path / "one" / "log.csv"))
    assert len(rows) == len(ref_rows) == 7 and rows[0].keys() == ref_rows[0].keys()
    assert {"ei", "mc", "loss"} <= set(rows[0])
    for a, b in zip(rows, ref_rows):
        for k in a:
            if a[k] == b[k] == "":
                continue
            assert math.isclose(float(a[k]), float(b[k]), rel_tol=1e-6, abs_tol=1e-6), (k, a, b)
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    assert last["precision"] == one["precision"]
    for k in one["model"]:
        assert torch.allclose(last["model"][k], one["model"][k], rtol=0, atol=1e-6), k
