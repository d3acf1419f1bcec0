"""Why does C8 gain less than C4 on the quick comparison's MRI? Measurements behind docs/experiments.md ("C8 on MRI").

Two parts, both on the comparison's own data, operators and networks (`ComparisonConfig.quick`):

* ``--part static`` (about a minute): for the CNN, C4 and C8 proximal networks of MRI (2 image channels) and CT
  (1): fields, channels, parameters, basis size per layer, the rank of each layer's output over channels at
  initialisation (the C8 lifting layer cannot fill its 8 orientation channels: its k = 5 filters have angular
  frequencies <= 2, so 8 rotations span only 5 dimensions per field), the mean square of each layer's output at
  initialisation (median and 10-90 % range over ``--inits`` draws), and the relative size of one Adam step per layer
  (lr * sqrt(coefficients per output channel) / initial filter norm).
* ``--part train``: short supervised runs (``--steps``, ``--train-size`` images) of ``--models`` for several
  initialisation seeds (``--seeds``; -1 is the comparison's own seed), optionally with every basis block rotated by a
  random orthogonal matrix (``--mix``: the same span and the same initial law, only the axes Adam scales per
  coordinate differ), or with the C8 bases loaded from ``--basis FILE.npz``. Prints the training loss and the
  held-out PSNR of each run.
* ``--part dump-basis --basis FILE.npz``: save the C8 bases of this checkout (needs only `equinet.nets`, so it runs
  on old versions too, e.g. the basis before the canonical basis of version 2).

Results go to ``--out`` (JSON, written atomically). Example (1 thread; the training part is ~3 min per run on a
loaded 2-core machine)::

    python experiments/diagnose_c8_mri.py --part static
    python experiments/diagnose_c8_mri.py --part train --models c4,c8 --seeds=-1,1,2
    git archive 0a2c027 | tar -x -C /tmp/old && PYTHONPATH=/tmp/old python experiments/diagnose_c8_mri.py \
        --part dump-basis --basis /tmp/old_c8.npz
    python experiments/diagnose_c8_mri.py --part train --operators mri --models c8 --seeds=-1,1,2 --basis /tmp/old_c8.npz
    python experiments/diagnose_c8_mri.py --part dump-basis --lowdin --basis /tmp/lowdin_c8.npz
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import torch

from equinet.nets import NetSpec, build
from equinet.nn.conv import SteerableConv2d

KEYS = ("cnn", "c4", "c8")


def lowdin_basis(in_rep, out_rep, kernel_size, method="analytic", rule=None, copy=True):
    """The symmetric (Löwdin) orthonormal basis of the same sampled elements: (S Sᵀ)^(-1/2) S, after dropping the
    elements that the canonical Gram-Schmidt drops. Unlike Gram-Schmidt it treats the elements alike (no order)
    and is the orthonormal basis closest to them; it is a matrix function of the Gram matrix, so it is also
    machine-independent. Only used to test whether the coordinates of the basis explain a PSNR difference."""
    from equinet.kernels.basis import steerable_basis_numpy
    from equinet.kernels.canonical import ordered_orthonormal
    D = steerable_basis_numpy(in_rep, out_rep, kernel_size, method, rule, orthonormalize=False)
    S = D.reshape(D.shape[0], -1).astype(np.float64)
    S = S[ordered_orthonormal(S)[0]]
    w, U = np.linalg.eigh(S @ S.T)
    return ((U * w ** -0.5) @ U.T @ S).reshape(-1, *D.shape[1:])


def dump_basis(path: str, lowdin: bool = False) -> None:
    """Save the bases of the quick comparison's MRI C8 network (``"<layer>.<buffer>"`` -> array) to ``path``. Needs
    only `equinet.nets`, so it also runs on old checkouts: ``PYTHONPATH=<old tree> python diagnose_c8_mri.py
    --part dump-basis --basis b.npz`` (the basis of another version; the same span, another orthonormal basis)."""
    import equinet.nn.basis_expansion as conv
    original = conv.steerable_basis_numpy
    if lowdin:  # build the network with Löwdin bases (`lowdin_basis`) instead of the canonical ones
        conv.steerable_basis_numpy = lowdin_basis
    try:
        net = build("dncnn", NetSpec("C8", in_channels=2, out_channels=2, width=2, depth=4, kernel_size=5))
    finally:
        conv.steerable_basis_numpy = original
    arrays = {f"{i}.{name}": getattr(m.expansion, name).numpy() for i, m in enumerate(net.body)
              if isinstance(m, SteerableConv2d) for name, *_ in m.expansion.blocks}
    tmp = path + ".tmp.npz"  # written whole, then renamed (np.savez appends .npz to other names)
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def load_basis(model, path: str) -> None:
    """Replace the bases of every C8 proximal network of ``model`` by those saved with `dump_basis` (checked to span
    the same space: only the coordinates that the coefficients, their initial draw and Adam refer to change)."""
    saved = np.load(path)
    for net in model.prox:
        for i, m in enumerate(net.body):
            if isinstance(m, SteerableConv2d):
                for name, *_ in m.expansion.blocks:
                    B, O = getattr(m.expansion, name), torch.from_numpy(saved[f"{i}.{name}"]).to(torch.float64)
                    b, o = B.double().reshape(B.shape[0], -1), O.reshape(B.shape[0], -1)
                    if O.shape != B.shape or (o - (o @ b.T) @ b).abs().max() > 1e-5:
                        raise ValueError(f"{path}: layer {i} {name} is not a basis of the same space")
                    setattr(m.expansion, name, O.to(B.dtype))


def prox_input(data, op: str, n: int = 16) -> torch.Tensor:
    """The first proximal network's input u0 - tau grad E(u0) on ``n`` training phantoms (tau = 1/||A||^2)."""
    from equinet.utils.seeding import generator
    physics, *_ = data.operator(op)
    x = data.pool(op, 0)[:n]
    y = physics.measure(x, generator(data.cfg.seed, 99))
    u0 = physics.pinv(y)
    return u0 - physics.grad_data_fidelity(u0, y) / physics.norm() ** 2


