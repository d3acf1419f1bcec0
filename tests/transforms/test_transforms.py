"""Per-sample transforms: exact inverses on the grid, agreement with groups.act image by image, interpolation
accuracy off the grid, n_trans / per-batch draws, enumeration, compositions, autograd, and clear errors."""
import math

import pytest
import torch

from equinet import groups
from equinet.groups import act
from equinet.transforms import Compose, Flip, GroupTransform, Rot90, Rotate, Shift, Transform, o2_act, roll

DT = torch.float64


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def blob_batch(n, size, seed=0, width=0.06):
    """Smooth images (sums of Gaussian bumps) well inside the inscribed disk: nearly band-limited."""
    g = gen(seed)
    c = torch.arange(size, dtype=DT) - (size - 1) / 2
    Y, X = torch.meshgrid(c, c, indexing="ij")
    out = torch.zeros(n, 1, size, size, dtype=DT)
    for _ in range(3):
        r = 0.1 * size * torch.rand(n, 1, 1, 1, generator=g, dtype=DT)
        a = 2 * math.pi * torch.rand(n, 1, 1, 1, generator=g, dtype=DT)
        cx, cy = r * torch.cos(a), r * torch.sin(a)
        out += torch.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * (width * size) ** 2))
    return out


def element(row):
    return groups.o2(4).element(float(row[0]), bool(row[1] > 0.5))


GRID_TRANSFORMS = [Rot90(), Flip(), GroupTransform(groups.dihedral(4)), GroupTransform(groups.cyclic(2)),
                   Rotate(multiples=90), Shift(max_shift=5), Shift(image_size=(7, 6)),
                   Compose([Rot90(), Shift(image_size=7)])]


@pytest.mark.parametrize("T", GRID_TRANSFORMS, ids=repr)
@pytest.mark.parametrize("size", [7, 8])
def test_grid_elements_invert_exactly(T, size):
    x = torch.randn(16, 3, size, size, dtype=DT, generator=gen(1))
    p = T.sample(16, gen(2))
    y = T.apply(x, p)
    assert torch.equal(T.inverse(y, p), x)
    assert torch.equal(torch.sort(y.flatten(1))[0], torch.sort(x.flatten(1))[0])  # a pixel permutation


def test_non_square_flips_and_half_turns_are_exact():
    x = torch.randn(6, 2, 5, 8, dtype=DT, generator=gen(0))
    T = GroupTransform(groups.dihedral(2))
    p = T.enumerate()
    y = T.apply(x.repeat(4, 1, 1, 1)[:4], p)
    for i, row in enumerate(p):
        assert torch.equal(y[i:i + 1], act(element(row), x[i:i + 1].contiguous(), method="exact"))
    assert torch.equal(T.inverse(y, p), x[:4])


@pytest.mark.parametrize("interpolation", ["bilinear", "fourier"])
@pytest.mark.parametrize("group", [groups.so2(4), groups.o2(4), groups.dihedral(8), groups.cyclic(6)], ids=repr)
def test_per_sample_equals_one_image_at_a_time(interpolation, group):
    x = torch.randn(12, 2, 9, 9, dtype=DT, generator=gen(3))
    T = GroupTransform(group, interpolation)
    p = T.sample(12, gen(4))
    y = T.apply(x, p)
    for i in range(12):
        g = element(p[i])
        method = "exact" if g.preserves_grid else interpolation
        assert torch.allclose(y[i:i + 1], act(g, x[i:i + 1], method=method), atol=1e-12, rtol=0)


def test_rotate_float32_matches_act_and_is_differentiable():
    x = torch.randn(5, 1, 10, 10, generator=gen(0))
    T = Rotate(degrees=(-30, 30))
    p = T.sample(5, gen(1))
    y = T.apply(x, p)
    ref = torch.cat([act(element(p[i]), x[i:i + 1], method="bilinear") for i in range(5)])
    assert y.dtype == torch.float32 and torch.allclose(y, ref, atol=1e-5, rtol=0)  # float32 grid rounding
    xd = torch.randn(3, 1, 6, 6, dtype=DT, generator=gen(2), requires_grad=True)
    pd = Rotate().sample(3, gen(3))
    assert torch.autograd.gradcheck(lambda z: Rotate().apply(z, pd), (xd,))


