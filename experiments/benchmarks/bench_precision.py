"""bfloat16 autocast vs float32 on the CPU: time of one training step of a typical network.

Problem: sparse-view CT (Radon, ``--angles`` views, Gaussian noise) of ``--size`` x ``--size`` ellipse phantoms;
model ``x = FBP(y) + UNet(FBP(y))`` (residual U-Net, 2 scales, width ``--width``), for an ordinary CNN (C1) and a
C8-equivariant one; loss MC + EI (rotations). One step = forward, both losses, backward, Adam step, in float32 or
inside ``torch.autocast("cpu", dtype=torch.bfloat16)`` (the operators and the losses compute in float32 under
autocast, docs/physics.md). The two variants run interleaved (round-robin, the machine may be shared), from the
same weights, on the same batch; the medians, their ratio and the relative difference of the first step's loss are
printed. No assertions: the output is the result.

With ``--psnr CONFIG.toml`` it instead trains that configuration twice with the trainer (same seed, data and
steps), once in float32 and once with the model run inside bfloat16 autocast (a wrapper module: every call of the
network, including the losses' second pass, is autocast; the losses and operators compute in float32), and prints
the validation PSNR of both and their difference.

    python experiments/benchmarks/bench_precision.py [--size 64] [--batch 8] [--repeats 10] [--threads 2]
    python experiments/benchmarks/bench_precision.py --psnr experiments/configs/ei_ct.toml
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
from bench_layers import timeit_interleaved  # noqa: E402
from equinet.data import random_ellipses  # noqa: E402
from equinet.losses import EILoss, LossInputs, LossSum, MCLoss, total  # noqa: E402
from equinet.nets import NetSpec, PinvReconstructor, build  # noqa: E402
from equinet.physics import GaussianNoise, Radon  # noqa: E402
from equinet.transforms import Rotate  # noqa: E402


def make_step(model, loss, physics, y, precision):
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    ctx = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if precision == "bf16" else contextlib.nullcontext

    def step():
        opt.zero_grad(set_to_none=True)
        g = torch.Generator().manual_seed(0)
        with ctx():
            x1 = model(y, physics)
            tot = total(loss(LossInputs(y, physics, model, x1, g)))
        tot.backward()
        opt.step()
        return float(tot)

    return step


class Autocast(torch.nn.Module):
    """``model(y, physics)`` evaluated inside ``torch.autocast(device, dtype)``."""

    def __init__(self, model, dtype=torch.bfloat16):
        super().__init__()
        self.model, self.dtype = model, dtype

    def forward(self, y, physics):
        with torch.autocast(y.device.type, dtype=self.dtype):
            return self.model(y, physics)


def psnr_run(config, threads):
    import time
    from equinet.training import Trainer
    from equinet.training.config import build_run, load_config
    rows = []
    for precision in ("fp32", "bf16"):
        torch.set_num_threads(threads)
        run = build_run(load_config(config))
        model = run.model if precision == "fp32" else Autocast(run.model)
        kw = dict(run.trainer_kwargs, progress=False, plots=False, identifiability=False)
        t0 = time.perf_counter()
        hist = Trainer(model, run.loss, run.physics, run.data, out=None, **kw).fit()
        rows.append((precision, hist.validation[0]["psnr"], hist.validation[-1]["psnr"], hist.validation[-1]["ssim"],
                     time.perf_counter() - t0, hist.steps))
    print(f"torch {torch.__version__}, threads {threads}, {config}")
    print(f"{'precision':<10} {'steps':>6} {'PSNR start':>11} {'PSNR end':>9} {'SSIM end':>9} {'seconds':>8}")
    for p, p0, p1, s1, sec, steps in rows:
        print(f"{p:<10} {steps:>6} {p0:>11.2f} {p1:>9.2f} {s1:>9.4f} {sec:>8.1f}")
    print(f"bf16 - fp32 PSNR: {rows[1][2] - rows[0][2]:+.2f} dB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--angles", type=int, default=50)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--width", type=int, default=8, help="C8 regular fields (the C1 network gets 8x channels)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--psnr", metavar="CONFIG", default=None,
                    help="train this TOML config in fp32 and in bf16 autocast and compare the validation PSNR")
    a = ap.parse_args(argv)
    if a.psnr:
        return psnr_run(a.psnr, a.threads)
    torch.set_num_threads(a.threads)
    physics = Radon(a.size, angles=a.angles, noise=GaussianNoise(0.02))
    x = random_ellipses(a.batch, a.size, seed=0)
    y = physics.measure(x, torch.Generator().manual_seed(1))
    loss = LossSum([MCLoss(weight=1.0 / physics.norm() ** 2), EILoss(Rotate())])
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {a.threads}, "
          f"CT {a.size}x{a.size}, {a.angles} views, batch {a.batch}, residual U-Net width {a.width}, MC + EI")
    print(f"{'network':<6} {'params':>7} {'fp32 ms':>9} {'bf16 ms':>9} {'bf16/fp32':>10} {'loss rel. diff':>15}")
    for group in ("C1", "C8"):
        torch.manual_seed(0)
        width = a.width * (8 if group == "C1" else 1)  # the same channel count: C8 regular fields have 8 channels
        net = build("unet", NetSpec(group, width=width, depth=1, kernel_size=3), scales=2, residual=False)
        base = PinvReconstructor(net)
        models = {p: copy.deepcopy(base) for p in ("fp32", "bf16")}
        first = {p: make_step(copy.deepcopy(base), loss, physics, y, p)() for p in models}
        steps = [make_step(models[p], loss, physics, y, p) for p in ("fp32", "bf16")]
        t32, t16 = timeit_interleaved(steps, a.repeats, warmup=1)
        params = sum(p.numel() for p in base.parameters())
        print(f"{group:<6} {params:>7} {t32 * 1e3:>9.1f} {t16 * 1e3:>9.1f} {t16 / t32:>10.2f} "
              f"{abs(first['bf16'] - first['fp32']) / abs(first['fp32']):>15.1e}")


if __name__ == "__main__":
    main()