def layer_report(net) -> list:
    """Per convolution: (kind, coefficients, relative Adam step lr-free: sqrt(coefficients per out channel) / gain)."""
    rows = []
    for m in net.body:
        if isinstance(m, SteerableConv2d):
            rows.append((f"{m.in_type.size}->{m.out_type.size}", m.weight.numel(),
                         float(np.sqrt(m.weight.numel() / m.out_type.size) / m.gain)))
        elif hasattr(m, "conv") and isinstance(m.conv, torch.nn.Conv2d):
            w = m.conv.weight
            rows.append((f"{w.shape[1]}->{w.shape[0]}", w.numel(), float(np.sqrt(w[0].numel()) / np.sqrt(2.0))))
    return rows


def static(cfg, data, inits: int) -> dict:
    from equinet.experiments.comparison.models import build_prox_specs
    out = {}
    for op in cfg.operators:
        z = prox_input(data, op).double()
        ch = data.operator(op)[1]
        specs = build_prox_specs(cfg, ch)
        for key in KEYS:
            spec = specs[key]
            ms, ranks = [], []
            for s in range(inits):
                torch.manual_seed(s)
                net = build(cfg.net, spec).double()  # the output layer is not zeroed: every layer is looked at
                acts = []
                hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o.detach())) for m in net.body]
                with torch.no_grad():
                    net(z)
                for h in hooks:
                    h.remove()
                ms.append([float(a.pow(2).mean()) for a in acts])
                rk = []
                for a in acts:
                    A = a.transpose(0, 1).reshape(a.shape[1], -1)
                    sv = torch.linalg.svdvals(A - A.mean(1, keepdim=True))
                    rk.append(int((sv > 1e-6 * sv.max()).sum()))
                ranks.append(rk)
            names = [type(m).__name__ for m in net.body]
            ms = np.array(ms)
            entry = dict(group=spec.G.name, fields=spec.width, channels=spec.width * spec.hidden_rep.size,
                         params_per_prox=sum(p.numel() for p in net.parameters()), layers=names,
                         conv=layer_report(net), rank=np.array(ranks).min(0).tolist(),
                         mean_square_median=np.median(ms, 0).tolist(), mean_square_q10=np.quantile(ms, .1, 0).tolist(),
                         mean_square_q90=np.quantile(ms, .9, 0).tolist(), input_mean_square=float(z.pow(2).mean()))
            out[f"{op}/{key}"] = entry
            print(f"[{op}] {key:3s} {entry['group']}: {entry['fields']} fields, {entry['channels']} channels, "
                  f"{entry['params_per_prox']} parameters per proximal network")
            print("      convolutions (in->out, coefficients, Adam step / filter norm per unit lr): "
                  + ", ".join(f"{c[0]} {c[1]} {c[2]:.2f}" for c in entry["conv"]))
            print("      output rank over channels: " + " ".join(
                f"{n[:4]}:{r}/{a}" for n, r, a in zip(names, entry["rank"], [x.shape[1] for x in acts])))
            print("      mean square at init, median [10-90 %]: " + " ".join(
                f"{n[:4]}:{m:.3g}[{lo:.2g}-{hi:.2g}]" for n, m, lo, hi in
                zip(names, entry["mean_square_median"], entry["mean_square_q10"], entry["mean_square_q90"])))
    return out


def mix_bases(model, seed: int) -> None:
    """Rotate every basis block of every steerable layer by a random orthogonal matrix (same span, same initial
    law of the filters), then zero the output layers again."""
    g = torch.Generator().manual_seed(seed)
    for net in model.prox:
        for m in net.modules():
            if isinstance(m, SteerableConv2d):
                for name, *_ in m.expansion.blocks:
                    B = getattr(m.expansion, name)
                    Q = torch.linalg.qr(torch.randn(B.shape[0], B.shape[0], generator=g, dtype=torch.float64))[0]
                    setattr(m.expansion, name, (Q @ B.double().reshape(B.shape[0], -1)).reshape(B.shape).to(B.dtype))
        net.zero_output_layer()