def test_permutations_are_orthogonal():
    """<T x, z> = <x, T^-1 z> exactly for grid elements and shifts (the adjoint is the inverse)."""
    x = torch.randn(8, 1, 6, 6, dtype=DT, generator=gen(0))
    z = torch.randn(8, 1, 6, 6, dtype=DT, generator=gen(1))
    for T in (GroupTransform(groups.dihedral(4)), Shift(image_size=6)):
        p = T.sample(8, gen(2))
        lhs = (T.apply(x, p) * z).sum(dim=(1, 2, 3))
        rhs = (x * T.inverse(z, p)).sum(dim=(1, 2, 3))
        assert torch.allclose(lhs, rhs, atol=1e-12, rtol=0)


@pytest.mark.parametrize("interpolation,tol", [("bilinear", 0.1), ("fourier", 1e-7)])
def test_off_grid_inverse_to_interpolation_accuracy(interpolation, tol):
    x = blob_batch(8, 33)
    T = Rotate(interpolation=interpolation)
    p = T.sample(8, gen(5))
    assert not bool(torch.isclose(torch.remainder(p[:, 0], math.pi / 2), torch.zeros(8, dtype=DT)).any())
    y = T.apply(x, p)
    back = T.inverse(y, p)
    err = (back - x).abs().max() / x.abs().max()
    assert err < tol
    assert (y - x).abs().max() > 0.1  # it did move the images


def test_fourier_rotation_is_exact_composition_on_band_limited_images():
    """Two fourier rotations by a and b equal one by a + b on a smooth image (to band-limit accuracy)."""
    x = blob_batch(4, 33)
    a = torch.tensor([0.3, 1.1, 2.0, 4.0], dtype=DT)
    b = torch.tensor([0.5, -0.4, 0.9, 1.3], dtype=DT)
    f = torch.zeros(4, dtype=torch.bool)
    two = o2_act(o2_act(x, a, f, "fourier"), b, f, "fourier")
    one = o2_act(x, torch.remainder(a + b, 2 * math.pi), f, "fourier")
    assert (two - one).abs().max() < 1e-7


def test_shift_matches_torch_roll_image_by_image():
    x = torch.randn(10, 2, 5, 7, dtype=DT, generator=gen(0))
    T = Shift(max_shift=9)
    p = T.sample(10, gen(1))
    y = T.apply(x, p)
    for i in range(10):
        assert torch.equal(y[i], torch.roll(x[i], (int(p[i, 0]), int(p[i, 1])), dims=(-2, -1)))
    assert torch.equal(roll(x, torch.zeros(10, 2)), x)


def test_n_trans_and_per_batch_draws():
    T = Rotate(n_trans=3)
    p = T.sample(4, gen(0))
    assert p.shape == (12, 2) and p.dtype == DT
    assert len(torch.unique(p[:, 0])) == 12
    x = torch.randn(4, 1, 8, 8, dtype=DT, generator=gen(1))
    y = T.apply(x, p)
    assert y.shape == (12, 1, 8, 8)
    assert torch.allclose(y[4:8], Rotate().apply(x, p[4:8]), atol=0, rtol=0)  # copy-major rows
    Tb = Rotate(n_trans=2, per_sample=False)
    pb = Tb.sample(5, gen(0))
    assert pb.shape == (10, 2)
    assert torch.equal(pb[:5], pb[0].expand(5, 2)) and torch.equal(pb[5:], pb[5].expand(5, 2))
    assert not torch.equal(pb[0], pb[5])
    assert torch.equal(T.sample(4, gen(7)), T.sample(4, gen(7)))  # deterministic given the generator
    assert torch.equal(Tb(x, gen(3)), Tb.apply(x, Tb.sample(4, gen(3))))


def test_sampling_is_uniform_over_finite_groups():
    p = GroupTransform(groups.dihedral(4)).sample(8000, gen(0))
    keys = torch.round(p[:, 0] / (math.pi / 2)).long() % 4 + 4 * p[:, 1].long()
    counts = torch.bincount(keys, minlength=8).to(DT)
    assert counts.min() > 0 and ((counts - 1000) ** 2 / 1000).sum() < 24.3  # chi2(7) 0.999 quantile


