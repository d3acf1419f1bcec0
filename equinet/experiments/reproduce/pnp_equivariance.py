"""Equivariance by design vs by averaging inside plug-and-play (Terris, Moreau, Pustelnik & Tachella, CVPR 2024,
"Equivariant plug-and-play image reconstruction", arXiv 2312.01831). The shipped blind bias-free DnCNN denoisers
(`equinet.pretrained`: plain C1, and C4, C8, D4 by design, about equal parameter counts), no retraining, inside
PnP-PGD for deblurring, 4x MRI, sparse-view CT and inpainting; the plain denoiser also with one random group element
per iteration (the paper's scheme) and with the full group average. Per row: PSNR after ``early`` iterations, at
the best iteration and at the last (does it stay or diverge?), the iterate residual, the spectral norm of the
denoiser's Jacobian (power iteration with jvp/vjp) and its asymmetry ‖J − Jᵀ‖_F / ‖J‖_F (random probes) at noisy
held-out images, its spectral norm at the last iterate, and the wall time per iteration.
``python -m equinet reproduce pnp-equivariance``; docs/reproduce_pnp_equivariance.md.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import List, Tuple

import torch
from torch import nn

from ...data.natural import natural_test_images
from ...metrics import psnr
from ...nn.averaging import RandomlyAveraged
from ...physics import MRI, Blur, GaussianNoise, Inpainting, Radon, gaussian_kernel
from ...pretrained import load
from ...reconstructors import PnPPGD
from ...reconstructors.denoiser import make_denoiser
from ...reconstructors.iterative import lipschitz
from ...utils.progress import Progress
from ...utils.seeding import derived_seed
from ..runner import prepare_output, thread_limit, write_table
from .common import check_fields, cli

__all__ = ["PnPEquivarianceConfig", "ROWS", "PROBLEMS", "run_pnp_equivariance", "jacobian_norm",
           "jacobian_asymmetry", "Channelwise", "main"]

#: label -> (shipped denoiser, equivariance option, group of the option)
ROWS = {
    "plain": ("dncnn_c1", "none", None),
    "plain + random C4": ("dncnn_c1", "random", "C4"),
    "plain + random D4": ("dncnn_c1", "random", "D4"),
    "plain + full C4": ("dncnn_c1", "full", "C4"),
    "plain + full D4": ("dncnn_c1", "full", "D4"),
    "C4 by design": ("dncnn_c4", "none", None),
    "C8 by design": ("dncnn_c8", "none", None),
    "D4 by design": ("dncnn_d4", "none", None),
}
PROBLEMS = ("deblurring", "mri", "ct", "inpainting")
#: the paper's findings, by direction (its tables use other denoisers, images and sizes: no numbers are matched)
PAPER = ("one random rotation/flip of the denoiser's input per iteration stabilises PnP with a learned, "
         "non-equivariant denoiser (no divergence where the plain one diverges) and raises PSNR over the plain "
         "denoiser; the equivariant denoiser's Jacobian is closer to symmetric (closer to a gradient field) and "
         "its spectral norm lower")


@dataclass(frozen=True)
class PnPEquivarianceConfig:
    """Settings (see `quick`, `full`). ``n_test`` held-out ``image_size`` crops (camera, coffee); measurement noise
    ``noise_sigma``; PnP-PGD with the step 1/‖A‖² from A†y, ``n_iter`` iterations (PSNR also after ``early``);
    Jacobians at the test images with noise ``jacobian_sigma``, ``power_iter`` power iterations and
    ``probes`` random probes."""

    mode: str = "full"
    seed: int = 0
    image_size: int = 64
    n_test: int = 8
    n_iter: int = 1000
    early: int = 20
    noise_sigma: float = 0.01
    blur_width: float = 1.5
    acceleration: float = 4.0
    views: int = 32
    drop: float = 0.5
    jacobian_sigma: float = 0.05
    power_iter: int = 30
    probes: int = 16
    problems: Tuple[str, ...] = PROBLEMS
    rows: Tuple[str, ...] = tuple(ROWS)
    threads: int = 1

    def __post_init__(self):
        check_fields(self, ("image_size", "n_test", "n_iter", "early", "views", "power_iter", "probes", "threads"),
                     ("blur_width", "acceleration", "jacobian_sigma"), ("noise_sigma", "drop"))
        if self.early > self.n_iter:
            raise ValueError(f"early ({self.early}) must be at most n_iter ({self.n_iter})")
        bad = [p for p in self.problems if p not in PROBLEMS] or ([] if self.problems else ["(none)"])
        if bad:
            raise ValueError(f"problems must be among {PROBLEMS}, got {bad}")
        bad = [r for r in self.rows if r not in ROWS] or ([] if self.rows else ["(none)"])
        if bad:
            raise ValueError(f"rows must be among {tuple(ROWS)}, got {bad}")
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "rows", tuple(self.rows))

    @classmethod
    def quick(cls, **kw) -> "PnPEquivarianceConfig":
        """4 test images, 300 iterations, 20 power iterations and 8 probes: about 6 min on one core."""
        return cls(**{**dict(mode="quick", n_test=4, n_iter=300, power_iter=20, probes=8), **kw})

    @classmethod
    def full(cls, **kw) -> "PnPEquivarianceConfig":
        """8 test images, 1000 iterations (does PnP stay or diverge over a long run?)."""
        return cls(**{"mode": "full", **kw})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class Channelwise(nn.Module):
    """A one-channel denoiser applied to each channel of the input on its own (MRI's real and imaginary parts).

    >>> import torch
    >>> D = Channelwise(lambda x: 2 * x)
    >>> D(torch.ones(1, 2, 3, 3)).sum().item()
    36.0
    """

    def __init__(self, denoiser):
        super().__init__()
        self.denoiser = denoiser

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        return self.denoiser(x.reshape(b * c, 1, h, w)).reshape(b, c, h, w)


def _physics(cfg: PnPEquivarianceConfig, name: str):
    n, noise, s = cfg.image_size, GaussianNoise(cfg.noise_sigma), cfg.seed
    if name == "deblurring":
        return Blur(gaussian_kernel(cfg.blur_width), image_size=n, noise=noise)
    if name == "mri":
        return MRI(n, acceleration=cfg.acceleration, seed=derived_seed(s, 31) % 2 ** 31, noise=noise)
    if name == "ct":
        return Radon(n, angles=cfg.views, circle=False, noise=noise)
    return Inpainting(n, drop=cfg.drop, seed=derived_seed(s, 32) % 2 ** 31, noise=noise)


def _describe(cfg: PnPEquivarianceConfig, name: str) -> str:
    return {"deblurring": f"Gaussian blur (σ = {cfg.blur_width:g} px, circular)",
            "mri": f"{cfg.acceleration:g}x MRI (Cartesian lines; real and imaginary parts denoised apart)",
            "ct": f"sparse-view CT ({cfg.views} views, FBP start)",
            "inpainting": f"inpainting ({100 * cfg.drop:g}% of the pixels dropped)"}[name]


def jacobian_norm(f, x: torch.Tensor, n_iter: int = 20, seed: int = 0) -> torch.Tensor:
    """The spectral norm ‖J_f(x)‖₂ per image of the batch (f maps each image on its own), by ``n_iter`` power
    iterations on JᵀJ with `torch.func.jvp` / `torch.func.vjp`.

    >>> import torch
    >>> A = torch.diag(torch.tensor([3.0, 1.0, 0.5]))
    >>> f = lambda x: (x.reshape(-1, 3) @ A).reshape(x.shape)
    >>> round(float(jacobian_norm(f, torch.ones(1, 1, 1, 3), 50)[0]), 4)
    3.0
    """
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(x.shape, generator=g, dtype=x.dtype)
    vjp = torch.func.vjp(f, x)[1]
    sigma = torch.zeros(x.shape[0], dtype=x.dtype)
    for _ in range(n_iter):
        v = v / v.flatten(1).norm(dim=1).clamp_min(1e-30).view(-1, *[1] * (x.dim() - 1))
        jv = torch.func.jvp(f, (x,), (v,))[1]
        sigma = jv.flatten(1).norm(dim=1)
        (v,) = vjp(jv)
    return sigma


def jacobian_asymmetry(f, x: torch.Tensor, probes: int = 8, seed: int = 0) -> torch.Tensor:
    """‖J − Jᵀ‖_F / ‖J‖_F per image, estimated with ``probes`` Gaussian probes v (E‖Mv‖² = ‖M‖_F²): 0 for the
    Jacobian of a gradient (a symmetric J), about √2 for an unstructured matrix.

    >>> import torch
    >>> S = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
    >>> f = lambda x: (x.reshape(-1, 2) @ S).reshape(x.shape)
    >>> float(jacobian_asymmetry(f, torch.ones(1, 1, 1, 2))[0])
    0.0
    """
    g = torch.Generator().manual_seed(seed)
    vjp = torch.func.vjp(f, x)[1]
    num = torch.zeros(x.shape[0], dtype=x.dtype)
    den = torch.zeros(x.shape[0], dtype=x.dtype)
    for _ in range(probes):
        v = torch.randn(x.shape, generator=g, dtype=x.dtype)
        jv = torch.func.jvp(f, (x,), (v,))[1]
        (jtv,) = vjp(v)
        num += (jv - jtv).flatten(1).pow(2).sum(1)
        den += jv.flatten(1).pow(2).sum(1)
    return (num / den.clamp_min(1e-30)).sqrt()


def _maps(denoiser: nn.Module) -> list:
    """The maps one iteration may apply: the denoiser, or for one random element per call each T_g⁻¹ D(T_g ·)."""
    if isinstance(denoiser, RandomlyAveraged):
        return [lambda u, i=i: denoiser.conjugated(i, u) for i in range(len(denoiser.elements))]
    return [denoiser]


def _jacobian_stats(cfg, denoiser: nn.Module, x: torch.Tensor, asymmetry: bool = True) -> Tuple[float, float]:
    """Mean spectral norm and asymmetry of the denoiser's Jacobian at ``x``; for one random element per call, the
    mean over the group's elements of T_g⁻¹ D(T_g ·) (the map that a given iteration applies)."""
    norms, asym = [], []
    for f in _maps(denoiser):
        norms.append(float(jacobian_norm(f, x, cfg.power_iter, derived_seed(cfg.seed, 40) % 2 ** 31).mean()))
        if asymmetry:
            asym.append(float(jacobian_asymmetry(f, x, cfg.probes, derived_seed(cfg.seed, 41) % 2 ** 31).mean()))
    return sum(norms) / len(norms), (sum(asym) / len(asym) if asym else math.nan)


FIELDS = ("problem", "row", "denoiser", "equivariance", "group", "passes", "psnr_pinv", "psnr_early", "psnr_best",
          "best_iteration", "psnr_last", "iterations", "diverged_at", "residual_early", "residual_last",
          "jacobian_norm", "jacobian_asymmetry", "jacobian_norm_last", "ms_per_iteration")


def run_pnp_equivariance(cfg: PnPEquivarianceConfig, out: str = "outputs/reproduce/pnp-equivariance",
                         progress: bool = True) -> List[dict]:
    """Run every (problem, row) of ``cfg``; writes ``table.*`` to ``out``. Returns the rows."""
    if not isinstance(cfg, PnPEquivarianceConfig):
        raise TypeError(f"cfg must be a PnPEquivarianceConfig, got {type(cfg).__name__}")
    out = prepare_output(out)
    t0 = time.perf_counter()
    rows: List[dict] = []
    with thread_limit(cfg.threads):
        x = natural_test_images(cfg.n_test, cfg.image_size, seed=derived_seed(cfg.seed, 30) % 2 ** 31)
        nets = {name: load(name) for name in sorted({ROWS[r][0] for r in cfg.rows})}
        for p in nets.values():
            p.requires_grad_(False)
        jac = {}
        xj = x + cfg.jacobian_sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(
            derived_seed(cfg.seed, 33) % 2 ** 31))
        bar = Progress(total=len(cfg.problems) * len(cfg.rows), desc="pnp-equivariance", unit="run",
                       quiet=not progress)
        for prob in cfg.problems:
            A = _physics(cfg, prob)
            xt = torch.cat([x, torch.zeros_like(x)], 1) if prob == "mri" else x
            y = A.measure(xt, torch.Generator().manual_seed(derived_seed(cfg.seed, 34, PROBLEMS.index(prob))
                                                             % 2 ** 31))
            p0 = float(psnr(A.pinv(y), xt).mean())
            lipschitz(A, A.pinv(y))  # ‖A‖², once per operator, outside the timed solves
            for label in cfg.rows:
                name, eq, group = ROWS[label]
                net = nets[name] if prob != "mri" else Channelwise(nets[name])
                model = PnPPGD(net, n_iter=cfg.n_iter, equivariance=eq, group=group or "C4", seed=cfg.seed,
                               on_divergence="stop")
                with torch.no_grad():
                    t = time.perf_counter()
                    x_last = model(y, A, x_true=xt)
                    dt = time.perf_counter() - t
                h = model.history
                assert h is not None
                k = len(h.psnr)
                if label not in jac:
                    jac[label] = _jacobian_stats(cfg, make_denoiser(nets[name], None, eq, group or "C4",
                                                                    cfg.seed), xj)
                j_last = _jacobian_stats(cfg, model.denoiser, x_last, asymmetry=False)[0]
                e = min(cfg.early, k)
                rows.append(dict(problem=prob, row=label, denoiser=name, equivariance=eq, group=group or "",
                                 passes=(len(getattr(model.denoiser, "elements")) if eq == "full" else 1),
                                 psnr_pinv=p0, psnr_early=h.psnr[e - 1] if k else math.nan,
                                 psnr_best=max(h.psnr) if k else math.nan, best_iteration=h.best_iteration,
                                 psnr_last=h.psnr[-1] if k else math.nan, iterations=k, diverged_at=h.diverged_at,
                                 residual_early=h.residual[e - 1] if k else math.nan,
                                 residual_last=h.residual[-1] if k else math.nan,
                                 jacobian_norm=jac[label][0], jacobian_asymmetry=jac[label][1],
                                 jacobian_norm_last=j_last,
                                 ms_per_iteration=1000 * dt / max(1, k + (h.diverged_at is not None))))
                bar.update(1, postfix=f"{prob} {label}")
        bar.close()
    wall = time.perf_counter() - t0
    write_table(out, rows, FIELDS, cfg.to_dict(), markdown=_markdown(cfg, rows, wall), wall_seconds=wall,
                paper=PAPER, answers=_answers(rows))
    return rows


