"""Two gloo processes under a real ``torchrun`` train on multi-operator measurements (MOI + EI: each item with its own
member, the model called twice per item) and follow the one-process trajectory to 1e-6, through a stop after the
checkpoint of step 2 and a resume under DDP."""
import math
import os
import subprocess
import sys

import pytest
import torch

from equinet.training import read_csv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# the run, written once: the driver (each rank) and the test (one process) build it from this text
RUN = """
import torch
from torch import nn
from equinet.data import random_ellipses, simulate_measurements
from equinet.losses import EILoss, LossSum, MOILoss
from equinet.nets import PinvReconstructor
from equinet.physics import GaussianNoise, mri_family, real_to_channels
from equinet.training import Trainer
from equinet.transforms import Rot90

def trainer(out, callback=None):
    fam = mri_family(12, 3, acceleration=3.0, seed=1, noise=GaussianNoise(0.02))
    data = simulate_measurements(fam, real_to_channels(random_ellipses(12, 12, seed=3)), seed=4)
    val = simulate_measurements(fam, real_to_channels(random_ellipses(3, 12, seed=8)), seed=5, ground_truth=True)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 2, 3, padding=1))
    model = PinvReconstructor(net, residual=True, init="adjoint")
    loss = LossSum([MOILoss(noise=True), EILoss(Rot90(), weight=0.5)])
    return Trainer(model, loss, fam, data, steps=6, batch_size=6, micro_batches=2, seed=5, lr=3e-3,
                   checkpoint_every=2, val_every=3, validation=val, out=out, callback=callback, plots=False,
                   identifiability=False)
"""

DRIVER = RUN + """
import os
import sys
import torch.distributed as dist

class Stop(Exception):
    pass

def stop(step, loss):
    if step == 2:
        raise Stop

dist.init_process_group("gloo")
try:
    trainer(sys.argv[1], stop).fit()
except Stop:
    pass
dist.barrier()  # rank 0 has written the checkpoint of step 2
h = trainer(sys.argv[1]).fit()
assert h.resumed_from == 2, h.resumed_from
dist.barrier()
dist.destroy_process_group()
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)  # no interpreter teardown after two DDP trainers on one gloo group (see test_distributed.py)
"""


@pytest.mark.skipif(not torch.distributed.is_available(), reason="this PyTorch build has no torch.distributed")
def test_two_gloo_processes_follow_the_one_process_multi_operator_trajectory_and_resume(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(driver), str(out)]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    last = torch.load(out / "checkpoint.pt", weights_only=True)
    assert last["step"] == 6 and last["world_size"] == 2

    scope: dict = {}
    exec(RUN, scope)
    one = scope["trainer"](str(tmp_path / "one"))
    one.fit()
    rows, ref_rows = read_csv(str(out / "log.csv")), read_csv(str(tmp_path / "one" / "log.csv"))
    assert len(rows) == len(ref_rows) == 7 and {"moi", "moi_mc", "ei"} <= set(rows[0])
    for a, b in zip(rows, ref_rows):
        for k in a:
            if a[k] == b[k] == "":
                continue
            assert math.isclose(float(a[k]), float(b[k]), rel_tol=1e-6, abs_tol=1e-6), (k, a, b)
    ref = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    for k in ref["model"]:
        assert torch.allclose(last["model"][k], ref["model"][k], rtol=0, atol=1e-6), k
