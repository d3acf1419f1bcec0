"""Fig. 6 of the imaging paper: DnCNN denoisers with and without biases (LeakyReLU), trained on a band of noise
levels (input PSNR about 26-34 dB) and tested over a wide range; output PSNR vs input PSNR. Without biases a
residual DnCNN is positively homogeneous, f(c y) = c f(y) (equivariant to the scaling group), which is what makes it
robust to noise levels not seen in training. Run for the plain CNN and for the C4-equivariant DnCNN (same number of
channels). Training: crops of 8 scikit-image photographs; test: crops of 2 others. Every network starts as the
identity (its last convolution zeroed): from a random last layer the initial output of a bias-free network is a
seed-dependent multiple of the image's mean intensity (measured rms 0.05 to 0.9 over four seeds), and the run that
started badly never recovered in 2000 steps (docs/reproduce_bias_free.md).
``python -m equinet reproduce bias-free``; docs/reproduce_bias_free.md.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from ...data import NaturalImageCrops
from ...losses import SupervisedLoss
from ...nets import NetSpec, build, count_parameters
from ...physics import Denoising
from ...reconstructors import PinvReconstructor
from ...training import Trainer
from ...training.schedules import CosineSchedule
from ...utils.io import save_figure
from ...utils.progress import Progress
from ...utils.seeding import derived_seed
from ..runner import Task, prepare_output, run_jobs, seeded, thread_limit, write_table
from .common import check_fields, cli, psnr_per_image, reconstruct, run_dir
from .ei_table1 import TEST_PHOTOS, TRAIN_PHOTOS

__all__ = ["BiasFreeConfig", "run_bias_free", "main", "MODELS", "PAPER"]

#: (group, bias) of the four denoisers
MODELS = (("C1", True), ("C1", False), ("C4", True), ("C4", False))
#: Fig. 6 of the imaging paper: at input PSNR 9.9 dB
PAPER = {"input_psnr": 9.9, "with_bias": 15.2, "bias_free": 21.0}
#: how the last convolution starts: zeroed (the network starts as the identity) or randomly (He) initialised
OUTPUT_INITS = ("zero", "random")
#: widths (pixels) searched by the Gaussian-filter reference
GAUSS_WIDTHS = tuple(round(0.3 + 0.1 * i, 1) for i in range(48))


@dataclass(frozen=True)
class BiasFreeConfig:
    """Settings (see `quick`, `full`). Training noise: sigma uniform in ``train_sigma`` (input PSNR
    ``-20 log10 sigma``: 0.02-0.05 is 34-26 dB); test noise levels ``test_sigmas``. ``models``: the (group,
    bias) pairs trained, groups 'C1' or 'C4'. ``output_init``: 'zero' (start as the identity) or 'random'."""

    mode: str = "full"
    seed: int = 0
    patch: int = 40
    test_size: int = 64
    n_train: int = 2000
    n_test: int = 16
    channels: int = 64
    depth: int = 17
    steps: int = 30000
    batch_size: int = 64
    lr: float = 1e-3
    train_sigma: Tuple[float, float] = (0.02, 0.05)
    test_sigmas: Tuple[float, ...] = (0.01, 0.02, 0.035, 0.05, 0.08, 0.12, 0.18, 0.25, 0.32, 0.45)
    models: Tuple[Tuple[str, bool], ...] = MODELS
    output_init: str = "zero"
    workers: int = 1
    threads: Optional[int] = None
    device: str = "auto"

    def __post_init__(self):
        check_fields(self, ("patch", "test_size", "n_train", "n_test", "channels", "depth", "steps", "batch_size",
                            "workers"), ("lr",))
        lo, hi = self.train_sigma
        if not 0 < lo <= hi:
            raise ValueError(f"train_sigma must satisfy 0 < low <= high, got {self.train_sigma!r}")
        if not self.test_sigmas or min(self.test_sigmas) <= 0:
            raise ValueError(f"test_sigmas must be positive noise levels, got {self.test_sigmas!r}")
        if self.channels % 4:
            raise ValueError(f"channels must be a multiple of 4 (the C4 network has channels/4 regular fields), "
                             f"got {self.channels}")
        models = tuple(tuple(m) for m in self.models) if isinstance(self.models, (tuple, list)) else ()
        if not models or any(len(m) != 2 or m[0] not in ("C1", "C4") or not isinstance(m[1], bool) for m in models):
            raise ValueError(f"models must be a non-empty sequence of (group, bias) pairs with group 'C1' or 'C4' "
                             f"and bias a bool, got {self.models!r}")
        if len(set(models)) != len(models):
            raise ValueError(f"models must not repeat a (group, bias) pair, got {self.models!r}")
        object.__setattr__(self, "models", models)
        if self.output_init not in OUTPUT_INITS:
            raise ValueError(f"output_init must be one of {OUTPUT_INITS}, got {self.output_init!r}")

    @classmethod
    def quick(cls, **kw) -> "BiasFreeConfig":
        """16 channels, 7 convolutions, 2000 steps of 16 patches: 4-6 min of training per model on one core."""
        return cls(**{**dict(mode="quick", n_train=512, channels=16, depth=7, steps=2000, batch_size=16, workers=2,
                             threads=1, device="cpu"), **kw})

    @classmethod
    def full(cls, **kw) -> "BiasFreeConfig":
        """DnCNN-sized (17 convolutions, 64 channels), 30000 steps of 64 patches; for a GPU."""
        return cls(**{"mode": "full", **kw})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def denoiser(cfg: BiasFreeConfig, group: str, bias: bool) -> PinvReconstructor:
    """A residual DnCNN ``y + body(y)`` (LeakyReLU), ``cfg.channels`` channels (C4: channels/4 regular fields);
    with ``cfg.output_init == 'zero'`` the last convolution is zeroed, so the network starts as the identity."""
    width = cfg.channels if group == "C1" else cfg.channels // 4
    spec = NetSpec(group=group, width=width, depth=cfg.depth, kernel_size=3, bias=bias, activation="leaky_relu")
    net = build("dncnn", spec, residual=True)
    if cfg.output_init == "zero":
        net.zero_output_layer()
    return PinvReconstructor(net, residual=False)


def gaussian_filter(y: torch.Tensor, width: float) -> torch.Tensor:
    """Separable Gaussian filter of standard deviation ``width`` pixels (radius ``ceil(3 width)``, reflected edges)."""
    r = max(1, int(math.ceil(3 * width)))
    if r >= min(y.shape[-2:]):
        raise ValueError(f"gaussian_filter: width {width} needs images larger than {r} pixels, got "
                         f"{tuple(y.shape[-2:])}")
    t = torch.arange(-r, r + 1, dtype=y.dtype)
    k = torch.exp(-t ** 2 / (2.0 * width ** 2))
    k = k / k.sum()
    yp = F.pad(y, (r, r, r, r), mode="reflect")
    c = y.shape[1]
    yp = F.conv2d(yp, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(yp, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def gaussian_reference(data, widths=GAUSS_WIDTHS) -> dict:
    """Per test sigma: (input PSNR, best output PSNR of `gaussian_filter` over ``widths``, that width). An
    oracle reference (the width is chosen with the clean images), not a competing method."""
    out = {}
    for s, y in data.y_test.items():
        cin = float(psnr_per_image(y, data.x_test).mean())
        best = max((float(psnr_per_image(gaussian_filter(y, w), data.x_test).mean()), w)
                   for w in widths if math.ceil(3 * w) < min(y.shape[-2:]))
        out[s] = (cin, best[0], best[1])
    return out


class _BandNoise:
    """``y = x + sigma n`` with ``sigma`` uniform in ``[lo, hi]`` per image (the trainer's ``measure``)."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        s = self.lo + (self.hi - self.lo) * torch.rand(x.shape[0], 1, 1, 1, generator=generator, dtype=x.dtype)
        return x + s * torch.randn(x.shape, generator=generator, dtype=x.dtype)


class _Data:
    def __init__(self, cfg: BiasFreeConfig):
        crops = lambda n, size, seed, names: torch.stack(list(NaturalImageCrops(n, size, seed=seed, images=names)))  # noqa: E731
        self.x_train = crops(cfg.n_train, cfg.patch, derived_seed(cfg.seed, 1) % 2 ** 31, TRAIN_PHOTOS)
        self.x_test = crops(cfg.n_test, cfg.test_size, derived_seed(cfg.seed, 2) % 2 ** 31, TEST_PHOTOS)
        g = torch.Generator().manual_seed(derived_seed(cfg.seed, 3) % 2 ** 31)
        noise = torch.randn(self.x_test.shape, generator=g)
        self.y_test = {s: self.x_test + s * noise for s in cfg.test_sigmas}  # the same noise pattern, scaled
        # the same test, the clean images' mean intensity removed: how much a denoiser leans on it
        self.x_test0 = self.x_test - self.x_test.mean((2, 3), keepdim=True)
        self.y_test0 = {s: self.x_test0 + s * noise for s in cfg.test_sigmas}


#: the settings a training run depends on (a checkpoint written with others is not resumed)
_TRAINING_FIELDS = ("seed", "patch", "n_train", "channels", "depth", "lr", "train_sigma", "output_init")


class BiasFreeTask(Task):
    def __init__(self, cfg: BiasFreeConfig, out: str):
        self.cfg, self.out = cfg, out

    def prepare(self):
        return _Data(self.cfg)

    def describe(self, job):
        return f"{job[0]} {'bias' if job[1] else 'bias-free'}"

    def run(self, job, data: _Data, progress) -> dict:
        cfg, (group, bias) = self.cfg, job
        with seeded(derived_seed(cfg.seed, 4, MODELS.index(job))):
            model = denoiser(cfg, group, bias)
        physics = Denoising()
        with torch.no_grad():  # the starting point: output PSNR of the untrained network at the band centre
            s0 = min(cfg.test_sigmas, key=lambda s: abs(s - sum(cfg.train_sigma) / 2))
            init_psnr = float(psnr_per_image(reconstruct(model, physics, data.y_test[s0]), data.x_test).mean())
        cb = lambda step, v: progress.update(1, postfix=f"loss={v:.3g}")  # noqa: E731
        trainer = Trainer(model, SupervisedLoss(), physics, data.x_train, steps=cfg.steps, batch_size=cfg.batch_size,
                          optimizer=lambda p: torch.optim.Adam(p, lr=cfg.lr),
                          scheduler=lambda o, n: CosineSchedule(o, n), seed=derived_seed(cfg.seed, 5) % 2 ** 31,
                          device=cfg.device, measure=_BandNoise(*cfg.train_sigma), callback=cb,
                          out=run_dir(self.out, group, "bias" if bias else "biasfree"),
                          checkpoint_every=max(1, cfg.steps // 5), log_every=max(1, cfg.steps // 20), plots=False,
                          fingerprint=dict(group=group, bias=bias, **{k: getattr(cfg, k) for k in _TRAINING_FIELDS}))
        hist = trainer.fit()
        model = model.cpu()
        curve, curve0, example = {}, {}, None
        for s, y in data.y_test.items():
            u = reconstruct(model, physics, y)
            curve[s] = (float(psnr_per_image(y, data.x_test).mean()), float(psnr_per_image(u, data.x_test).mean()))
            u0 = reconstruct(model, physics, data.y_test0[s])
            curve0[s] = float(psnr_per_image(u0, data.x_test0).mean())
            if s == max(cfg.test_sigmas):
                example = u[0, 0].numpy().copy()
        with torch.no_grad():  # positive homogeneity f(c y) = c f(y), measured
            y = data.y_test[max(cfg.test_sigmas)][:4]
            f1 = reconstruct(model, physics, 3.0 * y)
            f2 = 3.0 * reconstruct(model, physics, y)
            homog = float((f1 - f2).abs().max() / f2.abs().max())
        return dict(group=group, bias=bias, params=count_parameters(model), curve=curve, curve_zero_mean=curve0,
                    seconds=hist.seconds, homogeneity_error=homog, example=example, init_psnr=(s0, init_psnr))


FIELDS = ("group", "bias", "params", "sigma", "input_psnr", "output_psnr", "output_psnr_zero_mean",
          "in_training_band", "homogeneity_error", "train_seconds")


def interpolate_at(curve: dict, target_in: float) -> float:
    """Output PSNR at input PSNR ``target_in``, linearly interpolated along the measured curve."""
    pts = sorted(curve.values())
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return float(np.interp(target_in, xs, ys))


def _label(r: dict) -> str:
    return f"{r['group']} {'bias' if r['bias'] else 'bias-free'}"


def run_bias_free(cfg: BiasFreeConfig, out: str = "outputs/reproduce/bias-free", progress: bool = True) -> List[dict]:
    """Run the denoisers of ``cfg.models``; writes ``table.*`` and ``psnr_curves.png`` to ``out``. Returns the
    rows (one per model and test sigma, then one per sigma for the Gaussian-filter reference, group 'gauss')."""
    if not isinstance(cfg, BiasFreeConfig):
        raise TypeError(f"cfg must be a BiasFreeConfig, got {type(cfg).__name__}")
    out = prepare_output(out)
    t0 = time.perf_counter()
    task = BiasFreeTask(cfg, out)
    with thread_limit(cfg.threads):
        data = task.prepare()
        gauss = gaussian_reference(data)
        bar = Progress(total=len(cfg.models) * cfg.steps, desc="bias-free", unit="step", quiet=not progress)
        res = run_jobs(task, list(cfg.models), workers=cfg.workers, threads=cfg.threads, progress=bar, state=data)
        bar.close()
    lo, hi = cfg.train_sigma
    rows = [dict(group=r["group"], bias=r["bias"], params=r["params"], sigma=s, input_psnr=ci, output_psnr=co,
                 output_psnr_zero_mean=r["curve_zero_mean"][s], in_training_band=lo <= s <= hi,
                 homogeneity_error=r["homogeneity_error"], train_seconds=r["seconds"])
            for r in res for s, (ci, co) in sorted(r["curve"].items())]
    rows += [dict(group="gauss", bias=None, params=0, sigma=s, input_psnr=ci, output_psnr=co, gauss_width=w,
                  in_training_band=lo <= s <= hi) for s, (ci, co, w) in sorted(gauss.items())]
    at = {_label(r): interpolate_at(r["curve"], PAPER["input_psnr"]) for r in res}
    gauss_at = interpolate_at({s: v[:2] for s, v in gauss.items()}, PAPER["input_psnr"])
    wall = time.perf_counter() - t0
    _figure(cfg, out, res, data, gauss)
    md = [f"# Imaging paper, Fig. 6: bias-free denoisers ({cfg.mode} mode)", "",
          f"Residual DnCNN, {cfg.depth} convolutions, {cfg.channels} channels, LeakyReLU, last convolution "
          f"initialised {'to zero (starts as the identity)' if cfg.output_init == 'zero' else 'randomly'}; trained "
          f"for {cfg.steps} Adam steps of {cfg.batch_size} {cfg.patch}x{cfg.patch} patches with sigma ~ "
          f"U{tuple(cfg.train_sigma)} (input PSNR {-20 * math.log10(hi):.1f}-{-20 * math.log10(lo):.1f} dB); "
          f"tested on {cfg.n_test} {cfg.test_size}x{cfg.test_size} crops of held-out photographs; seed {cfg.seed}; "
          f"wall time {wall / 60:.1f} min. Output PSNR (dB) per test noise level (Gaussian filter: the best width "
          "per sigma, chosen with the clean images, a reference):", "",
          "| sigma | input PSNR | " + " | ".join(at) + " | Gaussian filter |",
          "| ---: | ---: |" + " ---: |" * (len(at) + 1)]
    for s in sorted(cfg.test_sigmas):
        cin = res[0]["curve"][s][0]
        band = " (train band)" if lo <= s <= hi else ""
        md.append(f"| {s:g}{band} | {cin:.2f} | " + " | ".join(f"{r['curve'][s][1]:.2f}" for r in res)
                  + f" | {gauss[s][1]:.2f} |")
    md += ["", f"At input PSNR {PAPER['input_psnr']} dB (interpolated): "
           + ", ".join(f"{k} {v:.2f} dB" for k, v in at.items()) + f", Gaussian filter {gauss_at:.2f} dB"
           + f"; paper: with bias {PAPER['with_bias']} dB, bias-free {PAPER['bias_free']} dB.", "",
           "Homogeneity error max|f(3y) − 3f(y)| / max|3f(y)|: "
           + ", ".join(f"{k} {r['homogeneity_error']:.2g}" for k, r in zip(at, res)) + ".", "",
           "Untrained (start) output PSNR at sigma " + f"{res[0]['init_psnr'][0]:g}: "
           + ", ".join(f"{k} {r['init_psnr'][1]:.2f} dB" for k, r in zip(at, res)) + ".", "",
           "Mean intensity removed from the clean test images (same noise), output PSNR (dB) x → x − mean(x):", "",
           "| sigma | " + " | ".join(at) + " |", "| ---: |" + " ---: |" * len(at)]
    for s in sorted(cfg.test_sigmas):
        md.append(f"| {s:g} | " + " | ".join(f"{r['curve'][s][1]:.2f} → {r['curve_zero_mean'][s]:.2f}" for r in res)
                  + " |")
    write_table(out, rows, FIELDS, cfg.to_dict(), markdown="\n".join(md) + "\n", wall_seconds=wall,
                at_paper_input_psnr=at, gaussian_at_paper_input_psnr=gauss_at, paper=PAPER,
                init_psnr={k: r["init_psnr"] for k, r in zip(at, res)})
    return rows


def _figure(cfg: BiasFreeConfig, out: str, res: List[dict], data: _Data, gauss: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
    ax = axes[0]
    for r in res:
        pts = sorted(r["curve"].values())
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3,
                ls="-" if r["bias"] else "--", label=f"{r['group']} {'with bias' if r['bias'] else 'bias-free'}")
    pts = sorted(v[:2] for v in gauss.values())
    ax.plot([p[0] for p in pts], [p[1] for p in pts], color="k", ls=":", lw=1,
            label="Gaussian filter (best width per level)")
    ax.plot([p[0] for p in pts], [p[0] for p in pts], color="0.6", lw=0.8, label="identity (no denoising)")
    ax.plot([PAPER["input_psnr"]] * 2, [PAPER["with_bias"], PAPER["bias_free"]], ls="none", marker="x", color="r",
            label="paper at 9.9 dB (bias, bias-free)")
    lo, hi = cfg.train_sigma
    ax.axvspan(-20 * math.log10(hi), -20 * math.log10(lo), color="0.9", label="training band")
    ax.set_xlabel("input PSNR (dB)")
    ax.set_ylabel("output PSNR (dB)")
    ax.legend(fontsize=7)
    s = max(cfg.test_sigmas)
    y = data.y_test[s][0, 0].numpy()
    pan = np.concatenate([data.x_test[0, 0].numpy(), np.clip(y, 0, 1)]
                         + [np.clip(r["example"], 0, 1) for r in res], axis=1)
    axes[1].imshow(pan, cmap="gray", vmin=0, vmax=1)
    axes[1].set_title(f"clean | noisy (sigma {s:g}) | " + " | ".join(
        f"{r['group']}{'' if r['bias'] else ' BF'}" for r in res), fontsize=7)
    axes[1].axis("off")
    fig.tight_layout()
    save_figure(fig, f"{out}/psnr_curves.png", dpi=110)
    plt.close(fig)


def main(argv=None, prog=None):
    """``python -m equinet reproduce bias-free [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("bias-free", "Imaging paper Fig. 6: DnCNN with and without biases, plain and C4-equivariant.",
               BiasFreeConfig, run_bias_free, argv, prog)
