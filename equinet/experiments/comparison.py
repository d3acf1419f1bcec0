"""Translation- vs roto-translation-equivariant unrolled reconstruction (Fig. 5 of the imaging paper; Celledoni et
al. 2021, "Equivariant neural networks for inverse problems").

Unrolled proximal gradient descent (:class:`equinet.unrolled.UnrolledPGD`) is trained with proximal networks that
are ordinary CNNs (translation equivariant, the ``NetSpec.translation_twin`` of the reference network) or
steerable C4/C8 networks on regular fields (roto-translation equivariant), for several training-set sizes, on
sparse-view CT and Cartesian MRI of random ellipse phantoms. Every model is evaluated on held-out phantoms and on
the same held-out phantoms rotated by arbitrary angles (rotated exactly, by rotating the ellipse parameters),
against the FBP / zero-filled (pseudo-inverse) baseline. See ``docs/experiments.md``.

Entry points: :func:`run_comparison` (a :class:`ComparisonConfig` -> table rows, files written to ``out``) and
:func:`main` (the command line, also ``python -m equinet compare``).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import math
import os
import platform
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..data import EllipsePhantoms
from ..metrics import psnr, ssim
from ..nets.spec import ACTIVATIONS
from ..training import fit_supervised, resolve_device
from ..training.supervised import _derived_seed
from ..utils.io import atomic_path, save_figure, write_json
from ..utils.progress import Progress

__all__ = ["ComparisonConfig", "run_comparison", "main", "MODELS", "OPERATORS", "phantom_params", "rotate_params",
           "render_phantoms", "build_operator", "build_prox_specs", "summarise", "resolve_workers"]

#: model keys: the pseudo-inverse baseline, translation twins of the reference (C8) network, and steerable nets
MODELS = ("pinv", "cnn", "cnn-wide", "c4", "c4-wide", "c8")
OPERATORS = ("ct", "mri")
TEST_SETS = ("held-out", "rotated")
_LABELS = {"pinv": "pseudo-inverse", "cnn": "CNN (params)", "cnn-wide": "CNN (width)", "c4": "C4 (params)",
           "c4-wide": "C4 (width)", "c8": "C8"}


def _label(model: str, operator: str) -> str:
    if model == "pinv":
        return {"ct": "FBP", "mri": "zero-filled"}.get(operator, _LABELS[model])
    return _LABELS[model]


@dataclass
class ComparisonConfig:
    """Settings of the comparison (the defaults are the full mode; :meth:`quick` the ~10-minute CPU mode).

    Data: ``image_size`` x ``image_size`` ellipse phantoms; ``orientation='aligned'`` draws ellipse axes along the
    grid (angle jitter ``orientation_jitter`` degrees) so that the training distribution is invariant only to 90°
    turns and flips and the rotated test set is out of distribution; ``'uniform'`` uses the rotation-invariant
    distribution of :class:`equinet.data.EllipsePhantoms` (the rotated test set is then in distribution).

    Operators: ``'ct'`` = ``Radon(image_size, ct_angles)`` with Gaussian noise of standard deviation
    ``ct_noise`` x the RMS of clean sinograms (FBP with the ``ct_filter`` filter as baseline and initialisation);
    ``'mri'`` = single-coil Cartesian MRI (``mri_acceleration``, ``mri_center_fraction``), images as 2 channels,
    noise ``mri_noise`` x the RMS of the full k-space (= the image RMS); metrics on the magnitude image.

    Models: see :data:`MODELS`. The reference is a C8 DnCNN with ``width`` regular fields; ``cnn``/``c4`` match
    its parameter count, ``cnn-wide``/``c4-wide`` its number of channels (``8 * width``).
    """

    image_size: int = 64
    operators: Tuple[str, ...] = OPERATORS
    models: Tuple[str, ...] = ("pinv", "cnn", "cnn-wide", "c4", "c8")
    train_sizes: Tuple[int, ...] = (10, 30, 100, 300)
    n_test: int = 100
    repeats: int = 1
    steps: int = 3000
    batch_size: int = 8
    lr: float = 1e-3
    schedule: Optional[str] = "cosine"
    n_iter: int = 6
    depth: int = 5
    kernel_size: int = 5
    width: int = 4
    net: str = "dncnn"
    activation: str = "relu"
    init: str = "pinv"
    ct_angles: int = 50
    ct_noise: float = 0.05
    ct_filter: Optional[str] = "hann"
    mri_acceleration: float = 4.0
    mri_center_fraction: float = 0.08
    mri_noise: float = 0.05
    orientation: str = "aligned"
    orientation_jitter: float = 10.0
    figure_index: int = 0
    seed: int = 0
    device: str = "auto"
    threads: Optional[int] = None
    workers: Optional[int] = None
    checkpoints: bool = False
    mode: str = "full"

    @classmethod
    def quick(cls, **overrides) -> "ComparisonConfig":
        """The quick mode: about 10 minutes on 2 CPU cores (64x64 images, small networks, 300 steps, 1 thread per
        process; the command line runs it in 2 worker processes)."""
        base = dict(image_size=64, train_sizes=(10, 30, 100), n_test=32, steps=300, n_iter=4, depth=4, width=2,
                    batch_size=8, lr=2e-3, threads=1, mode="quick")
        base.update(overrides)
        return cls(**base)

    def __post_init__(self):
        self.operators = tuple(self.operators)
        self.models = tuple(self.models)
        self.train_sizes = tuple(int(s) for s in self.train_sizes)
        bad = [o for o in self.operators if o not in OPERATORS]
        if bad or not self.operators:
            raise ValueError(f"operators must be a non-empty subset of {OPERATORS}, got {self.operators}")
        bad = [m for m in self.models if m not in MODELS]
        if bad or not self.models:
            raise ValueError(f"models must be a non-empty subset of {MODELS}, got {self.models}")
        if len(set(self.models)) != len(self.models) or len(set(self.operators)) != len(self.operators):
            raise ValueError("operators and models must not repeat")
        for name in ("image_size", "n_test", "repeats", "steps", "batch_size", "n_iter", "depth", "kernel_size",
                     "width", "ct_angles"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.image_size < 11:
            raise ValueError(f"image_size must be >= 11 (the SSIM window), got {self.image_size}")
        if not self.train_sizes or min(self.train_sizes) < 1 or len(set(self.train_sizes)) != len(self.train_sizes):
            raise ValueError(f"train_sizes must be distinct positive ints, got {self.train_sizes}")
        self.train_sizes = tuple(sorted(self.train_sizes))
        for name in ("lr", "ct_noise", "mri_noise", "orientation_jitter"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.lr <= 0:
            raise ValueError("lr must be > 0")
        if self.orientation not in ("aligned", "uniform"):
            raise ValueError(f"orientation must be 'aligned' or 'uniform', got {self.orientation!r}")
        if self.net not in ("dncnn", "unet"):
            raise ValueError(f"net must be 'dncnn' or 'unet', got {self.net!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.init not in ("zero", "pinv", "adjoint"):
            raise ValueError(f"init must be 'zero', 'pinv' or 'adjoint', got {self.init!r}")
        if not 0 <= self.figure_index < self.n_test:
            raise ValueError(f"figure_index must be in [0, n_test), got {self.figure_index}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ValueError(f"threads must be None or a positive int, got {self.threads!r}")
        if self.workers is not None and (isinstance(self.workers, bool) or not isinstance(self.workers, int)
                                         or self.workers < 1):
            raise ValueError(f"workers must be None or a positive int, got {self.workers!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------------------------------------ phantoms
def phantom_params(n: int, image_size: int, seed: int, orientation: str = "uniform",
                   jitter_deg: float = 10.0) -> torch.Tensor:
    """Ellipse parameters ``[n, K, 6]`` of :class:`equinet.data.EllipsePhantoms` ``(n, image_size, seed)``;
    ``orientation='aligned'`` replaces each ellipse's angle by a uniform jitter in ``[-jitter, jitter]`` degrees
    (drawn from ``(seed, item)``), so that the axes lie along the grid."""
    ds = EllipsePhantoms(n, image_size, seed)
    if n == 0:
        return torch.zeros(0, ds.n_ellipses[1], 6, dtype=torch.float64)
    params = torch.stack([ds.params(i) for i in range(n)])
    if orientation == "aligned":
        for i in range(n):
            rng = np.random.default_rng([seed, i, 1])
            params[i, :, 5] = torch.from_numpy(np.deg2rad(rng.uniform(-jitter_deg, jitter_deg, params.shape[1])))
    elif orientation != "uniform":
        raise ValueError(f"orientation must be 'aligned' or 'uniform', got {orientation!r}")
    return params


def rotate_params(params: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Rotate each phantom's ellipses counter-clockwise about the image centre by ``angles`` (radians, ``[n]``):
    centres are rotated and the ellipses' own angles increased, so the rendering is exact (no interpolation)."""
    params = torch.as_tensor(params, dtype=torch.float64)
    angles = torch.as_tensor(angles, dtype=torch.float64).reshape(-1, 1)
    if params.dim() != 3 or params.shape[-1] != 6 or angles.shape[0] != params.shape[0]:
        raise ValueError(f"expected params [n, K, 6] and n angles, got {tuple(params.shape)} and {angles.shape[0]}")
    c, s = torch.cos(angles), torch.sin(angles)
    out = params.clone()
    x0, y0 = params[..., 3], params[..., 4]
    out[..., 3] = c * x0 - s * y0
    out[..., 4] = s * x0 + c * y0
    out[..., 5] = params[..., 5] + angles
    return out