def test_enumerate():
    assert GroupTransform(groups.cyclic(4)).enumerate().shape == (4, 2)
    d4 = GroupTransform(groups.dihedral(4)).enumerate()
    assert d4.shape == (8, 2) and len({(round(a, 9), f) for a, f in d4.tolist()}) == 8
    x = torch.randn(1, 1, 6, 6, dtype=DT, generator=gen(0))
    imgs = GroupTransform(groups.dihedral(4)).apply(x, d4)
    assert len({tuple(t.flatten().tolist()) for t in imgs}) == 8
    assert torch.allclose(Rotate(multiples=90).enumerate()[:, 0],
                          torch.tensor([math.pi, 3 * math.pi / 2, 0.0, math.pi / 2], dtype=DT))
    assert Rotate(multiples=1).enumerate().shape == (360, 2)
    so2 = GroupTransform(groups.so2(4)).enumerate(6)
    assert torch.allclose(so2[:, 0], torch.arange(6, dtype=DT) * math.pi / 3)
    assert GroupTransform(groups.o2(4)).enumerate(5).shape == (10, 2)
    sh = Shift(image_size=(3, 4)).enumerate()
    assert sh.shape == (12, 2) and len({tuple(r) for r in sh.tolist()}) == 12
    assert Shift(image_size=8).enumerate(stride=2).shape == (16, 2)
    assert Compose([Rot90(), Flip()]).enumerate().shape == (8, 4)
    with pytest.raises(ValueError, match="finite"):
        GroupTransform(groups.cyclic(4)).enumerate(3)


def test_compose_applies_in_order_and_inverts_in_reverse():
    x = torch.randn(6, 1, 7, 7, dtype=DT, generator=gen(0))
    R, S = Rot90(), Shift(image_size=7)
    C = Compose([R, S])
    p = C.sample(6, gen(1))
    assert p.shape == (6, 4)
    assert torch.equal(C.apply(x, p), S.apply(R.apply(x, p[:, :2]), p[:, 2:]))
    assert torch.equal(C.inverse(C.apply(x, p), p), x)


def test_bad_inputs_get_clear_errors():
    T = Rotate()
    x = torch.zeros(2, 1, 8, 8)
    p = T.sample(2, gen(0))
    with pytest.raises(TypeError, match=r"\[B, C, H, W\]"):
        T.apply(x.numpy(), p)
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        T.apply(x[0], p)
    with pytest.raises(TypeError, match="floating"):
        T.apply(x.long(), p)
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        T.apply(x, p[:, :1])
    with pytest.raises(ValueError, match="do not match"):
        T.apply(x, T.sample(3, gen(0)))
    with pytest.raises(TypeError, match="params"):
        T.apply(x, [0.0, 0.0])
    with pytest.raises(ValueError, match="reflection"):
        T.apply(x, torch.tensor([[0.1, 0.5], [0.2, 0.0]], dtype=DT))
    with pytest.raises(ValueError, match="NaN"):
        T.apply(x, torch.tensor([[math.nan, 0.0], [0.2, 0.0]], dtype=DT))
    with pytest.raises(ValueError, match="integers"):
        Shift(max_shift=2).apply(x, torch.tensor([[0.5, 0.0], [1.0, 0.0]], dtype=DT))
    with pytest.raises(ValueError, match="exactly one"):
        Shift()
    with pytest.raises(ValueError, match="exactly one"):
        Shift(image_size=4, max_shift=2)
    with pytest.raises(ValueError, match="interpolation"):
        Rotate(interpolation="nearest")
    with pytest.raises(TypeError, match="PlanarGroup"):
        GroupTransform("C4")
    with pytest.raises(ValueError, match="n_trans"):
        Rotate(n_trans=0)
    with pytest.raises(ValueError, match="batch"):
        T.sample(0, gen(0))
    with pytest.raises(TypeError, match="generator"):
        T.sample(2, 0)
    with pytest.raises(ValueError, match="lo < hi"):
        Rotate(degrees=(10, 5))
    with pytest.raises(TypeError, match="Transform"):
        Compose([Rotate(), "flip"])
    with pytest.raises(ValueError, match="square"):
        Rotate(interpolation="fourier").apply(torch.zeros(2, 1, 6, 8), p)
    assert isinstance(T, Transform)
