"""Measurement noise models.

Every model is a ``torch.nn.Module`` called as ``noise(y, generator=None)``; it returns a noisy copy of the
clean measurement ``y`` (any shape, float32 or float64). With a ``torch.Generator`` the draw is fully
deterministic: the random numbers are drawn on the generator's device and then moved to ``y``'s device,
so the same seed gives the same noise on CPU and GPU inputs. Without a generator the global RNG of
``y``'s device is used.

Conventions (``gain`` is the size of one photon count in measurement units):

* ``GaussianNoise(sigma)``: ``y + sigma * n``, ``n ~ N(0, I)``; mean ``y``, variance ``sigma**2``.
* ``PoissonNoise(gain)``: ``gain * Poisson(y / gain)``; mean ``y``, variance ``gain * y``; needs ``y >= 0``.
* ``PoissonGaussianNoise(gain, sigma)``: ``gain * Poisson(y / gain) + sigma * n``; mean ``y``,
  variance ``gain * y + sigma**2``.
* ``NoNoise()``: returns ``y`` unchanged.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from ..utils.checks import check_real
from ..utils.registry import Registry

__all__ = ["NoiseModel", "NoNoise", "GaussianNoise", "GaussianBandNoise", "PoissonNoise", "PoissonGaussianNoise",
           "NOISES"]

#: name -> noise model class (the TOML's ``noise = { name = ... }``)
NOISES: Registry = Registry("noise model")


def _check_measurement(y) -> None:
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"noise models expect a torch.Tensor measurement, got {type(y).__name__}")
    if not y.is_floating_point():
        raise TypeError(f"noise models expect a real floating-point tensor, got dtype {y.dtype}")


def _check_generator(generator) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")


def _randn_like(y: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    if generator is None:
        return torch.randn_like(y)
    n = torch.randn(y.shape, generator=generator, device=generator.device, dtype=y.dtype)
    return n.to(y.device)


def _poisson(rate: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
    if generator is None:
        return torch.poisson(rate)
    return torch.poisson(rate.to(generator.device), generator=generator).to(rate.device)


class NoiseModel(nn.Module):
    """Base class of the noise models: ``forward(y, generator=None)`` returns a noisy copy of ``y``."""

    #: whether the noise is drawn from a rate that must be >= 0 (Poisson laws)
    nonnegative_rate: bool = False

    def forward(self, y: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Return a noisy version of the clean measurement ``y``."""
        _check_measurement(y)
        _check_generator(generator)
        return self._sample(y, generator)

    def _sample(self, y: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _sample")

    def variance(self, y: torch.Tensor) -> torch.Tensor:
        """Per-entry variance of ``noise(y)`` given the clean measurement ``y``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")


@NOISES.register("none")
class NoNoise(NoiseModel):
    """Noise-free measurements: returns ``y`` itself."""

    def _sample(self, y, generator):
        return y

    def variance(self, y: torch.Tensor) -> torch.Tensor:
        """Zero variance."""
        return torch.zeros_like(y)


@NOISES.register("gaussian")
class GaussianNoise(NoiseModel):
    """Additive white Gaussian noise ``y + sigma * n`` with ``n ~ N(0, I)``."""

    def __init__(self, sigma: float = 0.1):
        super().__init__()
        self.sigma = check_real(sigma, "GaussianNoise sigma")

    def _sample(self, y, generator):
        return y + self.sigma * _randn_like(y, generator)

    def variance(self, y: torch.Tensor) -> torch.Tensor:
        """``sigma**2`` everywhere."""
        return torch.full_like(y, self.sigma**2)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


@NOISES.register("poisson")
class PoissonNoise(NoiseModel):
    """Scaled Poisson (shot) noise ``gain * Poisson(y / gain)``; mean ``y``, variance ``gain * y``."""

    nonnegative_rate = True

    def __init__(self, gain: float = 1.0):
        super().__init__()
        self.gain = check_real(gain, "PoissonNoise gain", strict=True)

    def _sample(self, y, generator):
        if not bool(torch.isfinite(y).all()) or bool((y < 0).any()):
            raise ValueError("PoissonNoise needs finite, non-negative measurements (photon rates), "
                             f"got min {float(y.min()) if y.numel() else 0.0}")
        return self.gain * _poisson(y.detach() / self.gain, generator)

    def variance(self, y: torch.Tensor) -> torch.Tensor:
        """``gain * y``."""
        return self.gain * y

    def extra_repr(self) -> str:
        return f"gain={self.gain}"


@NOISES.register("poisson_gaussian")
class PoissonGaussianNoise(NoiseModel):
    """Poisson-Gaussian noise ``gain * Poisson(y / gain) + sigma * n``; variance ``gain * y + sigma**2``."""

    nonnegative_rate = True

    def __init__(self, gain: float = 1.0, sigma: float = 0.1):
        super().__init__()
        self.gain = check_real(gain, "PoissonGaussianNoise gain", strict=True)
        self.sigma = check_real(sigma, "PoissonGaussianNoise sigma")

    def _sample(self, y, generator):
        if not bool(torch.isfinite(y).all()) or bool((y < 0).any()):
            raise ValueError("PoissonGaussianNoise needs finite, non-negative measurements (photon rates), "
                             f"got min {float(y.min()) if y.numel() else 0.0}")
        counts = _poisson(y.detach() / self.gain, generator)
        return self.gain * counts + self.sigma * _randn_like(y, generator)

    def variance(self, y: torch.Tensor) -> torch.Tensor:
        """``gain * y + sigma**2``."""
        return self.gain * y + self.sigma**2

    def extra_repr(self) -> str:
        return f"gain={self.gain}, sigma={self.sigma}"


@NOISES.register("gaussian_band")
class GaussianBandNoise(NoiseModel):
    """Additive white Gaussian noise whose level is drawn per image: ``y_i + sigma_i * n`` with ``sigma_i`` in
    ``[sigma_min, sigma_max]`` (the first dimension of ``y`` indexes the images), uniform (``spacing='linear'``) or
    log-uniform (``spacing='log'``: as many images per octave, so the low levels are not rare). The training noise
    of a blind denoiser, one network for a range of noise levels.

    >>> import torch
    >>> noise = GaussianBandNoise(0.01, 0.2)
    >>> y = noise(torch.zeros(3, 1, 64, 64), torch.Generator().manual_seed(0))
    >>> [bool(0.009 < s < 0.21) for s in y.std((1, 2, 3)).tolist()]
    [True, True, True]
    """

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 0.2, spacing: str = "linear"):
        super().__init__()
        self.sigma_min = check_real(sigma_min, "GaussianBandNoise sigma_min")
        self.sigma_max = check_real(sigma_max, "GaussianBandNoise sigma_max")
        if self.sigma_max < self.sigma_min:
            raise ValueError(f"GaussianBandNoise needs sigma_min <= sigma_max, got sigma_min={self.sigma_min}, "
                             f"sigma_max={self.sigma_max}")
        if spacing not in ("linear", "log"):
            raise ValueError(f"GaussianBandNoise spacing must be 'linear' or 'log', got {spacing!r}")
        if spacing == "log" and self.sigma_min <= 0:
            raise ValueError(f"GaussianBandNoise(spacing='log') needs sigma_min > 0, got {self.sigma_min}")
        self.spacing = spacing

    def _sample(self, y, generator):
        if y.dim() == 0:
            raise ValueError("GaussianBandNoise draws one noise level per image: y needs a batch dimension, "
                             "got a 0-d tensor")
        u = torch.rand((y.shape[0],) + (1,) * (y.dim() - 1), generator=generator,
                       device=generator.device if generator is not None else y.device, dtype=y.dtype).to(y.device)
        lo, hi = self.sigma_min, self.sigma_max
        sigma = lo * (hi / lo) ** u if self.spacing == "log" and hi > lo else lo + (hi - lo) * u
        return y + sigma * _randn_like(y, generator)

    def variance(self, y: torch.Tensor) -> torch.Tensor:
        """The variance over the noise level too, E[sigma²] everywhere: (lo² + lo·hi + hi²) / 3 (linear) or
        (hi² − lo²) / (2 ln(hi / lo)) (log)."""
        lo, hi = self.sigma_min, self.sigma_max
        if self.spacing == "log" and hi > lo:
            return torch.full_like(y, (hi * hi - lo * lo) / (2.0 * math.log(hi / lo)))
        return torch.full_like(y, (lo * lo + lo * hi + hi * hi) / 3.0)

    def extra_repr(self) -> str:
        return f"sigma_min={self.sigma_min}, sigma_max={self.sigma_max}, spacing={self.spacing!r}"