def render_phantoms(params: torch.Tensor, image_size: int, support: float = 0.9) -> torch.Tensor:
    """Images ``[n, 1, H, W]`` from ellipse parameters, clipped and masked by the (rotation-invariant) support disk
    exactly as :class:`equinet.data.EllipsePhantoms` renders its items."""
    return EllipsePhantoms(1, image_size, support=support).render_params(params)


# ------------------------------------------------------------------------------------------------ physics
def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def build_operator(name: str, cfg: ComparisonConfig, reference: torch.Tensor):
    """The operator ``name`` with its noise model; sigma is relative to the clean measurements of ``reference``
    images ``[n, 1, H, W]``. Returns (physics, image_channels, sigma, description)."""
    from ..physics import MRI, GaussianNoise, Radon
    n = cfg.image_size
    if name == "ct":
        op = Radon(n, angles=cfg.ct_angles, filter=cfg.ct_filter)
        sigma = cfg.ct_noise * _rms(op(reference))
        op.noise = GaussianNoise(sigma)
        desc = (f"sparse-view CT: Radon({n}x{n}, {cfg.ct_angles} angles in [0, 180)), Gaussian noise sigma = "
                f"{cfg.ct_noise:g} x RMS(clean sinogram) = {sigma:.4g}; baseline FBP ({cfg.ct_filter} filter)")
        return op, 1, sigma, desc
    if name == "mri":
        op = MRI(n, acceleration=cfg.mri_acceleration, center_fraction=cfg.mri_center_fraction, seed=cfg.seed)
        sigma = cfg.mri_noise * _rms(reference)  # the orthonormal FFT keeps the RMS (Parseval)
        op.noise = GaussianNoise(sigma)
        lines = int(op.mask[0].sum())
        desc = (f"Cartesian MRI: {n}x{n}, {lines}/{n} k-space columns (acceleration {cfg.mri_acceleration:g}, "
                f"centre fraction {cfg.mri_center_fraction:g}), Gaussian noise sigma = {cfg.mri_noise:g} x "
                f"RMS(k-space) = {sigma:.4g}; baseline zero-filled inverse FFT; metrics on |u|")
        return op, 2, sigma, desc
    raise ValueError(f"unknown operator {name!r}; expected one of {OPERATORS}")


