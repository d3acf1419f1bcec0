"""Centred 2x resampling: exact C4/D4 equivariance for sizes 4k, 4k+1, 4k+2, 4k+3 (one and two levels), the
documented size rules and weights, and a naive stride-2 pooling failing the same check."""
import numpy as np
import pytest
import torch

from equinet import groups
from equinet.testing import grid_equivariance_error
from equinet.nn import Downsample2x, EquivariantSequential, FieldType, Upsample2x, is_standard

C4, D4, C8, C16 = groups.cyclic(4), groups.dihedral(4), groups.cyclic(8), groups.cyclic(16)


equivariance_error = grid_equivariance_error  # the one helper, from equinet.testing


def field_types(G):
    sub = groups.flips() if G.reflections else groups.cyclic(2)
    perm = FieldType(G, [G.regular, G.trivial, G.quotient(sub)])
    one = G.irrep(1, 1) if G.reflections else G.irrep(1)
    return perm, FieldType(G, [one, G.regular, G.trivial])


SIZES = [8, 9, 10, 11]  # 4k, 4k+1, 4k+2, 4k+3


@pytest.mark.parametrize("G", [C4, D4], ids=repr)
@pytest.mark.parametrize("mode", ["avg", "max"])
def test_downsample_exact_for_every_size_class(G, mode):
    perm, steer = field_types(G)
    t = perm if mode == "max" else steer
    one = Downsample2x(t, mode)
    two = EquivariantSequential(Downsample2x(t, mode), Downsample2x(t, mode))
    for s in SIZES:
        x = torch.randn(2, t.size, s, s)
        assert one(x).shape[-1] == (s + 1) // 2 and two(x).shape[-1] == ((s + 1) // 2 + 1) // 2
        assert equivariance_error(one, x) <= 1e-5
        assert equivariance_error(two, x) <= 1e-5


@pytest.mark.parametrize("G", [C8, C16], ids=repr)
def test_resampling_c8_c16_grid_preserving(G):
    perm, steer = field_types(G)
    for s in (9, 10):
        assert equivariance_error(Downsample2x(perm, "max"), torch.randn(1, perm.size, s, s)) <= 1e-5
        assert equivariance_error(Downsample2x(steer), torch.randn(1, steer.size, s, s)) <= 1e-5
        assert equivariance_error(Upsample2x(steer, "bilinear"), torch.randn(1, steer.size, s, s)) <= 1e-5


def test_non_square_images_use_the_rule_per_axis():
    _, t = field_types(D4)
    x = torch.randn(1, t.size, 10, 7)
    layer = Downsample2x(t)
    assert layer(x).shape[-2:] == (5, 4)
    assert equivariance_error(layer, x) <= 1e-5  # a quarter turn maps 10x7 to 7x10


def test_naive_stride_two_pooling_fails_the_same_check():
    """nn.AvgPool2d(2) drops the last row/column of odd sizes: not equivariant, which the checker detects."""
    _, t = field_types(C4)
    naive = torch.nn.AvgPool2d(2)
    naive.in_type = naive.out_type = t
    assert equivariance_error(naive, torch.randn(1, t.size, 9, 9)) > 0.05
    assert equivariance_error(naive, torch.randn(1, t.size, 8, 8)) <= 1e-5


def _down_1d_reference(v, mode):
    """The documented rule on a 1-D signal (numpy, float64)."""
    n = len(v)
    if n % 2 == 0:
        blocks = v.reshape(-1, 2)
        return blocks.max(1) if mode == "max" else blocks.mean(1)
    out = []
    for i in range(0, n, 2):
        idx = [j for j in (i - 1, i, i + 1) if 0 <= j < n]
        w = np.array([1.0 if j != i else 2.0 for j in idx])
        out.append(v[idx].max() if mode == "max" else (w * v[idx]).sum() / w.sum())
    return np.array(out)


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("H,W", [(8, 9), (11, 10), (1, 3), (2, 2)])
def test_downsample_weights(mode, H, W):
    x = torch.randn(2, 3, H, W, dtype=torch.float64)
    y = Downsample2x(FieldType.trivial(C4, 3), mode).double()(x)
    a = x.numpy()
    rows = np.apply_along_axis(_down_1d_reference, 2, a, mode)
    ref = np.apply_along_axis(_down_1d_reference, 3, rows, mode)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-12)
    if mode == "avg":  # a constant image stays constant, borders included
        c = Downsample2x(FieldType.trivial(C4), mode)(torch.full((1, 1, H, W), 2.5))
        assert torch.equal(c, torch.full_like(c, 2.5))


