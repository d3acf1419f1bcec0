"""equinet's plain U-Net against deepinv 0.5's, side by side on one CPU protocol (and the ablation that explains
the difference).

Protocol (one process, the same data, losses, optimiser, seeds and training loop for every network; only the
backbone differs): 64 x 64 images, 128 training and 32 test images, 1440 Adam steps of 8 at lr 1e-3 (constant),
the reconstructor ``x = A†y + net(A†y)`` trained with equinet's `Trainer`;

* ``ct``: ellipse phantoms, 50-view Radon, Gaussian noise of 5 % of the training sinograms' RMS;
* ``inpainting``: crops of scikit-image's photographs, 30 % of the pixels dropped, Gaussian noise σ = 0.01;

methods ``sup`` (supervised) and ``ei`` (MC + EI: rotations by 1° multiples for CT, circular shifts for
inpainting; the EI term re-measures noise-free). Networks (``--nets``):

* ``deepinv``: ``deepinv.models.UNet(scales=3, channels_per_scale=(16, 32, 64), residual=False)`` (130k
  parameters); needs deepinv (``.venv-dinv``, see docs/benchmarks.md);
* ``equinet``: ``build('unet', NetSpec('C1', width=16, depth=2, kernel_size=3, batch_norm=True), scales=2)``
  with equinet's defaults (130289 parameters); ``equinet-tout``: its read-out at PyTorch's initialisation;
* ``equinet-nearest``: the default with deepinv's nearest-neighbour up-sampling;
* ``equinet-v1``: the U-Net of equinet <= 0.3 (average-pool down, bilinear up, no up-convolution,
  k x k output convolution, He init) at width 17 (134k parameters): the baseline the ablation starts from;
* ablation steps ``abl-*``: one change each from ``equinet-v1`` (see ``VARIANTS``).

Prints the PSNR table (mean over test images; with several ``--init-seed`` values, each initialisation's PSNR and
their mean ± std) and the differences of the means to deepinv; ``--json`` writes everything.

    .venv-dinv/bin/python experiments/benchmarks/bench_unet_vs_deepinv.py --threads 1     # the table
    .venv-dinv/bin/python experiments/benchmarks/bench_unet_vs_deepinv.py --threads 1 --methods sup \\
        --nets equinet-v1,abl-all,abl-all-tinit,abl-init,equinet-tout                      # the ablation

One supervised run takes about 4 CPU-minutes, an EI run about 12 (one thread); several processes of one thread
each run side by side much faster than one process of two threads on a busy machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from equinet.data import EllipsePhantoms, NaturalImageCrops, PairedMeasurementDataset, simulate_measurements  # noqa
from equinet.losses import EILoss, LossSum, MCLoss, SupervisedLoss  # noqa: E402
from equinet.metrics import psnr  # noqa: E402
from equinet.nets import NetSpec, PinvReconstructor, build  # noqa: E402
from equinet.physics import GaussianNoise, Inpainting, Radon  # noqa: E402
from equinet.training import Trainer  # noqa: E402
from equinet.transforms import Rotate, Shift  # noqa: E402

warnings.filterwarnings("ignore")
SIZE, N_TRAIN, N_TEST = 64, 128, 32

#: equinet U-Net variants: keyword arguments of `build('unet', ...)` and of `NetSpec` (width), starting from v1
V1 = dict(width=17, down="avg", up="resize", out_kernel=None, init="he")
VARIANTS = {
    "equinet-v1": V1,
    "abl-maxpool": dict(V1, down="max"),
    "abl-upconv": dict(V1, up="conv"),
    "abl-1x1": dict(V1, out_kernel=1),
    "abl-init": dict(V1, init="torch"),
    "abl-all": dict(width=16, down="max", up="conv", out_kernel=1, init="he"),   # deepinv's layout, equinet's init
    "abl-all-tinit": dict(width=16, down="max", up="conv", out_kernel=1, init="torch"),
    "abl-init-only": dict(V1, init="bn-gain"),                # v1 with equinet's gain for normalised convolutions
}


def deepinv_unet():
    import deepinv
    return deepinv.models.UNet(1, 1, residual=False, scales=3, channels_per_scale=(16, 32, 64))


def nearest_resize(x, ref):
    """Nearest-neighbour up-sampling to ``ref``'s size (deepinv's ``nn.Upsample(scale_factor=2)``)."""
    return torch.nn.functional.interpolate(x, size=ref.shape[-2:], mode="nearest")


#: equinet's default U-Net and its variants: how the skip connections up-sample
DEFAULT_VARIANTS = {"equinet": "bilinear", "equinet-tout": "bilinear", "equinet-nearest": "nearest"}


def equinet_unet(name: str):
    if name in DEFAULT_VARIANTS:
        net = build("unet", NetSpec("C1", width=16, depth=2, kernel_size=3, batch_norm=True), scales=2,
                    residual=False)
        if name == "equinet-tout":  # the read-out convolution at PyTorch's default initialisation
            net.out.conv.reset_parameters()
        return net
    import equinet.nets.proximal as proximal
    v = dict(VARIANTS[name])
    width, init = v.pop("width"), v.pop("init")
    default = proximal.NORMALISED_GAIN
    proximal.NORMALISED_GAIN = 2 ** 0.5 if init in ("he", "torch") else default  # 'he': equinet <= 0.3's gain
    try:
        net = build("unet", NetSpec("C1", width=width, depth=2, kernel_size=3, batch_norm=True), scales=2,
                    residual=False, **v)
    finally:
        proximal.NORMALISED_GAIN = default
    if init == "torch":  # PyTorch's default (Kaiming-uniform, a = sqrt(5); uniform bias), as deepinv's layers
        for m in net.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.reset_parameters()
    return net


def backbone(name: str, seed: int):
    torch.manual_seed(seed)  # the initialisation's seed
    return deepinv_unet() if name == "deepinv" else equinet_unet(name)


def problem(name: str, seed: int):
    """(physics, EI transform, train dataset with ground truth, test (x, y))."""
    g = torch.Generator().manual_seed(seed)
    if name == "ct":
        x = EllipsePhantoms(N_TRAIN + N_TEST, SIZE, seed=seed).render(range(N_TRAIN + N_TEST))
        clean = Radon(SIZE, angles=50)
        with torch.no_grad():
            sigma = 0.05 * float(clean(x[:N_TRAIN]).pow(2).mean().sqrt())
        A = Radon(SIZE, angles=50, noise=GaussianNoise(sigma))
        T = Rotate(multiples=1.0, interpolation="bilinear")
    else:
        x = torch.stack([c for c in NaturalImageCrops(N_TRAIN + N_TEST, SIZE, seed=seed)])
        x = x[torch.randperm(x.shape[0], generator=g)]
        A = Inpainting(SIZE, drop=0.3, seed=seed, noise=GaussianNoise(0.01))
        T = Shift(image_size=SIZE)
    data = simulate_measurements(A, x, seed=seed + 1, ground_truth=True)
    train = PairedMeasurementDataset(data.x[:N_TRAIN], data.y[:N_TRAIN])
    return A, T, train, (data.x[N_TRAIN:], data.y[N_TRAIN:])


def loss_of(method: str, A, T):
    if method == "sup":
        return SupervisedLoss()
    return LossSum([MCLoss(weight=1.0 / float(A.norm()) ** 2), EILoss(T)])


def run(net_name, prob, method, steps, batch, lr, seed, cache, init_seed=None):
    if prob not in cache:
        cache[prob] = problem(prob, seed)
    A, T, train, (xt, yt) = cache[prob]
    init_seed = seed + 7 if init_seed is None else init_seed
    model = PinvReconstructor(backbone(net_name, init_seed), residual=True, init="pinv")
    params = sum(p.numel() for p in model.parameters())
    import equinet.nets.proximal as proximal
    bilinear = proximal.resize_like
    if DEFAULT_VARIANTS.get(net_name) == "nearest":  # the U-Net's forward looks it up per call
        proximal.resize_like = nearest_resize
    try:
        t0 = time.perf_counter()
        Trainer(model, loss_of(method, A, T), A, train, steps=steps, batch_size=batch,
                optimizer=lambda p: torch.optim.Adam(p, lr=lr), seed=seed, log_every=steps, plots=False).fit()
        sec = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            u = torch.cat([model(yt[i:i + 16], A) for i in range(0, yt.shape[0], 16)])
    finally:
        proximal.resize_like = bilinear
    return dict(net=net_name, problem=prob, method=method, params=params, seconds=sec,
                init_seed=init_seed,
                psnr=float(psnr(u.double(), xt.double(), 1.0).mean()))


def summary(rows):
    """Markdown: per (problem, method, network) the PSNR of every initialisation, their mean ± std, and the
    difference of the means to deepinv's."""
    import statistics
    groups = {}
    for r in rows:
        groups.setdefault((r["problem"], r["method"], r["net"]), []).append(r)
    mean = {k: statistics.fmean(r["psnr"] for r in g) for k, g in groups.items()}
    lines = ["| problem | method | network | parameters | PSNR per initialisation (seed: dB) | mean ± std | − deepinv |",
             "| --- | --- | --- | ---: | --- | ---: | ---: |"]
    for (prob, method, net), g in groups.items():
        ref = mean.get((prob, method, "deepinv"))
        sd = statistics.stdev(r["psnr"] for r in g) if len(g) > 1 else 0.0
        lines.append(f"| {prob} | {method} | {net} | {g[0]['params']} | "
                     + ", ".join(f"{r['init_seed']}: {r['psnr']:.2f}" for r in g)
                     + f" | {mean[(prob, method, net)]:.2f} ± {sd:.2f} | "
                     + ("" if ref is None else f"{mean[(prob, method, net)] - ref:+.2f}") + " |")
    return "\n".join(lines)


