"""Cartesian single-coil MRI operator."""

import numpy as np
import pytest
import torch

from equinet.physics import MRI, GaussianNoise, cartesian_line_mask


def _complex_batch(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((shape[0], 2) + tuple(shape[1:]), generator=g, dtype=torch.float64)


@pytest.mark.parametrize("size", [(16, 16), (15, 21)])
def test_forward_is_masked_centred_orthonormal_fft(size):
    op = MRI(size, acceleration=4, seed=3)
    x = _complex_batch((2,) + size, seed=0)
    z = x[:, 0].numpy() + 1j * x[:, 1].numpy()
    k = np.fft.fftshift(np.fft.fft2(np.fft.ifftshift(z, axes=(-2, -1)), norm="ortho"), axes=(-2, -1))
    k = k * op.mask.numpy()
    y = op(x)
    np.testing.assert_allclose(y[:, 0].numpy(), k.real, rtol=0, atol=1e-12)
    np.testing.assert_allclose(y[:, 1].numpy(), k.imag, rtol=0, atol=1e-12)
    # zero frequency sits at (H // 2, W // 2): a constant image has all its energy there
    const = torch.zeros((1, 2) + size, dtype=torch.float64)
    const[:, 0] = 1.0
    kc = op(const)
    assert float(kc[0, 0, size[0] // 2, size[1] // 2]) == pytest.approx(np.sqrt(size[0] * size[1]), rel=1e-12)
    assert float(kc.abs().sum()) == pytest.approx(np.sqrt(size[0] * size[1]), rel=1e-12)


@pytest.mark.parametrize("size", [(16, 16), (15, 21)])
def test_pinv_is_adjoint_and_right_inverse(size):
    op = MRI(size, acceleration=3, seed=1)
    x = _complex_batch((3,) + size, seed=1)
    y = op(x)
    torch.testing.assert_close(op.pinv(y), op.adjoint(y), rtol=0, atol=0)
    torch.testing.assert_close(op(op.pinv(y)), y, rtol=0, atol=1e-12)
    # A A^T = M (projector): pinv(y) has minimal norm among all consistent images
    assert float(op.pinv(y).norm()) <= float(x.norm())


def test_full_sampling_is_unitary():
    op = MRI((12, 10), acceleration=1)
    assert float(op.mask.min()) == 1.0
    x = _complex_batch((2, 12, 10), seed=2)
    torch.testing.assert_close(op.pinv(op(x)), x, rtol=0, atol=1e-12)
    torch.testing.assert_close(op(x).norm(), x.norm(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("w,acc,frac", [(32, 4, 0.08), (33, 3, 0.1), (64, 8, 0.04), (20, 2.5, 0.0), (10, 4, 1.0)])
def test_line_mask_structure(w, acc, frac):
    mask = cartesian_line_mask((7, w), acceleration=acc, center_fraction=frac, seed=5)
    assert mask.shape == (7, w)
    assert torch.all((mask == 0) | (mask == 1))
    assert torch.all(mask == mask[:1])  # whole columns
    cols = mask[0]
    n_lines = max(1, round(w / acc))
    n_center = min(round(w * frac), n_lines)
    assert int(cols.sum()) == n_lines
    start = w // 2 - n_center // 2
    assert torch.all(cols[start:start + n_center] == 1)


def test_line_mask_seed():
    a = cartesian_line_mask(64, 4, 0.08, seed=0)
    assert torch.equal(a, cartesian_line_mask(64, 4, 0.08, seed=0))
    assert not torch.equal(a, cartesian_line_mask(64, 4, 0.08, seed=1))
    assert torch.equal(MRI(64, 4, seed=0).mask, a)


def test_user_mask_and_errors():
    mask = torch.zeros(8, 6)
    mask[:, [0, 3]] = 1
    op = MRI((8, 6), mask=mask)
    assert torch.equal(op.mask, mask) and op.acceleration == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"mask must have shape \(H, W\) = \(8, 6\), got \(6, 8\)"):
        MRI((8, 6), mask=torch.ones(6, 8))
    with pytest.raises(ValueError, match=r"got \(1, 8, 6\)"):
        MRI((8, 6), mask=torch.ones(1, 8, 6))
    with pytest.raises(ValueError, match="0 or 1"):
        MRI((8, 6), mask=torch.full((8, 6), 0.5))
    with pytest.raises(ValueError, match="acceleration"):
        MRI(8, acceleration=0.5)
    with pytest.raises(ValueError, match="center_fraction"):
        MRI(8, center_fraction=1.5)
    for seed in (1.5, -1, True):  # the one seed rule of equinet.utils.seeding (as for the data)
        with pytest.raises(ValueError, match="seed"):
            MRI(8, seed=seed)


def test_measurement_noise_only_on_sampled_entries():
    op = MRI(16, acceleration=4, noise=GaussianNoise(0.3))
    x = _complex_batch((2, 16, 16), seed=3)
    y = op.measure(x, generator=torch.Generator().manual_seed(0))
    off = op.mask.to(torch.bool).logical_not()
    assert torch.all(y[:, :, off] == 0)
    on = ~off
    samples = (y - op(x))[:, :, on]
    assert samples.numel() == 2 * 2 * 16 * 4
    assert float(samples.std()) == pytest.approx(0.3, rel=5 / np.sqrt(2 * samples.numel()))  # 5 standard errors
