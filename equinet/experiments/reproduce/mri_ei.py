"""Fig. 8 of the imaging paper: 4x accelerated single-coil MRI (Cartesian lines), the residual U-Net on A†y (the
zero-filled inverse FFT), trained with MC, with EI (MC + α EI, rotations by multiples of 1 degree) and supervised.
MC cannot leave A†y's range (Fourier sampling: the measurements are blind to the null space), EI can because the
images are rotation invariant and the operator is not. Data: ellipse phantoms (rotation-invariant set, offline);
test on held-out phantoms and on scikit-image's photographs, upright and rotated (a model trained on ellipses meeting
real structure). ``python -m equinet reproduce mri-ei``; docs/reproduce_mri_ei.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from ...physics import MRI, magnitude, real_to_channels
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

__all__ = ["MRIEIConfig", "build_problems", "run_mri_ei", "main"]

METHODS = ("pinv", "mc", "ei", "sup")
#: Fig. 8 of the imaging paper: its text extraction keeps no unambiguous PSNR per method (docs/reproduce_mri_ei.md)
PAPER: dict = {}
GAPS = (("EI − A†y", "ei", "pinv"), ("Sup − EI", "sup", "ei"), ("EI − MC", "ei", "mc"))


@dataclass(frozen=True)
class MRIEIConfig(UNetRunConfig):
    """Settings (see `quick`, `full`)."""

    methods: Tuple[str, ...] = METHODS
    acceleration: float = 4.0
    alpha: float = 1.0

    def __post_init__(self):
        check_fields(self, ("image_size", "n_train", "n_test", "steps", "batch_size", "width", "scales", "workers"),
                     ("lr", "alpha", "acceleration"))
        check_methods(self, METHODS)


def build_problems(cfg: MRIEIConfig):
    """``{'mri': Problem}``: 2-channel (real, imaginary) images, PSNR on the magnitude."""
    n, s = cfg.image_size, cfg.seed
    physics = MRI(n, acceleration=cfg.acceleration, seed=derived_seed(s, 20) % 2 ** 31)
    ph = lambda k, key, split: real_to_channels(images_for(cfg, k, key, split))  # noqa: E731
    x_train = ph(cfg.n_train, 21, "train")
    tests = {"test": ph(cfg.n_test, 22, "test"), "photos": real_to_channels(real_photographs(n)),
             "photos_rotated": real_to_channels(real_photographs(n, rotate_seed=derived_seed(s, 23) % 2 ** 31))}
    with torch.no_grad():
        val = None
        if cfg.converge is not None:
            x_val = ph(cfg.n_val, 24, "val")
            val = (x_val, physics(x_val))
        return {"mri": Problem(physics, Rotate(multiples=1.0), cfg.alpha, x_train, physics(x_train),
                               {t: (x, physics(x)) for t, x in tests.items()}, channels=2, metric_image=magnitude,
                               paper=PAPER, validation=val)}


def run_mri_ei(cfg: MRIEIConfig, out: str = "outputs/reproduce/mri-ei", progress: bool = True,
               results: Optional[str] = None):
    """Run the MRI reproduction; writes ``table.*`` and ``reconstructions_mri.png``. Returns the rows. Converged
    mode: also merges the methods into the results file ``results`` (default ``out/results.json``)."""
    if not isinstance(cfg, MRIEIConfig):
        raise TypeError(f"cfg must be an MRIEIConfig, got {type(cfg).__name__}")
    what = 'images of ' + cfg.data if cfg.data else 'ellipse phantoms'
    notes = (f"{cfg.image_size}x{cfg.image_size} {what}, {cfg.acceleration:g}x Cartesian line sampling, "
             f"{cfg.n_train} training / {cfg.n_test} test images, α = {cfg.alpha:g}, PSNR of the magnitude.")
    return run_method_table(cfg, out, build_problems, "Imaging paper Fig. 8: 4x MRI", progress, notes, _targets,
                            results=results, name="mri-ei", gaps=GAPS)


def _targets(rows):
    v = {r["method"]: r["psnr_mean"] for r in rows if r["test_set"] == "test"}
    out = []
    if {"ei", "mc"} <= set(v):
        out.append(("EI > MC (learns beyond the range)", f"{v['ei'] - v['mc']:+.2f} dB", v["ei"] > v["mc"]))
    if {"ei", "sup"} <= set(v):
        out.append(("EI within 1 dB of Sup", f"{v['ei'] - v['sup']:+.2f} dB", v["ei"] >= v["sup"] - 1.0))
    return out


def main(argv=None, prog=None):
    """``python -m equinet reproduce mri-ei [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("mri-ei", "Imaging paper Fig. 8: 4x MRI, A†y vs MC vs EI (rotations) vs supervised.", MRIEIConfig,
               run_mri_ei, argv, prog, extra=data_and_methods_flags(METHODS))