def train(cfg, data, op: str, models, seeds, size: int, mix: int, basis: str = None) -> list:
    from equinet.experiments.comparison.models import build_model, build_prox_specs
    from equinet.experiments.comparison.operators import to_metric_images
    from equinet.experiments.comparison.run import reconstruct
    from equinet.experiments.comparison.statistics import image_metrics
    from equinet.training import fit_supervised
    from equinet.utils.seeding import derived_seed
    physics, ch, _, _, ys = data.operator(op)
    specs = build_prox_specs(cfg, ch)
    rows = []
    for key in models:
        for s in seeds:
            seed = derived_seed(cfg.seed, 40, 0) if s < 0 else s
            torch.manual_seed(seed)
            model = build_model(cfg, specs[key], physics, ch)
            if basis and key == "c8":
                load_basis(model, basis)
            if mix >= 0:
                mix_bases(model, mix)
            t0 = time.perf_counter()
            hist = fit_supervised(model, physics, data.pool(op, 0)[:size], steps=cfg.steps,
                                  batch_size=cfg.batch_size, lr=cfg.lr, schedule=cfg.schedule,
                                  seed=derived_seed(cfg.seed, 50, 0, size) % 2**31)
            loss = np.array(hist.loss)
            u = to_metric_images(reconstruct(model, physics, ys["held-out"]), ch)
            psnr = float(np.mean(image_metrics(u, data.tests["held-out"])[0]))
            row = dict(operator=op, model=key, init_seed=s, mix=mix, basis=basis if key == "c8" else None, steps=cfg.steps, lr=cfg.lr, train_size=size,
                       final_loss=float(loss[-max(1, len(loss) // 10):].mean()), psnr_held_out=psnr,
                       seconds=time.perf_counter() - t0)
            rows.append(row)
            print(f"[{op}] {key} init seed {s} mix {mix} basis {row['basis']}: final loss {row['final_loss']:.3e}, held-out PSNR "
                  f"{psnr:.2f} dB ({row['seconds']:.0f} s)", flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--part", choices=("static", "train", "dump-basis"), default="static")
    p.add_argument("--basis", default=None, help="dump-basis: where to save; train: C8 bases to load (.npz)")
    p.add_argument("--operators", default="mri,ct")
    p.add_argument("--models", default="c4,c8")
    p.add_argument("--seeds", default="-1", help="initialisation seeds; -1 = the comparison's own")
    p.add_argument("--inits", type=int, default=20, help="initialisations per model (static part)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--train-size", type=int, default=100)
    p.add_argument("--mix", type=int, default=-1, help="rotate the bases with this seed (-1: canonical bases)")
    p.add_argument("--seed", type=int, default=0, help="the comparison's seed (data, operator, test set)")
    p.add_argument("--out", default="outputs/diagnose_c8_mri")
    p.add_argument("--lowdin", action="store_true", help="dump-basis: the symmetric (Löwdin) orthonormal bases of "
                   "this checkout instead of its canonical ones")
    a = p.parse_args(argv)
    models = [m for m in a.models.split(",") if m]
    bad = [m for m in models if m not in KEYS]
    if bad:
        p.error(f"--models must be a subset of {KEYS}, got {bad}")
    if a.inits < 1 or a.steps < 1 or a.train_size < 1:
        p.error("--inits, --steps and --train-size must be >= 1")
    warnings.filterwarnings("ignore", message="the closest")
    torch.set_num_threads(1)
    if a.part == "dump-basis":
        if not a.basis:
            p.error("--part dump-basis needs --basis FILE.npz")
        dump_basis(a.basis, lowdin=a.lowdin)
        return 0
    from equinet.experiments.comparison.config import ComparisonConfig
    from equinet.experiments.comparison.data import ComparisonData
    from equinet.utils.io import write_json
    cfg = ComparisonConfig.quick(operators=tuple(a.operators.split(",")), steps=a.steps, lr=a.lr, seed=a.seed)
    data = ComparisonData(cfg, torch.device("cpu"))
    os.makedirs(a.out, exist_ok=True)
    if a.part == "static":
        res = static(cfg, data, a.inits)
    else:
        seeds = [int(s) for s in a.seeds.split(",")]
        res = {"runs": [r for op in cfg.operators for r in train(cfg, data, op, models, seeds, a.train_size, a.mix,
                                                                  a.basis)]}
    res["command"] = " ".join(["python", "experiments/diagnose_c8_mri.py"] + (sys.argv[1:] if argv is None else argv))
    write_json(os.path.join(a.out, f"{a.part}.json"), res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
