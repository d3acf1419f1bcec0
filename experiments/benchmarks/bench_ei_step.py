"""EI training step benchmark, in one run: equinet vs deepinv 0.5, and per-sample vs per-batch transforms.

Problem: sparse-view CT, 64 x 64 ellipse phantoms, 50 angles, Gaussian noise; the same residual network
``x = FBP(y) + net(FBP(y))`` (one backbone, copied with the same weights to both sides); loss MC + EI with
random rotations (bilinear), noise-free re-measurement (the EI paper's choice; deepinv ``apply_noise=False``).
In part 2 the MC term is weighted by ``1 / ||A||^2`` (MC of the normalised operator, deepinv's default
``normalize=True``), without which the un-normalised Radon's MC term swamps the EI term.

1. Time per training step (forward, both losses, backward, Adam step) of
   * equinet: :class:`equinet.training.Trainer` with ``MCLoss + EILoss(Rotate())`` on a fixed measurement dataset
     (per-step times from the trainer's callback: data access, generators and logging included);
   * deepinv: ``deepinv.loss.MCLoss`` + ``deepinv.loss.EILoss(Rotate(...))`` with ``deepinv.physics.Tomography``
     (``normalize=False``, FBP first estimate) in a plain loop over the same batches.
   Rounds alternate between the two (the machine may be shared); the medians and the ratio equinet / deepinv are
   printed. deepinv is optional: without it (or where it does not import) only equinet is timed.
2. EI with per-sample (``Rotate(per_sample=True)``, one angle per image) vs per-batch (``per_sample=False``, one
   angle for the whole batch, deepinv's behaviour) transform parameters: same data, initial weights, seeds and
   steps; validation PSNR/SSIM of both on held-out phantoms (and of FBP).

    python experiments/benchmarks/bench_ei_step.py [--steps 200] [--rounds 5] [--threads 1] [--json out.json]
    python experiments/benchmarks/bench_ei_step.py --skip timing --psnr-angles 20   # an ill-posed variant
    .venv-dinv/bin/python experiments/benchmarks/bench_ei_step.py      # with deepinv installed
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from equinet.data import random_ellipses, simulate_measurements  # noqa: E402
from equinet.losses import EILoss, LossSum, MCLoss  # noqa: E402
from equinet.nets import NetSpec, PinvReconstructor, build  # noqa: E402
from equinet.physics import GaussianNoise, Radon  # noqa: E402
from equinet.training import Trainer  # noqa: E402
from equinet.transforms import Rotate  # noqa: E402

warnings.filterwarnings("ignore")

SIZE, ANGLES, SIGMA = 64, 50, 0.02


def backbone(kind: str, seed: int = 0) -> torch.nn.Module:
    """A plain (translation-equivariant) residual-free backbone; the reconstructor adds the FBP."""
    torch.manual_seed(seed)
    if kind == "unet":
        return build("unet", NetSpec(group="C1", width=16, depth=2, kernel_size=3), residual=False, scales=2)
    return build("dncnn", NetSpec(group="C1", width=32, depth=7, kernel_size=3), residual=False)


def equinet_times(net, data, physics, batch, steps, seed) -> list:
    model = PinvReconstructor(copy.deepcopy(net), residual=True, init="pinv")
    loss = LossSum([MCLoss(), EILoss(Rotate(degrees=180.0, interpolation="bilinear"))])
    stamps = []
    Trainer(model, loss, physics, data, steps=steps + 1, batch_size=batch, seed=seed,
            optimizer=lambda p: torch.optim.Adam(p, lr=1e-4),
            callback=lambda s, v: stamps.append(time.perf_counter())).fit()
    return [b - a for a, b in zip(stamps, stamps[1:])]


class _DinvModel(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, y, physics):
        x0 = physics.fbp(y)
        return x0 + self.net(x0)


def deepinv_times(dinv, net, images, batch, steps, seed) -> list:
    from torchvision.transforms import InterpolationMode
    physics = dinv.physics.Tomography(angles=ANGLES, img_width=SIZE, circle=True, normalize=False,
                                      noise_model=dinv.physics.GaussianNoise(SIGMA))
    with torch.no_grad():  # a fixed acquisition with deepinv's own operator (its sinogram layout differs)
        torch.manual_seed(seed)
        ys = physics(images)
    model = _DinvModel(copy.deepcopy(net))
    mc = dinv.loss.MCLoss()
    ei = dinv.loss.EILoss(dinv.transform.Rotate(interpolation_mode=InterpolationMode.BILINEAR, limits=360.0,
                                                multiples=1.0), apply_noise=False)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(steps + 1):
        t0 = time.perf_counter()
        y = ys[torch.randperm(ys.shape[0], generator=g)[:batch]]
        opt.zero_grad(set_to_none=True)
        x1 = model(y, physics)
        loss = mc(y=y, x_net=x1, physics=physics) + ei(x_net=x1, physics=physics, model=model)
        loss.backward()
        opt.step()
        float(loss.detach())  # the trainer logs the loss too
        times.append(time.perf_counter() - t0)
    return times[1:]


def timing(args, physics, data, images) -> dict:
    try:
        import deepinv as dinv
        dinv_error = None
    except Exception as err:  # e.g. torchvision built for another torch
        dinv, dinv_error = None, f"{type(err).__name__}: {str(err)[:120]}"
    out = {}
    for kind in ("unet", "dncnn"):
        net = backbone(kind)
        e_times, d_times = [], []
        for r in range(args.rounds):
            e_times += equinet_times(net, data, physics, args.batch, args.timed_steps, seed=r)
            if dinv is not None:
                d_times += deepinv_times(dinv, net, images, args.batch, args.timed_steps, seed=r)
        row = {"equinet_ms": 1e3 * statistics.median(e_times)}
        if dinv is not None:
            row["deepinv_ms"] = 1e3 * statistics.median(d_times)
            row["ratio"] = row["equinet_ms"] / row["deepinv_ms"]
        out[kind] = row
        line = f"  {kind:6s} equinet {row['equinet_ms']:8.1f} ms/step"
        if dinv is not None:
            line += f"   deepinv {row['deepinv_ms']:8.1f} ms/step   equinet / deepinv = {row['ratio']:.2f}x"
        print(line, flush=True)
    if dinv is None:
        print(f"  deepinv not importable here ({dinv_error}); run with .venv-dinv/bin/python for the comparison")
        out["deepinv_error"] = dinv_error
    return out


def per_sample_vs_batch(args, physics, data, val) -> dict:
    res = {}
    fbp = None
    mc_weight = 1.0 / physics.norm() ** 2  # MC of the normalised operator (as deepinv's default), balanced with EI
    for per_sample in (True, False):
        model = PinvReconstructor(backbone(args.net), residual=True, init="pinv")
        loss = LossSum([MCLoss(weight=mc_weight),
                        EILoss(Rotate(degrees=180.0, interpolation="bilinear", per_sample=per_sample))])
        t = Trainer(model, loss, physics, data, steps=args.steps, batch_size=args.batch, seed=args.seed,
                    optimizer=lambda p: torch.optim.Adam(p, lr=args.lr),
                    scheduler=lambda o, total: torch.optim.lr_scheduler.CosineAnnealingLR(o, total),
                    validation=val, progress=args.progress)
        t0 = time.perf_counter()
        h = t.fit()
        fbp = h.validation[0]
        key = "per_sample" if per_sample else "per_batch"
        res[key] = {**h.validation[-1], "seconds": time.perf_counter() - t0, "final_loss": h.loss[-1]}
        print(f"  {key:10s} PSNR {h.validation[-1]['psnr']:6.2f} dB  SSIM {h.validation[-1]['ssim']:.4f}  "
              f"({args.steps} steps, {res[key]['seconds']:.0f} s)", flush=True)
    res["fbp"] = fbp
    res["psnr_gain_per_sample_db"] = res["per_sample"]["psnr"] - res["per_batch"]["psnr"]
    print(f"  FBP        PSNR {fbp['psnr']:6.2f} dB  SSIM {fbp['ssim']:.4f}")
    print(f"  per-sample - per-batch = {res['psnr_gain_per_sample_db']:+.2f} dB")
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="alternating timing rounds per library")
    p.add_argument("--timed-steps", type=int, default=4, help="steps per round")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=200, help="training steps of the per-sample/per-batch runs")
    p.add_argument("--net", choices=("unet", "dncnn"), default="unet", help="backbone of the PSNR comparison")
    p.add_argument("--psnr-angles", type=int, default=ANGLES,
                   help="views of the PSNR comparison (50 x 64 detectors over-determine the ~2600 pixels of the "
                        "disk: EI has little to add; 20 views leave a null space for EI to fill)")
    p.add_argument("--n-train", type=int, default=64)
    p.add_argument("--n-val", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: fair on a shared machine)")
    p.add_argument("--skip", choices=("timing", "psnr"), default=None)
    p.add_argument("--progress", action="store_true")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    physics = Radon(SIZE, angles=ANGLES, noise=GaussianNoise(SIGMA))
    images = random_ellipses(args.n_train + args.n_val, SIZE, seed=1)
    data = simulate_measurements(physics, images[:args.n_train], seed=2)
    val = simulate_measurements(physics, images[args.n_train:], seed=3, ground_truth=True)
    print(f"CT {SIZE}x{SIZE}, sigma={SIGMA}, batch {args.batch}, torch {torch.__version__}, {args.threads} thread(s)")
    result = {"args": vars(args), "torch": torch.__version__}
    if args.skip != "timing":
        print(f"1. EI training step ({ANGLES} views, MC + EI, rotations), median time per step:")
        result["timing"] = timing(args, physics, data, images[:args.n_train])
    if args.skip != "psnr":
        if args.psnr_angles != ANGLES:
            physics = Radon(SIZE, angles=args.psnr_angles, noise=GaussianNoise(SIGMA))
            data = simulate_measurements(physics, images[:args.n_train], seed=2)
            val = simulate_measurements(physics, images[args.n_train:], seed=3, ground_truth=True)
        print(f"2. EI with per-sample vs per-batch rotation angles ({args.net}, {args.psnr_angles} views, same seeds "
              "and steps):")
        result["per_sample_vs_batch"] = per_sample_vs_batch(args, physics, data, val)
    if args.json:
        from equinet.utils.io import write_json
        write_json(args.json, result)
    return result


if __name__ == "__main__":
    main()
