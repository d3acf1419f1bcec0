"""Operator families: every member and both views (per-sample, stacked) are exact adjoint pairs; the per-sample
operator is each item's member; families are functions of their seed; mismatched members are refused in one line."""
import pytest
import torch

from equinet import physics as P

DT = torch.float64


def gen(seed):
    return torch.Generator().manual_seed(seed)


FAMILIES = [
    ("mri", lambda: P.mri_family((12, 10), 4, acceleration=3.0, center_fraction=0.1, seed=3)),
    ("inpainting", lambda: P.inpainting_family((9, 8), 3, drop=0.4, seed=5)),
    ("radon", lambda: P.OperatorFamily([P.Radon(12, [a, a + 45.0, a + 90.0]) for a in (0.0, 10.0, 20.0)])),
    ("radon-offsets", lambda: P.radon_family(12, 3, views=4, circle=False)),
]


def _images(op_or_family, b, seed=0, c=2):
    shape = op_or_family.in_shape
    ch = op_or_family.channels or c
    return torch.randn((b, ch) + tuple(shape[1:]), generator=gen(seed), dtype=DT)


def _adjoint_error(op, x):
    y = op(x)
    v = torch.randn(y.shape, generator=gen(7), dtype=DT)
    lhs, rhs = (y * v).sum(), (x * op.adjoint(v)).sum()
    return float((lhs - rhs).abs() / (y.norm() * v.norm()))


@pytest.mark.parametrize("make", [m for _, m in FAMILIES], ids=[n for n, _ in FAMILIES])
def test_every_member_and_both_views_are_adjoint_pairs(make):
    fam = make()
    for m in fam:
        assert _adjoint_error(m, _images(fam, 2)) < 1e-13
    ops = torch.tensor([2, 0, 1, 2, 0])
    assert _adjoint_error(fam.select(ops), _images(fam, 5)) < 1e-13
    assert _adjoint_error(fam.stacked(), _images(fam, 2)) < 1e-13


@pytest.mark.parametrize("make", [m for _, m in FAMILIES], ids=[n for n, _ in FAMILIES])
def test_item_b_is_measured_reconstructed_and_noised_by_its_own_member(make):
    fam = make()
    ops = torch.tensor([1, 0, 2, 1])
    A, x = fam.select(ops), _images(fam, 4, seed=1)
    y, back, pinv = A(x), A.adjoint(A(x)), A.pinv(A(x))
    for b, k in enumerate(ops.tolist()):
        assert torch.equal(y[b:b + 1], fam[k](x[b:b + 1]))
        assert torch.equal(back[b:b + 1], fam[k].adjoint(y[b:b + 1]))
        assert torch.allclose(pinv[b:b + 1], fam[k].pinv(y[b:b + 1]), rtol=0, atol=1e-10)
    assert torch.equal(fam.stacked()(x)[:, :, 2], fam[2](x))
    empty = fam.select(torch.zeros(0, dtype=torch.long))
    assert empty(x[:0]).shape == (0,) + tuple(fam[0](x[:1]).shape[1:])


def test_gradients_reach_every_item_through_the_per_sample_operator():
    fam = P.inpainting_family(6, 3, drop=0.5, seed=0)
    x = torch.rand(3, 1, 6, 6, dtype=DT, requires_grad=True)
    A = fam.select(torch.tensor([2, 1, 0]))
    A(x).sum().backward()
    for b, k in enumerate([2, 1, 0]):
        assert torch.equal(x.grad[b, 0], fam[k].mask.to(DT))


def test_measure_adds_the_shared_noise_only_where_each_member_measures():
    fam = P.mri_family(8, 3, acceleration=4.0, seed=1, noise=P.GaussianNoise(0.1))
    x = torch.rand(3, 2, 8, 8, dtype=DT)
    y = fam.select(torch.tensor([0, 1, 2])).measure(x, gen(0))
    for b in range(3):
        assert bool((y[b][:, fam[b].mask == 0] == 0).all())
        assert float((y[b] - fam[b](x[b:b + 1])[0]).abs().max()) > 0  # noisy where sampled
    one = P.OperatorFamily([fam[1]])
    assert torch.equal(one.select(torch.tensor([0])).measure(x[:1], gen(4)), fam[1].measure(x[:1], gen(4)))


