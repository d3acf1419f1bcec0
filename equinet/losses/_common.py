"""Helpers shared by the losses: mean squared error, argument checks, Monte-Carlo probes, noise parameters and
re-measurement of transformed images."""
from __future__ import annotations

import math
from typing import Optional

import torch

from ..physics.noise import GaussianNoise, NoiseModel, PoissonGaussianNoise, PoissonNoise
from ..transforms import Transform
from ..utils.checks import check_nonnegative_float

PROBES = ("gaussian", "rademacher")

#: the two-point law with mean 0, variance 1 and third moment 1: values phi = (1 + sqrt 5) / 2 with probability
#: (1 - 1/sqrt 5) / 2, and 1 - phi otherwise (the roots of t^2 - t - 1 = 0); see docs/losses.md
GOLDEN = (1.0 + math.sqrt(5.0)) / 2.0
GOLDEN_P = (1.0 - 1.0 / math.sqrt(5.0)) / 2.0


def mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean of the squared entries of ``a - b`` (over the batch and every entry)."""
    if a.shape != b.shape:
        raise ValueError(f"cannot compare tensors of shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return (a - b).pow(2).mean()


def check_weight(value, name: str = "weight") -> float:
    """A loss weight: a finite number >= 0 (`equinet.utils.checks.check_nonnegative_float`)."""
    return check_nonnegative_float(value, name)


def check_transform(transform) -> Transform:
    if not isinstance(transform, Transform):
        raise TypeError("transform must be an equinet.transforms.Transform (Rotate(), GroupTransform(...), "
                        f"Shift(...), ...), got {type(transform).__name__}")
    return transform


def check_probe(probe: str) -> str:
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}; expected one of {PROBES}")
    return probe


def draw_probe(like: torch.Tensor, generator: Optional[torch.Generator], kind: str) -> torch.Tensor:
    """A random probe shaped like ``like``, drawn on the generator's device (CPU) in float64, then cast:
    ``'gaussian'`` N(0, 1), ``'rademacher'`` ±1 (``u < 0.5`` -> -1 for ``u`` uniform), ``'golden'`` the
    two-point law above (``u < 1 - P(φ)`` -> ``1 - φ``, else ``φ``)."""
    gdev = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(like.shape, generator=generator, device=gdev, dtype=torch.float64) if kind != "gaussian" else \
        torch.randn(like.shape, generator=generator, device=gdev, dtype=torch.float64)
    if kind == "rademacher":
        u = torch.where(u < 0.5, -1.0, 1.0)
    elif kind == "golden":
        u = torch.where(u < 1.0 - GOLDEN_P, 1.0 - GOLDEN, GOLDEN)
    return u.to(device=like.device, dtype=like.dtype)


def noise_of(physics) -> NoiseModel:
    noise = getattr(physics, "noise", None)
    if not isinstance(noise, NoiseModel):
        raise TypeError(f"the physics {type(physics).__name__} has no equinet noise model (physics.noise)")
    return noise


def _required_noise(physics, kind, who: str, needs: str, label: str):
    """The physics' noise model, which must be exactly ``kind`` (else a ValueError saying what to pass)."""
    noise = noise_of(physics)
    if type(noise) is not kind:
        raise ValueError(f"{who} needs {label} noise: pass {needs}, or attach "
                         f"{kind.__name__} to the physics (it has {type(noise).__name__})")
    return noise


def gaussian_sigma(physics, sigma: Optional[float], who: str) -> float:
    """``sigma`` if given, else the sigma of the physics' GaussianNoise (clear error otherwise)."""
    return sigma if sigma is not None else _required_noise(physics, GaussianNoise, who, "sigma=...", "Gaussian").sigma


def poisson_gain(physics, gain: Optional[float], who: str) -> float:
    """``gain`` if given, else the gain of the physics' PoissonNoise (clear error otherwise)."""
    return gain if gain is not None else _required_noise(physics, PoissonNoise, who, "gain=...", "Poisson").gain


def pg_params(physics, gain: Optional[float], sigma: Optional[float], who: str):
    """``(gain, sigma)``: those given, the rest from the physics' PoissonGaussianNoise (clear error otherwise)."""
    if gain is not None and sigma is not None:
        return gain, sigma
    noise = _required_noise(physics, PoissonGaussianNoise, who, "gain=... and sigma=...",
                            "Poisson-Gaussian")
    return (noise.gain if gain is None else gain), (noise.sigma if sigma is None else sigma)


def remeasure(physics, x: torch.Tensor, generator: Optional[torch.Generator], noisy: bool) -> torch.Tensor:
    """``A x`` (``noisy=False``) or a fresh noisy measurement of ``x`` with the physics' own noise model.

    The noisy version is ``A x + stopgrad(noise(A x) - A x)``: the same value as ``physics.measure(x)``, with the
    gradient of the clean measurement (Poisson draws have none). Poisson rates are clamped at 0 for the draw, since
    a network's output may make ``A x`` slightly negative.
    """
    if not noisy:
        return physics(x)
    noise_of(physics)  # a clear error for a physics without an equinet noise model
    return physics.measure_straight_through(x, generator)


def check_image_like(x1: torch.Tensor, who: str) -> None:
    if not isinstance(x1, torch.Tensor) or x1.dim() != 4:
        raise ValueError(f"{who} expects reconstructions x1 of shape [B, C, H, W], got "
                         f"{tuple(getattr(x1, 'shape', ())) or type(x1).__name__}")