def main(argv=None):
    words = lambda s: [w for w in s.replace(",", " ").split() if w]  # noqa: E731
    ap = argparse.ArgumentParser(prog="bench_unet_vs_deepinv.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--nets", type=words, default=["equinet", "deepinv"],
                    help="networks to train: deepinv, " + ", ".join([*DEFAULT_VARIANTS, *VARIANTS]))
    ap.add_argument("--problems", type=words, default=["ct", "inpainting"], help="ct and/or inpainting")
    ap.add_argument("--methods", type=words, default=["sup", "ei"], help="sup and/or ei")
    ap.add_argument("--steps", type=int, default=1440, help="Adam steps of every run (default 1440)")
    ap.add_argument("--batch-size", type=int, default=8, help="images per step (default 8)")
    ap.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate, constant (default 1e-3)")
    ap.add_argument("--seed", type=int, default=0, help="data, initialisation and sampling seed (default 0)")
    ap.add_argument("--init-seed", type=lambda t: [int(w) for w in words(t)], default=[None],
                    help="seeds of the networks' initial weights, e.g. '7,1,2,3,4': every network is trained from "
                         "each, and the table gives their mean and spread (default: --seed + 7)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--json", default=None, help="write the rows to this JSON file")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    cache, rows = {}, []
    for prob in a.problems:
        for method in a.methods:
            for init in a.init_seed:
                for net in a.nets:
                    r = run(net, prob, method, a.steps, a.batch_size, a.lr, a.seed, cache, init)
                    rows.append(r)
                    print(f"{prob:10s} {method:4s} {net:14s} init {r['init_seed']:3d} {r['params']:7d} params  "
                          f"{r['psnr']:6.2f} dB  {r['seconds']:6.0f} s", flush=True)
    print("\n" + summary(rows))
    if a.json:
        from equinet.utils.io import write_json
        write_json(a.json, dict(settings=vars(a), rows=rows), indent=1)


if __name__ == "__main__":
    main()
