"""Denoising, inpainting, blur, compressed sensing and single-pixel operators."""

import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.linalg import hadamard

from equinet.physics import (Blur, CompressedSensing, Denoising, GaussianNoise, Inpainting, SinglePixel, fwht,
                             gaussian_kernel)


def _rand(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ------------------------------------------------------------------------------------------ Denoising
def test_denoising_is_identity_of_any_size():
    op = Denoising()
    x = _rand((2, 3, 7, 5))
    assert torch.equal(op(x), x) and torch.equal(op.adjoint(x), x) and torch.equal(op.pinv(x), x)
    assert op.norm() == 1.0
    with pytest.raises(ValueError, match="without image_size"):
        op.in_shape
    noisy = Denoising(noise=GaussianNoise(0.2)).measure(x, generator=torch.Generator().manual_seed(0))
    assert float((noisy - x).std()) == pytest.approx(0.2, rel=5 / math.sqrt(2 * x.numel()))  # 5 standard errors


# ----------------------------------------------------------------------------------------- Inpainting
@pytest.mark.parametrize("size,drop", [((16, 16), 0.3), ((15, 17), 0.5), ((9, 9), 0.0)])
def test_inpainting_mask(size, drop):
    op = Inpainting(size, drop=drop, seed=3)
    assert op.mask.shape == size
    assert torch.all((op.mask == 0) | (op.mask == 1))
    assert int((op.mask == 0).sum()) == round(drop * size[0] * size[1])
    assert torch.equal(op.mask, Inpainting(size, drop=drop, seed=3).mask)
    if drop > 0:
        assert not torch.equal(op.mask, Inpainting(size, drop=drop, seed=4).mask)
    x = _rand((2, 3) + size)
    y = op(x)
    assert torch.all(y[:, :, op.mask == 0] == 0)
    torch.testing.assert_close(y[:, :, op.mask == 1], x[:, :, op.mask == 1], rtol=0, atol=0)
    torch.testing.assert_close(op(op.pinv(y)), y, rtol=0, atol=0)


def test_inpainting_user_mask_and_errors():
    mask = torch.ones(4, 5)
    mask[1, 2] = 0
    op = Inpainting((4, 5), mask=mask)
    assert op.drop == pytest.approx(1 / 20)
    with pytest.raises(ValueError, match=r"mask must have shape \(H, W\) = \(4, 5\), got \(5, 4\)"):
        Inpainting((4, 5), mask=torch.ones(5, 4))
    with pytest.raises(ValueError, match="0 or 1"):
        Inpainting((4, 5), mask=torch.full((4, 5), 2.0))
    for drop in (1.0, -0.1, "a"):
        with pytest.raises(ValueError, match="drop"):
            Inpainting(8, drop=drop)


def test_inpainting_noise_keeps_dropped_pixels_zero():
    op = Inpainting(12, drop=0.5, noise=GaussianNoise(1.0))
    y = op.measure(torch.ones(3, 1, 12, 12), generator=torch.Generator().manual_seed(0))
    assert torch.all(y[:, :, op.mask == 0] == 0)
    assert float(y[:, :, op.mask == 1].std()) > 0.5


# ----------------------------------------------------------------------------------------------- Blur
def test_gaussian_kernel():
    k = gaussian_kernel(1.5, dtype=torch.float64)
    assert k.shape == (11, 11)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-15)
    torch.testing.assert_close(k, k.T)
    torch.testing.assert_close(k, torch.flip(k, (0,)))
    r = torch.arange(11, dtype=torch.float64) - 5
    expected = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    torch.testing.assert_close(k, expected / expected.sum(), rtol=1e-14, atol=0)
    ka = gaussian_kernel((1.0, 2.0), size=(5, 9), dtype=torch.float64)  # (sigma_y, sigma_x)
    assert ka.shape == (5, 9) and gaussian_kernel(1.0).dtype == torch.get_default_dtype()
    assert float(ka[2, 1] / ka[2, 4]) == pytest.approx(math.exp(-9 / 8), rel=1e-14)  # x offset 3, sigma_x 2
    assert float(ka[0, 4] / ka[2, 4]) == pytest.approx(math.exp(-2), rel=1e-14)  # y offset 2, sigma_y 1
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernel(1.0, size=4)
    with pytest.raises(ValueError, match="> 0"):
        gaussian_kernel(0.0)