def test_families_are_functions_of_their_seed_with_distinct_members():
    a, b, c = (P.mri_family(32, 4, seed=s) for s in (0, 0, 1))
    assert all(torch.equal(p.mask, q.mask) for p, q in zip(a, b))
    assert not all(torch.equal(p.mask, q.mask) for p, q in zip(a, c))
    assert len({tuple(m.mask[0].tolist()) for m in a}) == 4
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    inp = P.inpainting_family(10, 3, drop=0.3, seed=2)
    assert [int(m.mask.sum()) for m in inp] == [70, 70, 70] and not torch.equal(inp[0].mask, inp[1].mask)
    assert inp.assignment(7).tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_norms_are_the_largest_member_norm():
    fam = P.OperatorFamily([P.Blur(P.gaussian_kernel(s), image_size=12) for s in (0.5, 1.5)])
    norms = [m.norm() for m in fam]
    assert fam.norm() == max(norms)
    assert fam.select(torch.tensor([1, 1])).norm() == norms[1]


@pytest.mark.parametrize("members,message", [
    (lambda: [P.Inpainting(8), P.Inpainting(9)], "member 1 has image size (H, W) (9, 9), member 0 has (8, 8)"),
    (lambda: [P.MRI(8), P.Inpainting(8)], "member 1 has channel count None, member 0 has 2"),
    (lambda: [P.Radon(8, 4), P.Radon(8, 5)], "member 1 has measurement shape"),
    (lambda: [P.Inpainting(8), P.Inpainting(8, noise=P.GaussianNoise(0.1))], "must share one noise model"),
    (lambda: [P.Inpainting(8), P.Blur(P.gaussian_kernel(1.0))], "member 1 (Blur) was built without image_size"),
    (lambda: [], "needs at least one member"),
    (lambda: [P.Inpainting(8), "mri"], "member 1 is a str, not an equinet LinearPhysics"),
])
def test_mismatched_members_are_refused_in_one_line(members, message):
    with pytest.raises((ValueError, TypeError)) as err:
        P.OperatorFamily(members())
    assert message in str(err.value) and "\n" not in str(err.value)


def test_bad_operator_indices_and_batches_are_refused():
    fam = P.inpainting_family(6, 3)
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\) for a family of 3 operators, got values in \[0, 3\]"):
        fam.select(torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="1-D integer tensor"):
        fam.select(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="a batch of 3 items for 2 per-sample operators"):
        fam.select(torch.tensor([0, 1]))(torch.rand(3, 1, 6, 6))
    with pytest.raises(TypeError, match="takes a list of equinet LinearPhysics"):
        P.OperatorFamily(P.Inpainting(6))
    with pytest.raises(ValueError, match="n_operators must be an int >= 1"):
        P.mri_family(8, 0)


def test_physics_for_pairs_families_with_indices_only():
    fam, single = P.inpainting_family(6, 2), P.Inpainting(6)
    assert P.physics_for(single, None) is single
    assert P.physics_for(fam, torch.tensor([1])).operators.tolist() == [1]
    with pytest.raises(ValueError, match="carry no operator indices"):
        P.physics_for(fam, None)
    with pytest.raises(ValueError, match="physics is a single operator"):
        P.physics_for(single, torch.tensor([0]))


def test_radon_family_members_are_turned_views_that_interleave():
    fam = P.radon_family(16, 3, views=5)
    angles = torch.cat([m.angles for m in fam]).sort().values
    assert torch.allclose(angles, torch.arange(15, dtype=angles.dtype) * 12.0)
    with pytest.raises(ValueError, match="views must be an int >= 1"):
        P.radon_family(16, 2, views=0)
