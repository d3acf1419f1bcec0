"""The comparison's operators: sparse-view CT and Cartesian MRI with noise relative to the clean measurements."""
from __future__ import annotations

import torch

from ...physics import MRI, GaussianNoise, Radon, magnitude, real_to_channels
from .config import OPERATORS, ComparisonConfig

__all__ = ["build_operator", "to_operator_images", "to_metric_images"]


def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def build_operator(name: str, cfg: ComparisonConfig, reference: torch.Tensor):
    """The operator ``name`` with its noise model; sigma is relative to the clean measurements of ``reference``
    images ``[n, 1, H, W]``. Returns (physics, image_channels, sigma, description)."""
    n = cfg.image_size
    if name == "ct":
        op = Radon(n, angles=cfg.ct_angles, filter=cfg.ct_filter)
        sigma = cfg.ct_noise * _rms(op(reference))
        op.noise = GaussianNoise(sigma)
        desc = (f"sparse-view CT: Radon({n}x{n}, {cfg.ct_angles} angles in [0, 180)), Gaussian noise sigma = "
                f"{cfg.ct_noise:g} x RMS(clean sinogram) = {sigma:.4g}; baseline FBP ({cfg.ct_filter} filter)")
        return op, 1, sigma, desc
    if name == "mri":
        mri = MRI(n, acceleration=cfg.mri_acceleration, center_fraction=cfg.mri_center_fraction, seed=cfg.seed)
        sigma = cfg.mri_noise * _rms(reference)  # the orthonormal FFT keeps the RMS (Parseval)
        mri.noise = GaussianNoise(sigma)
        lines = int(mri.mask[0].sum())
        desc = (f"Cartesian MRI: {n}x{n}, {lines}/{n} k-space columns (acceleration {cfg.mri_acceleration:g}, "
                f"centre fraction {cfg.mri_center_fraction:g}), Gaussian noise sigma = {cfg.mri_noise:g} x "
                f"RMS(k-space) = {sigma:.4g}; baseline zero-filled inverse FFT; metrics on |u|")
        return mri, 2, sigma, desc
    raise ValueError(f"unknown operator {name!r}; expected one of {OPERATORS}")


def to_operator_images(x: torch.Tensor, channels: int) -> torch.Tensor:
    """Real phantoms ``[n, 1, H, W]`` as the operator's images (MRI: 2 channels, zero imaginary part)."""
    return x if channels == 1 else real_to_channels(x)


def to_metric_images(u: torch.Tensor, channels: int) -> torch.Tensor:
    """Reconstructions as the images the metrics compare (MRI: the magnitude)."""
    return u if channels == 1 else magnitude(u)
