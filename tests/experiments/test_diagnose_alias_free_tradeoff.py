"""experiments/diagnose_alias_free_tradeoff.py: the idealised band-limited ReLU is exactly 90°/flip equivariant at odd
and even sizes, is exactly its radial window on positive band-limited inputs (no blur besides R), removes nothing
but the aliasing with R = 1, and the spatial Gaussian read-back filter is symmetric and normalised."""
import importlib.util
import math
import os

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def diag():
    spec = importlib.util.spec_from_file_location(
        "diagnose_alias_free_tradeoff", os.path.join(ROOT, "experiments", "diagnose_alias_free_tradeoff.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["0.3", "g0.3", "none"])
@pytest.mark.parametrize("n", [16, 17])
def test_exact_rotations_and_flips(diag, name, n):
    torch.manual_seed(0)
    layer = diag.layer(name)
    x = torch.randn(2, 3, n, n, dtype=torch.float64)
    y = layer(x)
    assert y.shape == x.shape
    torch.testing.assert_close(layer(torch.rot90(x, 1, (2, 3))), torch.rot90(y, 1, (2, 3)), rtol=0, atol=1e-12)
    torch.testing.assert_close(layer(x.flip(-1)), y.flip(-1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name,f,gain", [("none", 0.45, 1.0), ("g0.3", 0.2, math.exp(-0.5 * (0.2 / 0.3) ** 2)),
                                         ("0.25", 0.2, 1.0), ("0.25", 0.4, 0.0)])
def test_positive_periodic_inputs_see_exactly_the_window(diag, name, f, gain):
    """On a positive cosine that is periodic on the canvas (pad 0), ReLU is the identity and the layer is R."""
    n = 40
    k = round(f * n)
    ii = torch.arange(n, dtype=torch.float64)
    x = (2 + torch.cos(2 * math.pi * k / n * ii))[None, None, None, :].expand(1, 1, n, n)
    layer = diag.BandLimitedReLU(None, pad=0, gauss=float(name[1:])) if name.startswith("g") else \
        diag.BandLimitedReLU(None if name == "none" else float(name), pad=0)
    y = layer(x)
    expected = 2 + gain * (x - 2)
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-10)


def test_relu_harmonics_above_nyquist_removed(diag):
    """With R = 1 the Nyquist bins of the output vanish (even size) and the output differs from the pointwise ReLU
    (whose kinks it band-limits)."""
    torch.manual_seed(1)
    x = torch.randn(1, 1, 24, 24, dtype=torch.float64)
    y = diag.BandLimitedReLU(None, pad=0)(x)
    Y = torch.fft.fft2(y)
    assert Y[..., 12, :].abs().max() < 1e-9 and Y[..., :, 12].abs().max() < 1e-9  # the Nyquist bins
    assert (y - torch.relu(x)).abs().max() > 1e-3  # it is not the pointwise ReLU


def test_spatial_gauss_filter_symmetric_normalised(diag):
    h = diag.spatial_gauss_filter(0.27)
    assert h.shape == (10, 10)
    assert abs(h.sum() - 1) < 1e-12
    for t in (np.rot90(h), h[::-1], h.T):
        np.testing.assert_allclose(t, h, rtol=0, atol=1e-12)
