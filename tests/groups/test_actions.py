"""Actions on images and fields: exact grid-preserving elements (even and odd sizes), homomorphism, inverse,
interpolated rotations against analytic images, and bad input."""
import math

import numpy as np
import pytest
import torch

from equinet import groups


def point_permutation_reference(u, g):
    """(T_g u)(x) = u(H⁻¹x) by explicit coordinates: for each output pixel, find the input pixel."""
    B, C, H, W = u.shape
    out = torch.empty_like(u)
    Hinv = g.inverse.matrix
    for r in range(H):
        for c in range(W):
            x, y = c - (W - 1) / 2, (H - 1) / 2 - r
            xs, ys = Hinv @ np.array([x, y])
            cs, rs = xs + (W - 1) / 2, (H - 1) / 2 - ys
            out[..., r, c] = u[..., int(round(rs)), int(round(cs))]
    return out


@pytest.mark.parametrize("size", [(5, 5), (6, 6), (7, 7), (4, 4)])
def test_grid_preserving_elements_are_exact_permutations(size):
    u = torch.randn(2, 3, *size)
    for g in groups.dihedral(4).elements():
        torch.testing.assert_close(groups.act(g, u), point_permutation_reference(u, g), rtol=0, atol=0)


def test_rotation_by_90_is_counter_clockwise_with_y_up():
    u = torch.zeros(1, 1, 5, 5)
    u[0, 0, 2, 4] = 1.0  # the point (x, y) = (2, 0)
    v = groups.act(groups.cyclic(4).element(steps=1), u)
    assert v[0, 0, 0, 2] == 1.0  # moved to (0, 2): top centre


@pytest.mark.parametrize("size", [6, 7])
def test_field_action_is_a_homomorphism(size):
    G = groups.dihedral(4)
    rep = G.regular + G.irrep(1, 1) + G.trivial
    u = torch.randn(2, rep.size, size, size, dtype=torch.float64)
    for a in G.elements():
        for b in G.elements():
            torch.testing.assert_close(groups.act(a, groups.act(b, u, rep), rep), groups.act(a * b, u, rep),
                                       rtol=0, atol=1e-12)
        torch.testing.assert_close(groups.act(a.inverse, groups.act(a, u, rep), rep), u, rtol=0, atol=1e-12)


def blob(size, angle=0.0, dtype=torch.float64):
    """An analytic smooth image (off-centre anisotropic Gaussian) rotated by angle."""
    c = (size - 1) / 2
    y, x = torch.meshgrid(c - torch.arange(size, dtype=dtype), torch.arange(size, dtype=dtype) - c, indexing="ij")
    ca, sa = math.cos(angle), math.sin(angle)
    xr, yr = ca * x + sa * y, -sa * x + ca * y  # H⁻¹ x
    return torch.exp(-((xr - 3) ** 2 / 8 + (yr - 1) ** 2 / 4.5))[None, None]


@pytest.mark.parametrize("size", [32, 33])
def test_interpolated_rotations_match_analytic_rotation(size):
    S = groups.so2(4)
    for deg in (30.0, 45.0, 130.0):
        g = S.element(math.radians(deg))
        ref = blob(size, g.angle)
        err_f = (groups.act(g, blob(size), method="fourier") - ref).abs().max().item()
        err_b = (groups.act(g, blob(size), method="bilinear") - ref).abs().max().item()
        assert err_f < 5e-5  # band-limited up to the blob spectrum at Nyquist (~1e-5)
        assert err_b < 0.1  # bilinear: ~h²/(8σ²) = 0.055 for this 1.5 px blob
    g90 = S.element(math.pi / 2)
    u = blob(size)
    torch.testing.assert_close(groups.act(g90, u, method="fourier"), groups.act(g90, u), atol=1e-12, rtol=0)


def test_fourier_rotations_compose():
    S = groups.so2(4)
    a, b = S.element(0.4), S.element(0.7)
    u = blob(40)
    two = groups.act(a, groups.act(b, u, method="fourier"), method="fourier")
    one = groups.act(a * b, u, method="fourier")
    assert (two - one).abs().max().item() < 5e-5


def test_bad_input():
    G = groups.cyclic(4)
    with pytest.raises(ValueError, match="3 channels but the representation"):
        groups.act(G.identity, torch.zeros(1, 3, 4, 4), G.regular)
    with pytest.raises(ValueError, match=r"\[batch, channels, H, W\]"):
        groups.act(G.identity, torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="is of C8"):
        groups.act(groups.cyclic(8).identity, torch.zeros(1, 4, 4, 4), G.regular)
    with pytest.raises(ValueError, match="does not preserve the pixel grid"):
        groups.act(groups.cyclic(8).element(steps=1), torch.zeros(1, 1, 4, 4), method="exact")
    with pytest.raises(ValueError, match="unknown method"):
        groups.act(G.identity, torch.zeros(1, 1, 4, 4), method="cubic")
