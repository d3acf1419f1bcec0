"""Mixed precision (bfloat16/float16 autocast) vs float32 on the CPU: training step time and accuracy.

Default mode, one layer of detail: sparse-view CT (Radon, ``--angles`` views, Gaussian noise) of ``--size`` x
``--size`` ellipse phantoms; model ``x = FBP(y) + UNet(FBP(y))`` (residual U-Net, 2 scales, width ``--width``), for
an ordinary CNN (C1) and a C8-equivariant one; loss MC + EI (rotations). One step = forward, both losses, backward,
Adam step, in float32 or inside ``torch.autocast("cpu", dtype=torch.bfloat16)`` (the operators and the losses
compute in float32 under autocast, docs/physics.md). The two variants run interleaved (round-robin, the machine may
be shared), from the same weights, on the same batch; the medians, their ratio and the relative difference of the
first step's loss are printed.

``--trainer CONFIG.toml``: the same comparison through `equinet.training.Trainer` with ``precision=`` each of
``--precisions`` (default fp32,bf16; fp16 adds its gradient scaler): the median time of `Trainer.train_step` on the
config's network, loss, data and batch, interleaved, and its ratio to the first precision.

``--psnr CONFIG.toml``: trains that configuration with the trainer once per precision (same seed, data and steps;
``--steps`` overrides the config's, ``--seeds`` repeats it for several seeds) and prints the validation PSNR/SSIM,
the median step time and the PSNR change against the first precision. No assertions: the output is the result.

    python experiments/benchmarks/bench_precision.py [--size 64] [--batch 8] [--repeats 10] [--threads 2]
    python experiments/benchmarks/bench_precision.py --trainer experiments/configs/ei_ct.toml --threads 1
    python experiments/benchmarks/bench_precision.py --psnr experiments/configs/ei_ct.toml --threads 1 --seeds 0,1,2
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import os
import platform
import statistics
import sys
import time

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


def _trainer(config, precision, seed=None, **settings):
    """A `Trainer` of the TOML ``config`` in ``precision`` (no output files, no progress bar)."""
    from equinet.training import Trainer
    from equinet.training.config import build_run, load_config
    cfg = load_config(config)
    if seed is not None:
        cfg["seed"] = seed
    run = build_run(cfg)
    kw = dict(run.trainer_kwargs, progress=False, plots=False, identifiability=False, precision=precision)
    return Trainer(run.model, run.loss, run.physics, run.data, out=None, **kw, **settings)


def trainer_step_time(config, precisions, repeats, threads):
    """Median time of `Trainer.train_step` (forward, losses, backward, optimizer) of ``config``'s run in each
    precision, interleaved, from the same initial weights and data."""
    torch.set_num_threads(threads)
    trainers = [_trainer(config, p) for p in precisions]
    steps, first = [], {}
    for p, t in zip(precisions, trainers):
        t.model.train(), t.loss.train()
        counter = iter(range(10 ** 9))

        def step(t=t, counter=counter):
            t.train_step(t.model, None, next(counter))

        step()
        first[p] = t.history.loss[0]
        steps.append(step)
    times = timeit_interleaved(steps, repeats, warmup=1)
    params = sum(q.numel() for q in trainers[0].params)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, threads {threads}, {config}, "
          f"{type(trainers[0].model).__name__} ({params} parameters), batch {trainers[0].batch_size}, "
          f"median of {repeats} interleaved steps")
    print(f"{'precision':<10} {'ms/step':>8} {'/ fp32':>7} {'first-step loss':>16} {'rel. diff':>10}")
    base = dict(zip(precisions, times)).get("fp32", times[0])
    for p, sec in zip(precisions, times):
        rel = abs(first[p] - first.get("fp32", first[p])) / abs(first.get("fp32", first[p]))
        print(f"{p:<10} {sec * 1e3:>8.1f} {sec / base:>7.2f} {first[p]:>16.6g} {rel:>10.1e}")


def psnr_run(config, threads, precisions=("fp32", "bf16"), seeds=(None,), steps=None):
    """Train ``config`` with the trainer in each precision (same seed, data and steps) and print the validation
    PSNR/SSIM, the median step time and the PSNR change against fp32."""
    rows = []
    for seed in seeds:
        for precision in precisions:
            torch.set_num_threads(threads)
            marks = []
            t = _trainer(config, precision, seed, callback=lambda step, loss: marks.append(time.perf_counter()),
                         **({} if steps is None else {"steps": steps}))
            t0 = time.perf_counter()
            hist = t.fit()
            step_s = statistics.median(b - a for a, b in zip(marks[:-1], marks[1:]))
            rows.append((t.seed, precision, hist.steps, hist.validation[0]["psnr"], hist.validation[-1]["psnr"],
                         hist.validation[-1]["ssim"], step_s, time.perf_counter() - t0))
    print(f"torch {torch.__version__}, threads {threads}, {config}" + ("" if steps is None else f", {steps} steps"))
    print(f"{'seed':>5} {'precision':<10} {'steps':>6} {'PSNR start':>11} {'PSNR end':>9} {'SSIM end':>9} "
          f"{'ms/step':>8} {'seconds':>8} {'dPSNR':>7}")
    ref = {r[0]: r[4] for r in rows if r[1] == precisions[0]}
    for seed, p, n, p0, p1, s1, st, sec in rows:
        print(f"{seed:>5} {p:<10} {n:>6} {p0:>11.2f} {p1:>9.2f} {s1:>9.4f} {st * 1e3:>8.1f} {sec:>8.1f} "
              f"{p1 - ref[seed]:>+7.2f}")
    for p in precisions[1:]:
        d = [r[4] - ref[r[0]] for r in rows if r[1] == p]
        print(f"{p} - {precisions[0]} PSNR, mean over {len(d)} seed(s): {statistics.mean(d):+.3f} dB "
              f"(min {min(d):+.3f}, max {max(d):+.3f})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--angles", type=int, default=50)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--width", type=int, default=8, help="C8 regular fields (the C1 network gets 8x channels)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--psnr", metavar="CONFIG", default=None,
                    help="train this TOML config with the trainer in each --precisions and compare the validation PSNR")
    ap.add_argument("--trainer", metavar="CONFIG", default=None,
                    help="time the trainer's step of this TOML config in each --precisions (interleaved)")
    ap.add_argument("--precisions", default="fp32,bf16", help="comma-separated, the first is the reference")
    ap.add_argument("--steps", type=int, default=None, help="--psnr: override the config's number of steps")
    ap.add_argument("--seeds", default=None, help="--psnr: comma-separated seeds (default: the config's)")
    a = ap.parse_args(argv)
    precisions = a.precisions.split(",")
    if a.psnr:
        seeds = (None,) if a.seeds is None else tuple(int(v) for v in a.seeds.split(","))
        return psnr_run(a.psnr, a.threads, precisions, seeds, a.steps)
    if a.trainer:
        return trainer_step_time(a.trainer, precisions, a.repeats, a.threads)
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
