"""The kind/value checks shared by kernels, nn, physics, losses and training (TypeError for a wrong kind of object,
ValueError for a wrong value), and the straight-through measurement the losses use."""
import math

import pytest
import torch

from equinet.utils.checks import check_int, check_nonnegative_float, check_real


def test_check_int_and_check_real():
    assert check_int(5, "k", 1) == 5 and check_real(2, "s") == 2.0 and check_real(0, "s") == 0.0
    for bad in (2.5, True, "3", None):
        with pytest.raises(TypeError, match="k must be an integer >= 1"):
            check_int(bad, "k", 1)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        check_int(0, "k", 1)
    with pytest.raises(TypeError, match="s must be a real number, got bool"):
        check_real(True, "s")
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="s must be finite and >= 0"):
            check_real(bad, "s")
    with pytest.raises(ValueError, match="g must be finite and > 0, got 0.0"):
        check_real(0.0, "g", strict=True)
    assert check_nonnegative_float(0, "w") == 0.0
    for bad in (-1e-9, math.nan, True, "1"):
        with pytest.raises(ValueError, match="w must be a finite number >= 0"):
            check_nonnegative_float(bad, "w")


def test_straight_through_measurement_is_masked_and_has_the_clean_gradient():
    from equinet.physics import Inpainting, PoissonNoise
    A = Inpainting(8, drop=0.5, seed=2, noise=PoissonNoise(0.1))
    x = (torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0)) - 0.2).requires_grad_()
    y = A.measure_straight_through(x, torch.Generator().manual_seed(3))
    mask = A.measurement_mask(y)
    assert torch.equal(y.detach() * (1 - mask), torch.zeros_like(y))       # nothing outside the measured entries
    assert bool((y.detach() >= 0).all())                                   # Poisson drawn from the clamped rate
    (y * torch.arange(64.0).view(1, 1, 8, 8)).sum().backward()
    torch.testing.assert_close(x.grad, A.adjoint(torch.arange(64.0).view(1, 1, 8, 8).expand(2, 1, 8, 8)))