@pytest.mark.parametrize("padding,mode", [("circular", "wrap"), ("zeros", "constant")])
@pytest.mark.parametrize("size", [(16, 16), (15, 13)])
def test_blur_is_true_convolution(padding, mode, size):
    kernel = torch.rand(3, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    op = Blur(kernel, padding=padding)
    x = _rand((2, 2) + size)
    ref = np.stack([[ndimage.convolve(x[b, c].numpy(), kernel.numpy(), mode=mode, cval=0.0) for c in range(2)]
                    for b in range(2)])
    np.testing.assert_allclose(op(x).numpy(), ref, rtol=0, atol=1e-12)


def test_circular_blur_is_translation_equivariant():
    op = Blur(torch.rand(5, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    x = _rand((1, 1, 12, 10))
    for shift in ((1, 0), (3, -4), (-5, 7)):
        torch.testing.assert_close(op(torch.roll(x, shift, (-2, -1))), torch.roll(op(x), shift, (-2, -1)),
                                   rtol=0, atol=1e-12)


def test_blur_transfer_function_diagonalises_circular_blur():
    op = Blur(gaussian_kernel(1.0, dtype=torch.float64))
    x = _rand((1, 1, 16, 12))
    k = op.transfer_function((16, 12))
    torch.testing.assert_close(op(x), torch.fft.ifft2(torch.fft.fft2(x) * k).real, rtol=0, atol=1e-12)
    # the operator norm is max |K| = K(0) = sum of the kernel = 1
    assert Blur(gaussian_kernel(1.0, dtype=torch.float64), image_size=(16, 12)).norm(n_iter=3000, tol=1e-14) \
        == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("reg", [1e-3, 1e-1])
def test_blur_pinv_is_tikhonov_minimiser(reg):
    op = Blur(gaussian_kernel(1.2, dtype=torch.float64), image_size=(14, 15), reg=reg)
    y = _rand((2, 1, 14, 15), seed=3)
    x = op.pinv(y)
    # first-order optimality of ||A x - y||^2 + reg ||x||^2
    grad = op.adjoint(op(x) - y) + reg * x
    assert float(grad.abs().max()) <= 1e-12 * float(y.abs().max())
    torch.testing.assert_close(op.pinv(y, reg=0.5), Blur(op.kernel, reg=0.5).pinv(y), rtol=0, atol=0)


def test_blur_pinv_without_regularisation_inverts_invertible_kernel():
    kernel = torch.tensor([[0.0, 0.1, 0.0], [0.1, 0.6, 0.1], [0.0, 0.1, 0.0]], dtype=torch.float64)  # |K| >= 0.2
    op = Blur(kernel, image_size=(9, 8))
    x = _rand((1, 2, 9, 8))
    torch.testing.assert_close(op.pinv(op(x), reg=0.0), x, rtol=0, atol=1e-12)


def test_blur_errors():
    with pytest.raises(ValueError, match="odd"):
        Blur(torch.ones(2, 3))
    with pytest.raises(ValueError, match="2-D"):
        Blur(torch.ones(3))
    with pytest.raises(ValueError, match="padding"):
        Blur(torch.ones(3, 3), padding="reflect")
    with pytest.raises(ValueError, match="larger than"):
        Blur(torch.ones(7, 7), image_size=5)
    with pytest.raises(ValueError, match="larger than the image"):
        Blur(torch.ones(7, 7))(torch.zeros(1, 1, 5, 9))
    with pytest.raises(ValueError, match="reg"):
        Blur(torch.ones(3, 3), reg=-1.0)


# -------------------------------------------------------------------------------- compressed sensing
def test_fwht_matches_hadamard_matrix():
    for n in (1, 2, 8, 64):
        x = _rand((3, n))
        torch.testing.assert_close(fwht(x), x @ torch.from_numpy(hadamard(n).astype(np.float64)), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="power-of-2"):
        fwht(torch.zeros(6))


@pytest.mark.parametrize("kind", ["gaussian", "rademacher", "hadamard"])
def test_cs_matrix_and_pinv(kind):
    op = CompressedSensing((8, 16), 50, kind=kind, seed=0)
    a = op.matrix
    assert a.shape == (50, 128)
    x = _rand((2, 3, 8, 16))
    torch.testing.assert_close(op(x), (x.reshape(2, 3, 128) @ a.T), rtol=0, atol=1e-12)
    y = op(x)
    xp = op.pinv(y)
    torch.testing.assert_close(op(xp), y, rtol=0, atol=1e-10)  # right inverse on the range
    # Moore-Penrose: xp is the minimum-norm solution, i.e. it lies in range(A^T)
    coef = torch.linalg.lstsq(a.T, xp.reshape(6, 128).T).solution
    torch.testing.assert_close(a.T @ coef, xp.reshape(6, 128).T, rtol=0, atol=1e-10)
    assert torch.equal(a, CompressedSensing((8, 16), 50, kind=kind, seed=0).matrix)
    assert not torch.equal(a, CompressedSensing((8, 16), 50, kind=kind, seed=1).matrix)


def test_cs_matrix_entry_statistics():
    m, n = 256, 1024
    a = CompressedSensing(32, m, kind="gaussian", seed=0).matrix
    # entries i.i.d. N(0, 1/m): sample mean has std 1/sqrt(m N), sample variance has std sqrt(2/N)/m
    count = a.numel()
    assert abs(float(a.mean())) <= 5 / math.sqrt(m * count)
    assert abs(float(a.var()) - 1 / m) <= 5 * math.sqrt(2 / count) / m
    r = CompressedSensing(32, m, kind="rademacher", seed=0).matrix
    assert torch.all(r.abs() == 1 / math.sqrt(m))
    assert abs(float((r > 0).double().mean()) - 0.5) <= 5 * 0.5 / math.sqrt(count)
    h = SinglePixel(32, m, seed=0).matrix
    torch.testing.assert_close(h @ h.T, torch.eye(m, dtype=torch.float64), rtol=0, atol=1e-12)
    assert torch.all(h.abs() == 1 / math.sqrt(n))
    assert 0 in SinglePixel(32, m, seed=0).rows.tolist()  # the constant pattern is always measured


def test_cs_errors():
    with pytest.raises(ValueError, match="power of 2"):
        CompressedSensing((6, 6), 10, kind="hadamard")
    with pytest.raises(ValueError, match=r"m must be an int in \[1, H\*W\] = \[1, 64\]"):
        CompressedSensing(8, 65)
    with pytest.raises(ValueError, match="m must be"):
        CompressedSensing(8, 0)
    with pytest.raises(ValueError, match="kind"):
        CompressedSensing(8, 10, kind="bernoulli")
    with pytest.raises(ValueError, match="kind"):
        SinglePixel(8, 10, kind="gaussian")
    with pytest.raises(ValueError, match=r"measurement dims \(10,\)"):
        CompressedSensing(8, 10).adjoint(torch.zeros(1, 1, 11))