def _to_operator_images(x: torch.Tensor, channels: int) -> torch.Tensor:
    return x if channels == 1 else torch.cat([x, torch.zeros_like(x)], dim=1)


def _to_metric_images(u: torch.Tensor, channels: int) -> torch.Tensor:
    return u if channels == 1 else u.pow(2).sum(dim=1, keepdim=True).sqrt()


# ------------------------------------------------------------------------------------------------ models
def build_prox_specs(cfg: ComparisonConfig, channels: int) -> Dict[str, object]:
    """NetSpec of every trained model key in ``cfg.models`` (the reference is C8 with ``cfg.width`` fields)."""
    from ..nets import NetSpec
    ref = NetSpec("C8", in_channels=channels, out_channels=channels, width=cfg.width, depth=cfg.depth,
                  kernel_size=cfg.kernel_size, activation=cfg.activation)
    specs = {}
    for key in cfg.models:
        if key == "c8":
            specs[key] = ref
        elif key == "cnn":
            specs[key] = ref.translation_twin(match="params", net=cfg.net)
        elif key == "cnn-wide":
            specs[key] = ref.translation_twin(match="width", net=cfg.net)
        elif key == "c4":
            specs[key] = ref.matched_width("C4", net=cfg.net)
        elif key == "c4-wide":
            specs[key] = ref.with_group("C4", cfg.width * ref.hidden_rep.size // 4)
    return specs


def _zero_last_layer(net):
    """Zero the last convolution of a residual proximal network: it starts as the identity, so the untrained
    unrolled network is plain PGD from its initialisation (the same starting point for every architecture)."""
    last = getattr(net, "out", None)
    if last is None:
        last = net.body.layers[-1]
    with torch.no_grad():
        for p in last.parameters():
            p.zero_()
    return net


def _build_model(cfg, spec, physics, channels):
    from ..nets import build
    from ..unrolled import UnrolledPGD
    return UnrolledPGD(physics, lambda k: _zero_last_layer(build(cfg.net, spec)), n_iter=cfg.n_iter, mode="pgd",
                       tied=False, image_channels=channels, init=cfg.init)


# ------------------------------------------------------------------------------------------------ evaluation
@torch.no_grad()
def _reconstruct(model, physics, y: torch.Tensor, batch: int = 32) -> torch.Tensor:
    was = model.training
    model.eval()
    try:
        return torch.cat([model(y[i:i + batch], physics) for i in range(0, y.shape[0], batch)])
    finally:
        model.train(was)


def _metrics(u: torch.Tensor, x: torch.Tensor) -> Tuple[np.ndarray, np.ndarray]:
    u, x = u.detach().cpu().double(), x.detach().cpu().double()
    return psnr(u, x, data_range=1.0).numpy(), ssim(u, x, data_range=1.0).numpy()


def _paired(a: np.ndarray, b: np.ndarray) -> Tuple[float, float]:
    """Mean and standard error of the paired differences ``a - b`` (same images, same noise)."""
    d = a - b
    return float(np.mean(d)), float(np.std(d, ddof=1) / math.sqrt(d.size)) if d.size > 1 else 0.0


def summarise(per_image: Dict[tuple, Dict[str, List[np.ndarray]]]) -> List[dict]:
    """Table rows from per-image metrics ``{(operator, model, train_size, test_set): {'psnr': [per repeat], ...}}``:
    mean and std over all (repeat, image) pairs and the std of the per-repeat means; for trained models also the
    paired PSNR difference to ``cnn`` (same training size and test set) and, on ``rotated`` rows, the paired
    difference rotated - held-out of the same phantoms (mean and standard error)."""
    cat = {k: np.concatenate(d["psnr"]) for k, d in per_image.items()}
    rows = []
    for (op, model, size, test), d in per_image.items():
        p, s = cat[(op, model, size, test)], np.concatenate(d["ssim"])
        rep_means = [float(np.mean(v)) for v in d["psnr"]]
        row = dict(operator=op, model=model, label=_label(model, op), train_size=size, test_set=test,
                   psnr_mean=float(np.mean(p)), psnr_std=float(np.std(p)),
                   ssim_mean=float(np.mean(s)), ssim_std=float(np.std(s)), n_images=int(p.size),
                   repeats=len(d["psnr"]), psnr_repeat_std=float(np.std(rep_means)) if len(rep_means) > 1 else 0.0,
                   dpsnr_vs_cnn_mean=None, dpsnr_vs_cnn_se=None, rotated_minus_heldout_mean=None,
                   rotated_minus_heldout_se=None)
        ref = cat.get((op, "cnn", size, test))
        if model != "pinv" and ref is not None and ref.size == p.size:
            row["dpsnr_vs_cnn_mean"], row["dpsnr_vs_cnn_se"] = _paired(p, ref)
        held = cat.get((op, model, size, "held-out"))
        if test == "rotated" and held is not None and held.size == p.size:
            row["rotated_minus_heldout_mean"], row["rotated_minus_heldout_se"] = _paired(p, held)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------------ outputs
CSV_FIELDS = ("operator", "model", "label", "group", "params", "channels", "train_size", "test_set", "psnr_mean",
              "psnr_std", "ssim_mean", "ssim_std", "n_images", "repeats", "psnr_repeat_std", "dpsnr_vs_cnn_mean",
              "dpsnr_vs_cnn_se", "rotated_minus_heldout_mean", "rotated_minus_heldout_se", "train_seconds",
              "final_train_loss")


def _write_csv(path: str, rows: List[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(buf.getvalue())


def markdown_table(rows: List[dict]) -> str:
    """The table as Markdown: one line per operator x model x training size, held-out and rotated side by side;
    PSNR/SSIM as mean ± std over test images, paired differences as mean ± standard error."""
    key = lambda r: (r["operator"], r["model"], r["train_size"])  # noqa: E731
    merged: Dict[tuple, dict] = {}
    for r in rows:
        merged.setdefault(key(r), {"r": r})[r["test_set"]] = r
    pm = lambda v, e: "" if v is None else f"{v:+.2f} ± {e:.2f}"  # noqa: E731
    lines = ["| operator | model | params | train size | PSNR held-out | SSIM held-out | PSNR rotated | SSIM rotated "
             "| ΔPSNR vs CNN (params), held-out | ΔPSNR vs CNN (params), rotated | PSNR rotated − held-out |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for k in sorted(merged, key=lambda k: (k[0], k[2], MODELS.index(k[1]))):
        m = merged[k]
        r = m["r"]
        cells = []
        for t in TEST_SETS:
            if t in m:
                cells += [f"{m[t]['psnr_mean']:.2f} ± {m[t]['psnr_std']:.2f}",
                          f"{m[t]['ssim_mean']:.3f} ± {m[t]['ssim_std']:.3f}"]
            else:
                cells += ["", ""]
        for t in TEST_SETS:
            cells.append(pm(m[t]["dpsnr_vs_cnn_mean"], m[t]["dpsnr_vs_cnn_se"]) if t in m and r["model"] != "cnn"
                         else "")
        rot = m.get("rotated")
        cells.append(pm(rot["rotated_minus_heldout_mean"], rot["rotated_minus_heldout_se"]) if rot else "")
        size = "–" if r["model"] == "pinv" else str(r["train_size"])
        lines.append(f"| {r['operator']} | {r['label']} | {r.get('params', 0)} | {size} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot_reconstructions(path, op_name, gt, recons, psnrs, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cols = ["ground truth"] + list(recons[TEST_SETS[0]].keys())
    fig, axes = plt.subplots(len(TEST_SETS), len(cols), figsize=(2.1 * len(cols), 2.3 * len(TEST_SETS)),
                             squeeze=False)
    for i, test in enumerate(TEST_SETS):
        images = [gt[test]] + list(recons[test].values())
        for j, (name, img) in enumerate(zip(cols, images)):
            ax = axes[i, j]
            ax.imshow(img, cmap="gray", vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(_label(name, op_name) if name in _LABELS else name, fontsize=9)
            if j == 0:
                ax.set_ylabel(test, fontsize=9)
            if j > 0:
                ax.text(0.03, 0.97, f"{psnrs[test][name]:.2f} dB", transform=ax.transAxes, va="top", ha="left",
                        fontsize=8, color="yellow", bbox=dict(facecolor="black", alpha=0.6, pad=1.5, lw=0))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def _plot_psnr_vs_size(path, rows, cfg):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ops = list(cfg.operators)
    fig, axes = plt.subplots(len(ops), len(TEST_SETS), figsize=(5.2 * len(TEST_SETS), 3.6 * len(ops)),
                             squeeze=False)
    colours = {"cnn": "tab:blue", "cnn-wide": "tab:cyan", "c4": "tab:orange", "c4-wide": "tab:olive",
               "c8": "tab:red"}
    for i, op in enumerate(ops):
        for j, test in enumerate(TEST_SETS):
            ax = axes[i, j]
            for model in cfg.models:
                sel = sorted((r for r in rows if r["operator"] == op and r["model"] == model and r["test_set"] == test),
                             key=lambda r: r["train_size"])
                if not sel:
                    continue
                if model == "pinv":
                    ax.axhline(sel[0]["psnr_mean"], color="gray", ls="--", label=_label(model, op))
                    continue
                sizes = [r["train_size"] for r in sel]
                mean = np.array([r["psnr_mean"] for r in sel])
                err = np.array([r["psnr_repeat_std"] for r in sel])
                ax.errorbar(sizes, mean, yerr=err if err.any() else None, marker="o", capsize=3,
                            color=colours.get(model), label=_LABELS[model])
            ax.set_xscale("log")
            ax.set_xlabel("training images")
            ax.set_ylabel("PSNR (dB)")
            ax.set_title(f"{op}: {test} test set", fontsize=10)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.legend(fontsize=8)
    fig.suptitle(f"PSNR vs training-set size ({cfg.mode} mode, {cfg.image_size}x{cfg.image_size}, "
                 f"{cfg.steps} steps, {cfg.repeats} repeat(s))", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------ the run
def run_comparison(cfg: ComparisonConfig, out: str = "outputs/comparison", progress: bool = True,
                   log=print) -> List[dict]:
    """Run the comparison and write ``table.csv``, ``table.json``, ``table.md``, ``psnr_vs_train_size.png`` and
    ``reconstructions_<operator>.png`` to ``out``. Returns the table rows (see :data:`CSV_FIELDS`)."""
    if not isinstance(cfg, ComparisonConfig):
        raise TypeError(f"cfg must be a ComparisonConfig, got {type(cfg).__name__}")
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, out, progress, log)
    finally:
        torch.set_num_threads(threads)


class _Setup:
    """Everything the run derives from ``cfg`` alone, deterministically: test phantoms and their exact rotations,
    the noise reference, each operator with its fixed test measurements, and the training pools. The main process
    and every worker build the same objects from the same seeds."""

    def __init__(self, cfg: ComparisonConfig, dev: torch.device):
        self.cfg, self.dev = cfg, dev
        n = cfg.image_size
        test_params = phantom_params(cfg.n_test, n, _derived_seed(cfg.seed, 10) % 2**31, cfg.orientation,
                                     cfg.orientation_jitter)
        g = np.random.default_rng([cfg.seed, 11])
        test_angles = torch.from_numpy(g.uniform(0.0, 2 * math.pi, cfg.n_test))
        self.tests = {"held-out": render_phantoms(test_params, n),
                      "rotated": render_phantoms(rotate_params(test_params, test_angles), n)}
        self.noise_ref = render_phantoms(phantom_params(64, n, _derived_seed(cfg.seed, 12) % 2**31, cfg.orientation,
                                                        cfg.orientation_jitter), n)
        self._ops: Dict[str, tuple] = {}
        self._pools: Dict[tuple, torch.Tensor] = {}
        self._specs: Dict[str, dict] = {}

    def operator(self, op_name: str):
        """(physics on the device, image channels, sigma, description, test measurements per test set)."""
        if op_name not in self._ops:
            physics, ch, sigma, desc = build_operator(op_name, self.cfg, self.noise_ref)
            physics.to(self.dev)
            ys = {}  # one fixed noise draw per test set, the same for every model (paired comparison)
            for k, t in enumerate(TEST_SETS):
                gen = torch.Generator().manual_seed(_derived_seed(self.cfg.seed, 20, OPERATORS.index(op_name), k))
                ys[t] = physics.measure(_to_operator_images(self.tests[t], ch).to(self.dev), gen)
            self._ops[op_name] = (physics, ch, sigma, desc, ys)
        return self._ops[op_name]

    def specs(self, op_name: str) -> dict:
        if op_name not in self._specs:
            self._specs[op_name] = build_prox_specs(self.cfg, self.operator(op_name)[1])
        return self._specs[op_name]

    def pool(self, op_name: str, repeat: int) -> torch.Tensor:
        """The training pool of a repeat (training sets are its first n images)."""
        ch = self.operator(op_name)[1]
        if (ch, repeat) not in self._pools:
            cfg = self.cfg
            pool = render_phantoms(phantom_params(max(cfg.train_sizes), cfg.image_size,
                                                  _derived_seed(cfg.seed, 30, repeat) % 2**31, cfg.orientation,
                                                  cfg.orientation_jitter), cfg.image_size)
            self._pools[(ch, repeat)] = _to_operator_images(pool, ch)
        return self._pools[(ch, repeat)]


def _jobs(cfg: ComparisonConfig) -> List[Tuple[str, str, int, int]]:
    """Every training run ``(operator, model, train_size, repeat)``, in the order of the table."""
    trained = [m for m in cfg.models if m != "pinv"]
    return [(op, key, size, r) for op in cfg.operators for r in range(cfg.repeats) for size in cfg.train_sizes
            for key in trained]


def _job_name(job) -> str:
    op, key, size, r = job
    return f"{op} {key} n={size} rep={r}"


def _train_job(setup: _Setup, job, out: str, bar) -> dict:
    """Train one model and evaluate it on both test sets. The result depends on ``cfg`` and ``job`` only (not on
    the process, nor on which other jobs ran), so serial and parallel runs give the same table."""
    cfg, dev = setup.cfg, setup.dev
    op_name, key, size, r = job
    physics, ch, _, _, ys = setup.operator(op_name)
    spec = setup.specs(op_name)[key]
    torch.manual_seed(_derived_seed(cfg.seed, 40, r))
    model = _build_model(cfg, spec, physics, ch).to(dev)
    res = dict(job=tuple(job), group=spec.G.name, params=sum(p.numel() for p in model.prox.parameters()),
               channels=spec.width * spec.hidden_rep.size, metrics={}, figure={})
    ckpt = os.path.join(out, "checkpoints", f"{op_name}_{key}_n{size}_r{r}.pt") if cfg.checkpoints else None
    hist = fit_supervised(model, physics, setup.pool(op_name, r)[:size], steps=cfg.steps, batch_size=cfg.batch_size,
                          lr=cfg.lr, schedule=cfg.schedule, seed=_derived_seed(cfg.seed, 50, r, size) % 2**31,
                          device=dev, progress=bar, checkpoint=ckpt, checkpoint_every=max(1, cfg.steps // 10))
    tail = hist.loss[-max(1, len(hist.loss) // 10):]
    res["seconds"], res["loss"] = hist.seconds, float(np.mean(tail))
    for t in TEST_SETS:
        u = _to_metric_images(_reconstruct(model, physics, ys[t]), ch).cpu()
        res["metrics"][t] = _metrics(u, setup.tests[t])
        res["figure"][t] = (u[cfg.figure_index, 0].numpy().copy(), float(res["metrics"][t][0][cfg.figure_index]))
    return res


# -- parallel workers (spawned processes; each builds its own _Setup and reports progress through a queue)
_WORKER: dict = {}


class _QueueProgress:
    """Stands in for :class:`Progress` inside a worker: batches step counts and sends them to the main process."""

    def __init__(self, queue, name: str, interval: float = 0.25):
        self.queue, self.name, self.interval = queue, name, interval
        self.pending, self.postfix, self.last = 0, "", time.monotonic()

    def update(self, n=1, postfix=None):
        self.pending += n
        if postfix is not None:
            self.postfix = postfix
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self):
        if self.pending:
            self.queue.put((self.name, self.pending, self.postfix))
            self.pending, self.last = 0, time.monotonic()


def _worker_init(cfg: ComparisonConfig, out: str, queue) -> None:
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    _WORKER.update(cfg=cfg, out=out, queue=queue, setup=None)


def _worker_run(job) -> dict:
    if _WORKER["setup"] is None:
        _WORKER["setup"] = _Setup(_WORKER["cfg"], resolve_device(_WORKER["cfg"].device))
    bar = _QueueProgress(_WORKER["queue"], _job_name(job))
    try:
        return _train_job(_WORKER["setup"], job, _WORKER["out"], bar)
    finally:
        bar.flush()


def resolve_workers(cfg: ComparisonConfig) -> int:
    """The number of training processes: ``cfg.workers`` (``None``: 1). The command line's quick mode defaults to
    one per CPU core, up to 2. Workers are spawned processes, so a script that runs the comparison with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard."""
    return 1 if cfg.workers is None else cfg.workers


def _run_jobs_parallel(cfg, jobs, out, bar, workers) -> List[dict]:
    import concurrent.futures as cf
    import multiprocessing as mp
    import queue as queue_mod
    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock; spawn is portable
    q = ctx.Queue()
    running: Dict[str, str] = {}

    def drain(timeout):
        try:
            while True:
                name, n, postfix = q.get(timeout=timeout)
                timeout = 0
                running[name] = postfix
                bar.desc = "comparison [" + ", ".join(list(running)[-workers:]) + "]"
                bar.update(n, postfix=postfix)
        except queue_mod.Empty:
            pass

    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                                initargs=(cfg, out, q)) as ex:
        futures = [ex.submit(_worker_run, job) for job in jobs]
        try:
            pending = set(futures)
            while pending:
                drain(0.2)
                done = {f for f in pending if f.done()}
                for f in done:
                    res = f.result()  # re-raises a worker's exception here
                    running.pop(_job_name(res["job"]), None)
                pending -= done
            drain(0)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return [f.result() for f in futures]


def _run(cfg: ComparisonConfig, out: str, progress: bool, log) -> List[dict]:
    t_start = time.perf_counter()
    dev = resolve_device(cfg.device)
    log = log or (lambda *a, **k: None)
    n = cfg.image_size
    max_train = max(cfg.train_sizes)
    jobs = _jobs(cfg)
    workers = min(resolve_workers(cfg), max(1, len(jobs)))
    setup = _Setup(cfg, dev)

    total_units = len(cfg.operators) + len(jobs) * cfg.steps
    bar = Progress(total=total_units, desc="comparison", unit="step", quiet=not progress)
    per_image: Dict[tuple, Dict[str, list]] = {}
    info: Dict[tuple, dict] = {}
    figs: Dict[str, dict] = {}
    descriptions = {}
    try:
        for op_name in cfg.operators:  # the baselines, and the operator descriptions for the log
            physics, ch, sigma, desc, ys = setup.operator(op_name)
            descriptions[op_name] = desc
            bar.write(f"[{op_name}] {desc}")
            figs[op_name] = dict(gt={t: setup.tests[t][cfg.figure_index, 0].numpy() for t in TEST_SETS},
                                 recons={t: {} for t in TEST_SETS}, psnrs={t: {} for t in TEST_SETS})
            for t in TEST_SETS:
                u = _to_metric_images(physics.pinv(ys[t]), ch).cpu()
                p, s = _metrics(u, setup.tests[t])
                per_image[(op_name, "pinv", 0, t)] = {"psnr": [p], "ssim": [s]}
                figs[op_name]["recons"][t]["pinv"] = u[cfg.figure_index, 0].numpy()
                figs[op_name]["psnrs"][t]["pinv"] = float(p[cfg.figure_index])
            info[(op_name, "pinv")] = dict(group="-", params=0, channels=0)
            bar.update(1)
        if workers > 1:
            bar.write(f"training {len(jobs)} models in {workers} worker processes")
            results = _run_jobs_parallel(cfg, jobs, out, bar, workers)
        else:
            results = []
            for job in jobs:
                bar.desc = f"comparison [{_job_name(job)}]"
                results.append(_train_job(setup, job, out, bar))
    finally:
        bar.close()

    for res in results:  # in job order, whatever order the workers finished in
        op_name, key, size, r = res["job"]
        info[(op_name, key)] = dict(group=res["group"], params=res["params"], channels=res["channels"])
        slot = info.setdefault((op_name, key, size), {"seconds": [], "loss": []})
        slot["seconds"].append(res["seconds"])
        slot["loss"].append(res["loss"])
        for t in TEST_SETS:
            p, s = res["metrics"][t]
            d = per_image.setdefault((op_name, key, size, t), {"psnr": [], "ssim": []})
            d["psnr"].append(p)
            d["ssim"].append(s)
            if r == 0 and size == max_train:
                figs[op_name]["recons"][t][key], figs[op_name]["psnrs"][t][key] = res["figure"][t]

    rows = summarise(per_image)
    for row in rows:
        row.update(info[(row["operator"], row["model"])])
        extra = info.get((row["operator"], row["model"], row["train_size"]))
        row["train_seconds"] = float(np.mean(extra["seconds"])) if extra else 0.0
        row["final_train_loss"] = float(np.mean(extra["loss"])) if extra else None
    wall = time.perf_counter() - t_start

    os.makedirs(out, exist_ok=True)
    _write_csv(os.path.join(out, "table.csv"), rows)
    meta = dict(config=cfg.to_dict(), operators=descriptions, device=str(dev), torch=torch.__version__,
                python=platform.python_version(), threads=torch.get_num_threads(), workers=workers,
                wall_seconds=wall,
                metrics="PSNR and SSIM (11x11 Gaussian window, sigma 1.5) with data_range 1; mean ± std over "
                        "test images (and repeats); paired differences (dpsnr_vs_cnn_*, rotated_minus_heldout_*) as "
                        "mean and standard error over images", rows=rows)
    write_json(os.path.join(out, "table.json"), _json_safe(meta))
    header = (f"# Translation vs roto-translation comparison ({cfg.mode} mode)\n\n"
              f"Wall time {wall:.0f} s on {dev} ({workers} worker process(es), {torch.get_num_threads()} "
              f"thread(s) each). Settings: "
              f"{n}x{n} {cfg.orientation} ellipse phantoms, train sizes {list(cfg.train_sizes)}, {cfg.n_test} test "
              f"images, {cfg.steps} Adam steps (batch {cfg.batch_size}, lr {cfg.lr:g}, {cfg.schedule} schedule), "
              f"{cfg.repeats} repeat(s), unrolled PGD {cfg.n_iter} iterations, {cfg.net} depth {cfg.depth} "
              f"k={cfg.kernel_size}, {cfg.activation}, C8 width {cfg.width}, seed {cfg.seed}.\n\n"
              + "".join(f"- {k}: {v}\n" for k, v in descriptions.items()) + "\n")
    with atomic_path(os.path.join(out, "table.md")) as tmp:
        with open(tmp, "w") as f:
            f.write(header + markdown_table(rows))
    _plot_psnr_vs_size(os.path.join(out, "psnr_vs_train_size.png"), rows, cfg)
    for op_name, d in figs.items():
        _plot_reconstructions(os.path.join(out, f"reconstructions_{op_name}.png"), op_name, d["gt"], d["recons"],
                              d["psnrs"], f"{descriptions[op_name].split(';')[0]} — test image {cfg.figure_index}, "
                                          f"models trained on {max_train} images")
    log(markdown_table(rows))
    log(f"wrote {out}/table.csv, table.json, table.md, psnr_vs_train_size.png, "
        + ", ".join(f"reconstructions_{o}.png" for o in figs) + f" in {wall:.1f} s")
    return rows


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (np.floating, np.integer)):
        return _json_safe(obj.item())
    return obj


# ------------------------------------------------------------------------------------------------ CLI
def _ints(text: str) -> Tuple[int, ...]:
    return tuple(int(v) for v in text.replace(",", " ").split())


def _strs(text: str) -> Tuple[str, ...]:
    return tuple(v for v in text.replace(",", " ").split())


def build_parser(default_mode: str = "full", prog: Optional[str] = None) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="Translation- vs roto-translation-equivariant unrolled PGD on "
                                             "sparse-view CT and MRI of ellipse phantoms (docs/experiments.md).")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="about 10 minutes on 2 CPU cores (64x64, small nets, 300 steps, 2 workers)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="the full protocol")
    ap.set_defaults(mode=default_mode)
    ap.add_argument("--out", default="outputs/comparison", help="output folder (default outputs/comparison)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--device", default=None, help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    ap.add_argument("--operators", type=_strs, default=None, help=f"subset of {OPERATORS}, e.g. 'ct,mri'")
    ap.add_argument("--models", type=_strs, default=None, help=f"subset of {MODELS}")
    ap.add_argument("--train-sizes", type=_ints, default=None, help="e.g. '10,30,100,300'")
    ap.add_argument("--n-test", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None, help="training repeats (new data draw and init)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--n-iter", type=int, default=None, help="unrolled iterations")
    ap.add_argument("--depth", type=int, default=None)
    ap.add_argument("--kernel-size", type=int, default=None)
    ap.add_argument("--width", type=int, default=None, help="regular fields of the reference C8 network")
    ap.add_argument("--net", choices=("dncnn", "unet"), default=None)
    ap.add_argument("--activation", choices=ACTIVATIONS, default=None,
                    help="pointwise nonlinearity of every proximal network (default relu)")
    ap.add_argument("--orientation", choices=("aligned", "uniform"), default=None)
    ap.add_argument("--ct-angles", type=int, default=None)
    ap.add_argument("--ct-noise", type=float, default=None)
    ap.add_argument("--mri-acceleration", type=float, default=None)
    ap.add_argument("--mri-noise", type=float, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads per process (quick mode: 1)")
    ap.add_argument("--workers", type=int, default=None,
                    help="training processes (default: quick mode min(2, CPU cores), full mode 1); the table "
                         "does not depend on it")
    ap.add_argument("--checkpoints", action="store_true", default=None,
                    help="checkpoint every training run under OUT/checkpoints and resume from there")
    ap.add_argument("--no-progress", action="store_true")
    return ap


def config_from_args(a: argparse.Namespace) -> ComparisonConfig:
    names = {f.name for f in dataclasses.fields(ComparisonConfig)}
    overrides = {k: v for k, v in vars(a).items() if k in names and k != "mode" and v is not None}
    if a.mode == "quick" and "workers" not in overrides:
        overrides["workers"] = max(1, min(2, os.cpu_count() or 1))
    return ComparisonConfig.quick(**overrides) if a.mode == "quick" else ComparisonConfig(**overrides)


def main(argv: Optional[Sequence[str]] = None, default_mode: str = "full", prog: Optional[str] = None) -> List[dict]:
    """Command line: ``python experiments/compare_translation_vs_rototranslation.py [--quick] [options]``."""
    a = build_parser(default_mode, prog).parse_args(argv)
    try:
        cfg = config_from_args(a)
        resolve_device(cfg.device)
    except ValueError as err:
        raise SystemExit(f"error: {err}")
    print(f"comparison ({cfg.mode} mode) -> {a.out}: " + ", ".join(f"{k}={v}" for k, v in cfg.to_dict().items()))
    return run_comparison(cfg, a.out, progress=not a.no_progress)
