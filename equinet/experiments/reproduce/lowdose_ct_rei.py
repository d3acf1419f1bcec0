"""Fig. 9 of the imaging paper: 50-view CT with mixed Poisson-Gaussian noise; A†y (FBP), EI (MC + α EI, blind to
the noise), REI (SURE for Poisson-Gaussian noise + α robust EI) and supervised, the same residual U-Net on A†y.
Ellipse phantoms (rotation invariant), rotations by multiples of 1 degree; tests on held-out phantoms and on
scikit-image's photographs, upright and rotated. ``python -m equinet reproduce lowdose-ct-rei``;
docs/reproduce_lowdose_ct_rei.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from ...data import simulate_measurements
from ...losses import LossInputs, SurePGLoss
from ...physics import LinearPhysics, PoissonGaussianNoise, Radon
from ...transforms import Rotate
from ...utils.seeding import derived_seed
from .common import (
    UNetRunConfig,
    check_fields,
    check_methods,
    cli,
    data_and_methods_flags,
    images_for,
    real_photographs,
)
from .engine import Problem, run_method_table

__all__ = ["LowDoseCTConfig", "build_problems", "run_lowdose_ct_rei", "sure_check", "main", "PAPER"]

METHODS = ("pinv", "ei", "rei", "sup")
#: Fig. 9 of the imaging paper (data of Chen et al., CVPR 2022), PSNR in dB
PAPER = {"pinv": 14.12, "ei": 22.02, "rei": 29.68, "sup": 29.96}
GAPS = (("REI − A†y", "rei", "pinv"), ("Sup − REI", "sup", "rei"), ("REI − EI", "rei", "ei"))


@dataclass(frozen=True)
class LowDoseCTConfig(UNetRunConfig):
    """Settings (see `quick`, `full`). Noise: ``y = gain * Poisson(A x / gain) + sigma * n``."""

    methods: Tuple[str, ...] = METHODS
    views: int = 50
    gain: float = 1.0
    sigma: float = 0.5
    alpha: float = 100.0

    def __post_init__(self):
        check_fields(self, ("image_size", "views", "n_train", "n_test", "steps", "batch_size", "width", "scales",
                            "workers"), ("lr", "alpha", "gain"), ("sigma",))
        check_methods(self, METHODS)


def build_problems(cfg: LowDoseCTConfig):
    """``{'lowdose_ct': Problem}``: fixed noisy sinograms (the noise of item i depends on (seed, i) only)."""
    n, s = cfg.image_size, cfg.seed
    physics = Radon(n, angles=cfg.views, noise=PoissonGaussianNoise(gain=cfg.gain, sigma=cfg.sigma))
    x_train = images_for(cfg, cfg.n_train, 31, "train")
    tests = {"test": images_for(cfg, cfg.n_test, 32, "test"), "photos": real_photographs(n),
             "photos_rotated": real_photographs(n, rotate_seed=derived_seed(s, 33) % 2 ** 31)}
    meas = lambda x, key: simulate_measurements(physics, x, seed=derived_seed(s, key) % 2 ** 31).y  # noqa: E731
    with torch.no_grad():
        val = None
        if cfg.converge is not None:
            x_val = images_for(cfg, cfg.n_val, 39, "val")
            val = (x_val, meas(x_val, 40))
        return {"lowdose_ct": Problem(physics, Rotate(multiples=1.0), cfg.alpha, x_train, meas(x_train, 34),
                                      {t: (x, meas(x, 35 + k)) for k, (t, x) in enumerate(tests.items())},
                                      paper=PAPER, validation=val)}


def run_lowdose_ct_rei(cfg: LowDoseCTConfig, out: str = "outputs/reproduce/lowdose-ct-rei", progress: bool = True,
                       results: Optional[str] = None):
    """Run the low-dose CT reproduction; writes ``table.*`` and ``reconstructions_lowdose_ct.png``. Converged
    mode: also merges the methods into the results file ``results`` (default ``out/results.json``)."""
    if not isinstance(cfg, LowDoseCTConfig):
        raise TypeError(f"cfg must be a LowDoseCTConfig, got {type(cfg).__name__}")
    what = 'images of ' + cfg.data if cfg.data else 'ellipse phantoms'
    notes = (f"{cfg.image_size}x{cfg.image_size} {what}, {cfg.views} views, Poisson-Gaussian noise "
             f"(gain {cfg.gain:g}, sigma {cfg.sigma:g}), {cfg.n_train} training / {cfg.n_test} test images, "
             f"α = {cfg.alpha:g}.")
    return run_method_table(cfg, out, build_problems, "Imaging paper Fig. 9: low-dose CT, REI", progress, notes,
                            _targets, results=results, name="lowdose-ct-rei", gaps=GAPS)


def sure_check(problem: Problem, model, draws: int = 20, batch: int = 8, seed: int = 0, **sure_kwargs) -> dict:
    """Is SURE-PG a usable estimate of the measurement-domain risk for ``model`` on ``problem``? Over ``draws``
    fresh noise draws of the first ``batch`` training images: the mean SURE value, the mean true
    ``mean((A f(y) - A x)^2)`` and the standard error of their paired difference; the cosine between the gradients
    (over the model's weights) of SURE and of the true MSE, each averaged over the draws (``grad_cosine``: tends to 1
    with the number of draws when SURE's gradient is unbiased), and their mean cosine at single draws
    (``grad_cosine_single``: below 1 even for an exact divergence, since the noise terms cancel only on average).
    ``sure_kwargs`` go to `SurePGLoss` (e.g. ``tau2``)."""
    if not isinstance(problem, Problem):
        raise TypeError(f"problem must be an engine.Problem (from build_problems), got {type(problem).__name__}")
    A, x = problem.physics, problem.x_train[:batch]
    if not isinstance(A, LinearPhysics):
        raise TypeError(f"the SURE check needs one operator, got {type(A).__name__}")
    loss, g = SurePGLoss(**sure_kwargs), torch.Generator().manual_seed(seed)
    params = [q for q in model.parameters() if q.requires_grad]
    sure: list[float] = []
    true: list[float] = []
    cos: list[float] = []
    gs_sum: torch.Tensor | float = 0.0
    gt_sum: torch.Tensor | float = 0.0
    for _ in range(draws):
        y = A.measure(x, g)
        x1 = model(y, A)
        s = loss(LossInputs(y, A, model, x1, g))["sure"]
        t = (A(x1) - A(x)).pow(2).mean()
        gs = torch.cat([v.reshape(-1) for v in torch.autograd.grad(s, params, retain_graph=True)])
        gt = torch.cat([v.reshape(-1) for v in torch.autograd.grad(t, params)])
        sure.append(float(s.detach()))
        true.append(float(t.detach()))
        cos.append(float(torch.nn.functional.cosine_similarity(gs, gt, dim=0)))
        gs_sum, gt_sum = gs_sum + gs, gt_sum + gt
    d = torch.tensor(sure, dtype=torch.float64) - torch.tensor(true, dtype=torch.float64)
    return {"sure": sum(sure) / draws, "true_mse": sum(true) / draws, "bias": float(d.mean()),
            "bias_se": float(d.std() / draws ** 0.5) if draws > 1 else float("nan"),
            "grad_cosine": float(torch.nn.functional.cosine_similarity(torch.as_tensor(gs_sum), torch.as_tensor(gt_sum),
                                                                       dim=0)),
            "grad_cosine_single": sum(cos) / draws}


def _targets(rows):
    v = {r["method"]: r["psnr_mean"] for r in rows if r["test_set"] == "test"}
    out = []
    if {"rei", "ei"} <= set(v):
        out.append(("REI ≫ EI (paper +7.7 dB)", f"{v['rei'] - v['ei']:+.2f} dB", v["rei"] - v["ei"] > 1.0))
    if {"rei", "sup"} <= set(v):
        out.append(("REI within 1 dB of Sup", f"{v['rei'] - v['sup']:+.2f} dB", v["rei"] >= v["sup"] - 1.0))
    return out


def main(argv=None, prog=None):
    """``python -m equinet reproduce lowdose-ct-rei [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("lowdose-ct-rei", "Imaging paper Fig. 9: low-dose CT, A†y vs EI vs REI vs supervised.",
               LowDoseCTConfig, run_lowdose_ct_rei, argv, prog, extra=data_and_methods_flags(METHODS))
