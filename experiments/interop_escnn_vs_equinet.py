"""equinet vs escnn (vs e2cnn) proximal networks in the same unrolled PGD on the quick sparse-view CT problem.

The problem is the quick mode of the translation-vs-roto-translation comparison, rebuilt from public library
functions: 64x64 grid-aligned ellipse phantoms (``align_ellipses``), Radon with 50 angles in [0, 180) and Gaussian
noise 0.05 x RMS(clean sinogram), FBP (Hann) initialisation, 4 untied PGD iterations, DnCNN prox nets of depth 4,
kernel 5, C8 with 2 regular fields, the last convolution zeroed (every model starts as plain PGD). Each backend
builds its prox nets from the same NetSpec (``equinet.nets.build`` / ``equinet.interop.build_escnn``) and trains
with the same seed, data and schedule (``fit_supervised``). Test PSNR on held-out phantoms and on the same phantoms
exactly rotated by uniform random angles (out of distribution for aligned training data).

    python experiments/interop_escnn_vs_equinet.py --seed 0 --out outputs/interop     # ~10 min, 1 thread

needs escnn (``pip install -e ".[escnn]"``); writes ``table.json`` and ``table.md`` atomically.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from equinet.data import EllipsePhantoms  # noqa: E402
from equinet.data.phantoms import align_ellipses, rotate_ellipses  # noqa: E402
from equinet.interop import build_escnn  # noqa: E402
from equinet.metrics import psnr  # noqa: E402
from equinet.nets import NetSpec, build, count_parameters  # noqa: E402
from equinet.physics import GaussianNoise, Radon  # noqa: E402
from equinet.training.supervised import fit_supervised  # noqa: E402
from equinet.unrolled import UnrolledPGD  # noqa: E402
from equinet.utils.io import atomic_path, write_json  # noqa: E402
from equinet.utils.seeding import check_seed, derived_seed, generator  # noqa: E402

BACKENDS = ("equinet", "escnn", "e2cnn")
TEST_SETS = ("held-out", "rotated")


def phantoms(n: int, size: int, seed: int, jitter_deg: float) -> torch.Tensor:
    """Ellipse parameters [n, K, 6] of grid-aligned phantoms (axes within ``jitter_deg`` of the grid)."""
    return align_ellipses(EllipsePhantoms(n, size, seed).all_params(), seed, jitter_deg)


class ZeroedProx:
    """``k -> prox net`` of the backend, its output convolution zeroed (``zero_output_layer``): every residual prox
    net starts as the identity, so each untrained model is plain PGD from the FBP initialisation."""

    def __init__(self, backend: str, spec: NetSpec):
        self.backend, self.spec = backend, spec

    def __call__(self, k: int):
        net = build("dncnn", self.spec) if self.backend == "equinet" else build_escnn("dncnn", self.spec,
                                                                                         library=self.backend)
        return net.zero_output_layer()


def interleaved_step_ms(models: dict, physics, x: torch.Tensor, y: torch.Tensor, rounds: int, steps: int) -> dict:
    """Median over ``rounds`` of the mean time (ms) of one training step (forward, MSE, backward) of each model on
    the same batch; the backends alternate within every round, so they see the same machine load."""
    times = {k: [] for k in models}
    for _ in range(rounds):
        for name, model in models.items():
            model.train()
            t0 = time.perf_counter()
            for _ in range(steps):
                torch.mean((model(y, physics) - x) ** 2).backward()
            times[name].append(1e3 * (time.perf_counter() - t0) / steps)
            model.zero_grad(set_to_none=True)
    return {k: float(np.median(v)) for k, v in times.items()}


@torch.no_grad()
def reconstruct(model, physics, y: torch.Tensor, batch: int = 16) -> torch.Tensor:
    model.eval()
    return torch.cat([model(y[i:i + batch], physics) for i in range(0, y.shape[0], batch)])


def run(a: argparse.Namespace) -> list[dict]:
    size, seed = a.size, a.seed
    render = EllipsePhantoms(1, size).render_params
    test = phantoms(a.n_test, size, derived_seed(seed, 10) % 2**31, a.jitter)
    angles = torch.from_numpy(np.random.default_rng([seed, 11]).uniform(0.0, 2 * math.pi, a.n_test))
    tests = {"held-out": render(test), "rotated": render(rotate_ellipses(test, angles))}
    train = render(phantoms(a.n_train, size, derived_seed(seed, 30) % 2**31, a.jitter))
    reference = render(phantoms(64, size, derived_seed(seed, 12) % 2**31, a.jitter))
    physics = Radon(size, angles=a.angles, filter="hann")
    with torch.no_grad():
        sigma = a.noise * float(physics(reference).double().pow(2).mean().sqrt())
    physics.noise = GaussianNoise(sigma)
    ys = {t: physics.measure(tests[t], generator(seed, 20, k)) for k, t in enumerate(TEST_SETS)}
    spec = NetSpec(a.group, width=a.width, depth=a.depth, kernel_size=a.kernel_size, activation=a.activation)

    def row(name, recon, params, seconds, notes=""):
        r = {"model": name, "params": params, "train_s": None if seconds is None else round(seconds, 1),
             "notes": notes}
        for t in TEST_SETS:
            p = psnr(recon[t].double(), tests[t].double(), data_range=1.0)
            r[f"psnr_{t}"], r[f"psnr_{t}_std"] = float(p.mean()), float(p.std())
            per_image[(name, t)] = p
        return r

    def paired(r, ref):
        """Mean and standard error over test images of the PSNR difference to ``ref`` (same images, same noise)."""
        for t in TEST_SETS:
            d = per_image[(r["model"], t)] - per_image[(ref, t)]
            r[f"delta_{t}"], r[f"delta_{t}_se"] = float(d.mean()), float(d.std() / math.sqrt(d.numel()))

    per_image = {}
    rows = [row("FBP (Hann)", {t: physics.fbp(ys[t]) for t in TEST_SETS}, 0, None)]
    models = {}
    for backend in a.backends:
        torch.manual_seed(derived_seed(seed, 40))
        t0 = time.perf_counter()
        model = UnrolledPGD(physics, ZeroedProx(backend, spec), n_iter=a.n_iter, mode="pgd", tied=False,
                            init="pinv")
        build_s = time.perf_counter() - t0
        hist = fit_supervised(model, physics, train, steps=a.steps, batch_size=a.batch_size, lr=a.lr,
                              schedule="cosine", seed=derived_seed(seed, 50) % 2**31, progress=a.progress)
        t0 = time.perf_counter()
        recon = {t: reconstruct(model, physics, ys[t]) for t in TEST_SETS}
        eval_s = time.perf_counter() - t0
        rows.append(row(f"{backend} {spec.G.name} DnCNN", recon, count_parameters(model.prox), hist.seconds,
                        f"build {build_s:.1f} s, test reconstruction {eval_s:.1f} s, final loss "
                        f"{np.mean(hist.loss[-max(1, len(hist.loss) // 10):]):.3g}"))
        models[backend] = model
        print(rows[-1], flush=True)
    if "equinet" in a.backends:
        for r in rows[1:]:
            paired(r, f"equinet {spec.G.name} DnCNN")
    if a.time_rounds:
        xb = train[:a.batch_size]
        ms = interleaved_step_ms(models, physics, xb, physics.measure(xb, generator(seed, 60)), a.time_rounds, 3)
        base = ms.get("equinet")
        for r, backend in zip(rows[1:], a.backends):
            r["step_ms"] = round(ms[backend], 1)
            r["step_vs_equinet"] = None if base is None else round(ms[backend] / base, 2)
    return rows


def markdown(rows: list[dict], a: argparse.Namespace) -> str:
    def delta(r, t):
        return f"{r[f'delta_{t}']:+.2f} ± {r[f'delta_{t}_se']:.2f}" if f"delta_{t}" in r else "—"

    head = ("| model | prox params | PSNR held-out (dB) | PSNR rotated (dB) | Δ held-out vs equinet | Δ rotated vs "
            "equinet | train time (s) | step ms (interleaved) | step time / equinet | notes |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    body = "".join(f"| {r['model']} | {r['params']} | {r['psnr_held-out']:.2f} ± {r['psnr_held-out_std']:.2f} | "
                   f"{r['psnr_rotated']:.2f} ± {r['psnr_rotated_std']:.2f} | {delta(r, 'held-out')} | "
                   f"{delta(r, 'rotated')} | "
                   f"{'—' if r['train_s'] is None else r['train_s']} | {r.get('step_ms', '—')} | "
                   f"{r.get('step_vs_equinet') or '—'} | {r['notes']} |\n" for r in rows)
    cmd = "python experiments/interop_escnn_vs_equinet.py " + " ".join(a.argv)
    return (f"{head}{body}\n`{cmd.strip()}` (torch threads: {a.threads}; PSNR: mean ± std over test images; Δ: paired mean "
            f"difference ± its standard error over the same images; train time is "
            f"wall time of each backend's training in turn on a shared CPU; step ms: median over {a.time_rounds} "
            f"rounds in which the backends alternate, 3 steps of batch {a.batch_size} each)\n")


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="outputs/interop_escnn_vs_equinet", help="output folder (created if missing)")
    ap.add_argument("--backends", default="equinet,escnn", help=f"comma-separated subset of {BACKENDS}")
    ap.add_argument("--group", default="C8")
    ap.add_argument("--width", type=int, default=2)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--kernel-size", type=int, default=5)
    ap.add_argument("--activation", default="relu")
    ap.add_argument("--n-iter", type=int, default=4)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--angles", type=int, default=50)
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--jitter", type=float, default=10.0, help="ellipse angle jitter around the grid (degrees)")
    ap.add_argument("--n-train", type=int, default=30)
    ap.add_argument("--n-test", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time-rounds", type=int, default=5,
                    help="rounds of interleaved training-step timing after training (0: none)")
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    a.backends = tuple(b.strip() for b in a.backends.split(",") if b.strip())
    bad = [b for b in a.backends if b not in BACKENDS]
    if bad or not a.backends:
        ap.error(f"--backends must be a comma-separated subset of {BACKENDS}, got {bad or a.backends}")
    try:
        check_seed(a.seed)
    except (TypeError, ValueError) as e:
        ap.error(str(e))
    if a.time_rounds < 0:
        ap.error(f"--time-rounds must be >= 0, got {a.time_rounds}")
    for name in ("width", "depth", "kernel_size", "n_iter", "size", "angles", "n_train", "n_test", "steps",
                 "batch_size", "threads"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(a, name)}")
    if os.path.exists(a.out) and not os.path.isdir(a.out):
        ap.error(f"--out {a.out!r} exists and is not a folder")
    return a


def main(argv=None) -> list[dict]:
    a = parse(argv)
    os.makedirs(a.out, exist_ok=True)  # before training: a bad --out fails now, not after the run
    torch.set_num_threads(a.threads)
    rows = run(a)
    write_json(os.path.join(a.out, "table.json"), {"rows": rows, "args": {k: v for k, v in vars(a).items()}})
    with atomic_path(os.path.join(a.out, "table.md")) as tmp, open(tmp, "w") as f:
        f.write(markdown(rows, a))
    print(markdown(rows, a))
    return rows


if __name__ == "__main__":
    main()
