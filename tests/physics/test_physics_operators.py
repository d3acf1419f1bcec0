"""Interface-level properties shared by every operator of equinet.physics."""

import math

import pytest
import torch

from equinet import physics as P


def _kernel_3x5():
    g = torch.Generator().manual_seed(3)
    return torch.rand(3, 5, generator=g, dtype=torch.float64)  # deliberately asymmetric


# (id, factory(n)) - every operator class, with its main variants; n is the (even or odd) image size
OPERATORS = [
    ("radon-circle", lambda n: P.Radon(n, 12)),
    ("radon-square", lambda n: P.Radon(n, [0.0, 17.5, 33.0, 90.0, 151.0], circle=False)),
    ("radon-skimage-centre", lambda n: P.Radon(n, 7, center="skimage")),
    ("mri", lambda n: P.MRI((n, n + 3), acceleration=3.0, center_fraction=0.1, seed=1)),
    ("inpainting", lambda n: P.Inpainting((n + 1, n), drop=0.4, seed=2)),
    ("blur-circular", lambda n: P.Blur(_kernel_3x5(), image_size=n)),
    ("blur-zeros", lambda n: P.Blur(_kernel_3x5(), padding="zeros", image_size=(n, n + 2))),
    ("denoising", lambda n: P.Denoising(n)),
    ("cs-gaussian", lambda n: P.CompressedSensing(n, n * n // 3, kind="gaussian", seed=4)),
    ("cs-rademacher", lambda n: P.CompressedSensing((n, n + 1), n * n // 2, kind="rademacher", seed=5)),
    ("cs-hadamard", lambda n: P.CompressedSensing((16, 8) if n % 2 == 0 else (4, 32), 40, kind="hadamard", seed=6)),
    ("single-pixel", lambda n: P.SinglePixel(16 if n % 2 == 0 else (8, 4), 20, seed=7)),
]
SIZES = [16, 15]


def _params():
    return [pytest.param(make, n, id=f"{name}-{n}") for name, make in OPERATORS for n in SIZES]


def _batch(op, b=2, c=3, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = op.in_shape
    channels = op.channels if op.channels is not None else c
    return torch.randn((b, channels) + tuple(shape[1:]), generator=g, dtype=dtype)


def _dense(op):
    """Dense matrix of a channel-wise (or fixed-channel) operator on one item."""
    n_in = math.prod(op.in_shape)
    basis = torch.eye(n_in, dtype=torch.float64).reshape((n_in,) + tuple(op.in_shape))
    return op(basis).reshape(n_in, -1).T


@pytest.mark.parametrize("make,n", _params())
def test_adjoint_identity(make, n):
    op = make(n)
    x = _batch(op, seed=1)
    y = op(x)
    v = torch.randn(y.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    lhs = (y * v).sum()
    rhs = (x * op.adjoint(v)).sum()
    assert op.adjoint(v).shape == x.shape
    assert abs(float(lhs - rhs)) <= 1e-10 * float(y.norm() * v.norm())


@pytest.mark.parametrize("make,n", _params())
def test_shapes_match_in_out_shape(make, n):
    op = make(n)
    x = _batch(op, b=3, c=1)
    y = op(x)
    assert tuple(x.shape[1:]) == tuple(op.in_shape)
    assert tuple(y.shape[1:]) == tuple(op.out_shape)
    assert op.pinv(y).shape == x.shape
    assert op.measure(x).shape == y.shape


@pytest.mark.parametrize("make,n", _params())
def test_data_fidelity_and_gradient_match_autograd(make, n):
    op = make(n)
    u = _batch(op, seed=3).requires_grad_(True)
    y = op(_batch(op, seed=4))
    f = op.data_fidelity(u, y)
    assert f.shape == (u.shape[0],)
    expected = 0.5 * (op(u) - y).reshape(u.shape[0], -1).pow(2).sum(1)
    torch.testing.assert_close(f, expected, rtol=1e-12, atol=0)
    (g_auto,) = torch.autograd.grad(f.sum(), u)
    g = op.grad_data_fidelity(u.detach(), y)
    torch.testing.assert_close(g, g_auto, rtol=1e-10, atol=1e-10 * float(g_auto.abs().max()))


@pytest.mark.parametrize("make,n", _params())
def test_float32_agrees_with_float64(make, n):
    op = make(n)
    x = _batch(op, seed=5)
    y64 = op(x)
    y32 = op(x.float())
    assert y32.dtype == torch.float32
    assert float((y32.double() - y64).norm()) <= 1e-5 * float(y64.norm())
    a32 = op.adjoint(y64.float())
    assert a32.dtype == torch.float32
    assert float((a32.double() - op.adjoint(y64)).norm()) <= 1e-5 * float(op.adjoint(y64).norm())


@pytest.mark.parametrize("make,n", _params())
def test_batch_and_channels_are_independent(make, n):
    op = make(n)
    x = _batch(op, b=3, seed=6)
    y = op(x)
    for i in range(x.shape[0]):
        torch.testing.assert_close(op(x[i:i + 1]), y[i:i + 1], rtol=1e-12, atol=1e-12)
    if op.channels is None:
        torch.testing.assert_close(op(x[:, 1:2]), y[:, 1:2], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("make,n", _params())
def test_norm_matches_largest_singular_value(make, n):
    op = make(n)
    a = _dense(op)
    exact = float(torch.linalg.svdvals(a)[0])
    est = op.norm(n_iter=2000, tol=1e-12)
    assert est <= exact * (1 + 1e-9)  # power iteration approaches from below
    assert est >= exact * (1 - 1e-4)


@pytest.mark.parametrize("make,n", _params())
def test_rejects_wrong_image_size(make, n):
    op = make(n)
    c, h, w = op.in_shape
    bad = torch.zeros(1, c, h + 1, w, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"expected image size \(%d, %d\)" % (h, w)):
        op(bad)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        op(torch.zeros(c, h, w))


@pytest.mark.parametrize("make,n", _params())
def test_rejects_bad_measurements(make, n):
    op = make(n)
    x = _batch(op, b=2, c=1)
    y = op(x)
    bad = y.clone(memory_format=torch.contiguous_format)
    bad.reshape(-1)[0] = float("nan")
    with pytest.raises(ValueError, match="NaN or inf"):
        op.data_fidelity(x, bad)
    bad.reshape(-1)[0] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        op.grad_data_fidelity(x, bad)
    for value in (float("nan"), float("inf"), -float("inf")):  # pinv and adjoint refuse them like the fidelity
        bad.reshape(-1)[-1] = value
        with pytest.raises(ValueError, match="NaN or inf"):
            op.pinv(bad)
        with pytest.raises(ValueError, match="NaN or inf"):
            op.adjoint(bad)
    with pytest.raises(ValueError, match="measurement"):
        op.adjoint(y[..., :-1])
    with pytest.raises(ValueError, match="agree"):
        op.data_fidelity(x[:1], y)


def test_rejects_non_float_inputs():
    op = P.Inpainting(8, 0.5)
    with pytest.raises(TypeError, match="floating-point"):
        op(torch.zeros(1, 1, 8, 8, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        op([[0.0] * 8] * 8)
    with pytest.raises(TypeError, match="NoiseModel"):
        P.Denoising(noise=0.1)


def test_fixed_channel_count_is_enforced():
    op = P.MRI(8)
    with pytest.raises(ValueError, match="expected 2 channels"):
        op(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="expected 2 measurement channels"):
        op.adjoint(torch.zeros(1, 3, 8, 8))


def test_default_cg_pinv_is_minimum_norm_least_squares():
    """The base-class pinv (CG on the normal equations from 0) equals the exact Moore-Penrose pseudo-inverse."""
    op = P.CompressedSensing(8, 20, kind="gaussian", seed=0)
    y = torch.randn(2, 1, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x_cg = P.LinearPhysics._pinv(op, y)
    a = op.matrix
    x_mp = (torch.linalg.pinv(a) @ y.reshape(2, 20).T).T.reshape(2, 1, 8, 8)
    torch.testing.assert_close(x_cg, x_mp, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(op.pinv(y), x_mp, rtol=1e-10, atol=1e-10)


def test_module_dtype_and_state_dict():
    op = P.Inpainting(6, 0.5, seed=1)
    assert op.mask.dtype == torch.get_default_dtype()
    assert "mask" in op.state_dict()
    other = P.Inpainting(6, 0.5, seed=2)
    assert not torch.equal(other.mask, op.mask)
    other.load_state_dict(op.state_dict())
    assert torch.equal(other.mask, op.mask)
    op.to(torch.float64)  # in place, like every nn.Module
    assert op.mask.dtype == torch.float64
    x = torch.rand(1, 2, 6, 6)
    assert op(x).dtype == torch.float32 and op(x.double()).dtype == torch.float64
    # derived tables are not state: a Radon operator has no persistent tensors
    assert len(P.Radon(8, 4).state_dict()) == 0


def test_measure_uses_the_attached_noise_and_generator():
    op = P.Radon(12, 6, noise=P.GaussianNoise(0.5))
    x = torch.rand(2, 1, 12, 12, dtype=torch.float64)
    y1 = op.measure(x, generator=torch.Generator().manual_seed(7))
    y2 = op.measure(x, generator=torch.Generator().manual_seed(7))
    y3 = op.measure(x, generator=torch.Generator().manual_seed(8))
    torch.testing.assert_close(y1, y2, rtol=0, atol=0)
    assert float((y1 - y3).abs().max()) > 0.1
    # 2 * 6 * 12 = 144 samples: the sample std has relative standard error 1 / sqrt(2 * 144); allow 5 of them
    assert float((y1 - op(x)).std()) == pytest.approx(0.5, rel=5 / math.sqrt(2 * 144))
    assert torch.equal(P.Radon(12, 6).measure(x), P.Radon(12, 6)(x))


@pytest.mark.parametrize("make,n", _params())
def test_deepcopy_and_pickle_after_use(make, n):
    import copy
    import pickle

    op = make(n)
    x = _batch(op, seed=8)
    y = op(x)
    ref = (y, op.adjoint(y), op.pinv(y))  # fills every cache
    for clone in (copy.deepcopy(op), pickle.loads(pickle.dumps(op))):
        out = (clone(x), clone.adjoint(y), clone.pinv(y))
        for a, b in zip(out, ref):
            assert torch.equal(a, b)