def _answers(rows: List[dict]) -> dict:
    """Per problem: the best by-design row against the best averaged row (last-iterate PSNR), and which rows
    diverged."""
    out = {}
    for prob in dict.fromkeys(r["problem"] for r in rows):
        rs = [r for r in rows if r["problem"] == prob]
        design = [r for r in rs if r["denoiser"] != "dncnn_c1"]
        averaged = [r for r in rs if r["denoiser"] == "dncnn_c1" and r["equivariance"] != "none"]
        d = max(design, key=lambda r: r["psnr_last"], default=None)
        a = max(averaged, key=lambda r: r["psnr_last"], default=None)
        out[prob] = {"best_design": d and (d["row"], d["psnr_last"], d["ms_per_iteration"]),
                     "best_averaged": a and (a["row"], a["psnr_last"], a["ms_per_iteration"]),
                     "diverged": [r["row"] for r in rs if r["diverged_at"] is not None]}
    return out


def _markdown(cfg: PnPEquivarianceConfig, rows: List[dict], wall: float) -> str:
    e, n = cfg.early, cfg.n_iter
    md = [f"# Equivariant plug-and-play: by design vs by averaging ({cfg.mode} mode)", "",
          f"PnP-PGD (step 1/‖A‖², start A†y) with the shipped blind bias-free DnCNNs on {cfg.n_test} "
          f"{cfg.image_size}x{cfg.image_size} crops of held-out photographs, measurement noise σ = "
          f"{cfg.noise_sigma:g}, {n} iterations; Jacobians at the test images with noise σ = {cfg.jacobian_sigma:g} "
          f"({cfg.power_iter} power iterations, {cfg.probes} probes); seed {cfg.seed}; wall time {wall / 60:.1f} min.",
          ""]
    for prob in cfg.problems:
        rs = [r for r in rows if r["problem"] == prob]
        md += [f"## {_describe(cfg, prob)}: A†y {rs[0]['psnr_pinv']:.2f} dB", "",
               f"| denoiser | passes | PSNR @{e} | best (iter) | PSNR last | residual @{e} | residual last | ‖J‖₂ "
               "| ‖J−Jᵀ‖/‖J‖ | ‖J‖₂ at x_last | ms / iter |",
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in rs:
            last = (f"{r['psnr_last']:.2f}" if r["diverged_at"] is None
                    else f"diverged @{r['diverged_at']} ({r['psnr_last']:.2f})")
            md.append(f"| {r['row']} | {r['passes']} | {r['psnr_early']:.2f} | {r['psnr_best']:.2f} "
                      f"({r['best_iteration']}) | {last} | {r['residual_early']:.1e} | {r['residual_last']:.1e} | "
                      f"{r['jacobian_norm']:.3f} | {r['jacobian_asymmetry']:.3f} | {r['jacobian_norm_last']:.3f} | "
                      f"{r['ms_per_iteration']:.1f} |")
        md.append("")
    return "\n".join(md)


def main(argv=None, prog=None):
    """``python -m equinet reproduce pnp-equivariance [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("pnp-equivariance", "Terris et al. (CVPR 2024): PnP with shipped denoisers, equivariant by design "
               "(C4, C8, D4) vs the plain one averaged (one random element per iteration, or the full group).",
               PnPEquivarianceConfig, run_pnp_equivariance, argv, prog)
