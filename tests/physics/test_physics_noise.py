"""Noise models: first two moments on large samples, determinism, errors.

Tolerances are 5 standard errors of the estimator for the sample size N: the sample mean has standard error
sqrt(v / N); the sample variance has standard error sqrt((kappa4 + 2 v^2) / N), with kappa4 the fourth cumulant
(0 for a Gaussian, gain^4 * mu for gain * Poisson(mu), additive for independent sums).
"""

import math

import pytest
import torch

from equinet.physics import GaussianNoise, NoNoise, PoissonGaussianNoise, PoissonNoise

N = 400_000


def _moments_ok(sample, mean, var, kappa4):
    n = sample.numel()
    m = float(sample.mean())
    v = float(sample.var())
    assert abs(m - mean) <= 5 * math.sqrt(var / n), (m, mean)
    assert abs(v - var) <= 5 * math.sqrt((kappa4 + 2 * var**2) / n), (v, var)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gaussian_moments(dtype):
    y = torch.full((N,), 0.3, dtype=dtype)
    noisy = GaussianNoise(0.5)(y, generator=torch.Generator().manual_seed(0))
    assert noisy.dtype == dtype
    _moments_ok(noisy.double(), 0.3, 0.25, 0.0)


@pytest.mark.parametrize("gain,level", [(0.1, 2.0), (1.0, 3.0), (0.02, 0.5)])
def test_poisson_moments(gain, level):
    y = torch.full((N,), level, dtype=torch.float64)
    noise = PoissonNoise(gain)
    noisy = noise(y, generator=torch.Generator().manual_seed(1))
    counts = noisy / gain
    torch.testing.assert_close(counts, counts.round(), rtol=0, atol=1e-9)  # values are multiples of gain
    mu = level / gain
    _moments_ok(noisy, level, gain * level, gain**4 * mu)
    torch.testing.assert_close(noise.variance(y), torch.full_like(y, gain * level))


def test_poisson_gaussian_moments():
    gain, sigma, level = 0.5, 0.3, 1.5
    y = torch.full((N,), level, dtype=torch.float64)
    noise = PoissonGaussianNoise(gain, sigma)
    noisy = noise(y, generator=torch.Generator().manual_seed(2))
    var = gain * level + sigma**2
    _moments_ok(noisy, level, var, gain**4 * (level / gain))
    torch.testing.assert_close(noise.variance(y)[:3], torch.full((3,), var, dtype=torch.float64))


def test_signal_dependent_variance():
    """Poisson variance follows the clean signal entry by entry: check two levels in one tensor."""
    y = torch.cat((torch.full((N // 2,), 0.5), torch.full((N // 2,), 4.0))).double()
    noisy = PoissonNoise(0.25)(y, generator=torch.Generator().manual_seed(3))
    for part, level in ((noisy[: N // 2], 0.5), (noisy[N // 2:], 4.0)):
        _moments_ok(part, level, 0.25 * level, 0.25**4 * level / 0.25)


@pytest.mark.parametrize("noise", [GaussianNoise(0.1), PoissonNoise(0.1), PoissonGaussianNoise(0.1, 0.1)],
                         ids=["gaussian", "poisson", "poisson-gaussian"])
def test_determinism(noise):
    y = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    a = noise(y, generator=torch.Generator().manual_seed(5))
    b = noise(y, generator=torch.Generator().manual_seed(5))
    c = noise(y, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    torch.manual_seed(11)
    d = noise(y)
    torch.manual_seed(11)
    assert torch.equal(d, noise(y))
    assert a.shape == y.shape and a.dtype == y.dtype


def test_no_noise_and_errors():
    y = torch.rand(3, 4)
    assert NoNoise()(y) is y
    with pytest.raises(ValueError, match="non-negative"):
        PoissonNoise(1.0)(torch.tensor([0.5, -0.1]))
    with pytest.raises(ValueError, match="non-negative"):
        PoissonGaussianNoise(1.0, 0.1)(torch.tensor([float("nan")]))
    with pytest.raises(ValueError, match=">= 0"):
        GaussianNoise(-0.1)
    with pytest.raises(ValueError, match="> 0"):
        PoissonNoise(0.0)
    with pytest.raises(TypeError, match="real number"):
        GaussianNoise(True)
    with pytest.raises(TypeError, match="floating-point"):
        GaussianNoise(0.1)(torch.ones(3, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Generator"):
        GaussianNoise(0.1)(torch.ones(3), generator=0)


@pytest.mark.parametrize("spacing", ["linear", "log"])
def test_gaussian_band_draws_one_level_per_image(spacing):
    from equinet.physics import GaussianBandNoise
    noise = GaussianBandNoise(0.01, 0.2, spacing=spacing)
    y = torch.zeros(4000, 1, 32, 32, dtype=torch.float64)
    n = noise(y, torch.Generator().manual_seed(0))
    s = n.std((1, 2, 3))
    assert float(s.min()) > 0.01 * 0.9 and float(s.max()) < 0.2 * 1.1
    # per-image levels: linear has its median at the mean of the ends, log at their geometric mean
    med = float(s.median())
    assert med == pytest.approx(0.105 if spacing == "linear" else math.sqrt(0.01 * 0.2), rel=0.05)
    # the variance over the noise level too
    assert float(n.pow(2).mean()) == pytest.approx(float(noise.variance(y[:1]).mean()), rel=0.05)
    assert torch.equal(n, noise(y, torch.Generator().manual_seed(0)))  # deterministic given the generator


def test_gaussian_band_bad_input():
    from equinet.physics import GaussianBandNoise
    with pytest.raises(ValueError, match="sigma_min <= sigma_max"):
        GaussianBandNoise(0.2, 0.1)
    with pytest.raises(ValueError, match="spacing must be 'linear' or 'log'"):
        GaussianBandNoise(spacing="geometric")
    with pytest.raises(ValueError, match="needs sigma_min > 0"):
        GaussianBandNoise(0.0, 0.1, spacing="log")
    with pytest.raises(ValueError, match="batch dimension"):
        GaussianBandNoise()(torch.tensor(1.0))