@pytest.mark.parametrize("G", [C4, D4], ids=repr)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsample_exact_and_sizes(G, mode):
    _, t = field_types(G)
    layer = Upsample2x(t, mode)
    for s in SIZES:
        x = torch.randn(2, t.size, s, s)
        assert layer(x).shape[-1] == 2 * s
        assert equivariance_error(layer, x) <= 1e-5
    x = torch.randn(1, t.size, 3, 4)
    y = layer(x)
    if mode == "nearest":
        torch.testing.assert_close(y, x.repeat_interleave(2, -1).repeat_interleave(2, -2), rtol=0, atol=0)
    else:  # output 2i+1 = 3/4 x_i + 1/4 x_{i+1} (interior), replicated borders
        torch.testing.assert_close(y[..., 1::2][..., 1, :-1],
                                   0.75 * (0.75 * x[..., 0, :-1] + 0.25 * x[..., 1, :-1])
                                   + 0.25 * (0.75 * x[..., 0, 1:] + 0.25 * x[..., 1, 1:]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("G", [C4, D4], ids=repr)
def test_odd_output_upsampling_undoes_odd_downsampling(G):
    _, t = field_types(G)
    up = Upsample2x(t, "bilinear", odd_output=True)
    for s in SIZES:
        x = torch.randn(1, t.size, s, s)
        assert equivariance_error(up, x) <= 1e-5
        y = up(x)
        assert y.shape[-1] == 2 * s - 1
        torch.testing.assert_close(y[..., ::2, ::2], x, rtol=0, atol=0)
        torch.testing.assert_close(y[..., ::2, 1::2], (x[..., :-1] + x[..., 1:]) / 2, rtol=1e-6, atol=1e-6)
        down = Downsample2x(t)(x)
        back = (up if s % 2 else Upsample2x(t, "bilinear"))(down)
        assert back.shape == x.shape
    with pytest.raises(ValueError, match="odd_output=True.*bilinear"):
        Upsample2x(t, "nearest", odd_output=True)


def test_resampling_errors_and_export():
    perm, steer = field_types(D4)
    with pytest.raises(TypeError, match=r"Downsample2x\(mode='max'\).*FieldType\(D4"):
        Downsample2x(steer, "max")
    with pytest.raises(ValueError, match="mode"):
        Downsample2x(perm, "bicubic")
    with pytest.raises(ValueError, match="mode"):
        Upsample2x(perm, "area")
    layers = [Downsample2x(steer), Downsample2x(perm, "max"), Upsample2x(steer), Upsample2x(steer, "bilinear"),
              Upsample2x(steer, "bilinear", odd_output=True)]
    for layer in layers:
        ex = layer.export()
        assert is_standard(ex)
        for s in (8, 9):  # one exported module serves even and odd sizes
            x = torch.randn(2, layer.in_type.size, s, s + 3)
            torch.testing.assert_close(ex(x), layer(x), rtol=0, atol=0)


@pytest.mark.parametrize("mode", ["avg", "max"])
@pytest.mark.parametrize("size", [(8, 6), (7, 6), (8, 5), (5, 5)])
def test_even_size_fast_path_is_bitwise_the_general_rule(mode, size):
    """Even images take one or two pooling calls in eager mode; the values (and the exported graph's, which keeps
    the general size rule) are bit for bit those of `downsample2x`."""
    from equinet.nn.resampling import downsample2x
    x = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(1))
    d = Downsample2x(FieldType.trivial(groups.cyclic(4), 3), mode)
    assert torch.equal(d(x), downsample2x(x, mode))
    assert torch.equal(d.export()(x), d(x))


@pytest.mark.parametrize("size", [(8, 6), (64, 64)])
@pytest.mark.parametrize("skip_first", [True, False])
def test_even_size_average_keeps_the_general_rules_gradient_bit_for_bit(size, skip_first):
    """With a second use of the input (a U-Net's skip connection), the input's gradient of the 'avg' fast path is
    bit for bit that of `downsample2x` (two half-gradients added one at a time, not their sum at once: one
    pooling call drifted the quick reproductions' U-Net training by ~1e-9 dB in 10 steps)."""
    from equinet.nn.resampling import downsample2x
    gen = torch.Generator().manual_seed(2)
    x0 = torch.randn(2, 3, *size, generator=gen)
    g_down = torch.randn(2, 3, size[0] // 2, size[1] // 2, generator=gen)
    g_skip = torch.randn(2, 3, *size, generator=gen)
    d = Downsample2x(FieldType.trivial(groups.cyclic(4), 3), "avg")

    def input_grad(down):
        x = x0.clone().requires_grad_(True)
        h = x * 1.0  # an intermediate feature map with two uses
        skip = (h * g_skip).sum() if skip_first else None
        out = (down(h) * g_down).sum()
        out = out + (skip if skip_first else (h * g_skip).sum())
        out.backward()
        return x.grad

    assert torch.equal(input_grad(d), input_grad(lambda h: downsample2x(h, "avg")))
