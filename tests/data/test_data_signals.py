"""Shifted-triangle signals of Fig. 3 of the ICCV 2021 equivariant imaging paper."""

import math

import pytest
import torch

from equinet.data import shifted_triangles, triangle


def test_triangle_shape():
    t = triangle(9, 4.0, dtype=torch.float64)
    torch.testing.assert_close(t, torch.tensor([0, 0, 0, 0.5, 1, 0.5, 0, 0, 0], dtype=torch.float64))
    t = triangle(32, 10, dtype=torch.float64)
    assert float(t.max()) == 1.0 and int(t.argmax()) == 16
    assert float(t.sum()) == pytest.approx(5.0)  # area width / 2 for integer-centred samples
    torch.testing.assert_close(t[16 - 7:16], torch.flip(t[17:16 + 8], [0]))


def test_shifted_triangles_are_scaled_shifted_copies():
    n, length, width = 200, 64, 12
    x = shifted_triangles(n, length, width, seed=3, dtype=torch.float64)
    assert x.shape == (n, 1, length)
    base = triangle(length, width, dtype=torch.float64)
    shifts = []
    for sig in x[:, 0]:
        amp = float(sig.max())
        assert 0.2 <= amp <= 1.0
        s = (int(sig.argmax()) - length // 2) % length
        torch.testing.assert_close(sig, amp * torch.roll(base, s), rtol=0, atol=1e-15)
        shifts.append(s)
    # shifts uniform on Z_64: mean 31.5, std of the sample mean sqrt((64^2 - 1) / 12 / n)
    assert abs(sum(shifts) / n - 31.5) <= 5 * math.sqrt((length**2 - 1) / 12 / n)
    assert len(set(shifts)) > 40


def test_unshifted_set_and_determinism():
    x = shifted_triangles(50, 32, 8, seed=1, shift=False)
    assert torch.all(x.argmax(-1) == 16)
    assert torch.equal(x, shifted_triangles(50, 32, 8, seed=1, shift=False))
    a = shifted_triangles(20, 32, 8, seed=1)
    assert torch.equal(a, shifted_triangles(20, 32, 8, seed=1))
    assert not torch.equal(a, shifted_triangles(20, 32, 8, seed=2))
    assert torch.equal(shifted_triangles(5, 32, 8, seed=1), a[:5])
    amp = shifted_triangles(100, 16, 4, seed=0, amplitude=(0.5, 0.5)).amax(-1)
    torch.testing.assert_close(amp, torch.full_like(amp, 0.5))


def test_shift_invariance_of_the_set():
    """The shifted set is invariant under Z_length: the mean signal is flat up to sampling error."""
    x = shifted_triangles(4000, 32, 8, seed=0, dtype=torch.float64)[:, 0]
    mean = x.mean(0)
    se = x.std(0) / math.sqrt(x.shape[0])
    expected = 0.6 * 4 / 32  # E[amplitude] * area / length
    assert float(((mean - expected).abs() / se).max()) < 5
    fixed = shifted_triangles(4000, 32, 8, seed=0, shift=False, dtype=torch.float64)[:, 0]
    assert float(fixed.mean(0)[0]) == 0.0 and float(fixed.mean(0)[16]) > 0.5


def test_errors():
    with pytest.raises(ValueError, match="width"):
        shifted_triangles(2, 16, 0)
    with pytest.raises(ValueError, match="width"):
        shifted_triangles(2, 16, 17)
    with pytest.raises(ValueError, match="length"):
        shifted_triangles(2, 0, 1)
    with pytest.raises(ValueError, match="n must be"):
        shifted_triangles(-1, 16, 4)
    with pytest.raises(ValueError, match="amplitude"):
        shifted_triangles(2, 16, 4, amplitude=(1.0, 0.5))
