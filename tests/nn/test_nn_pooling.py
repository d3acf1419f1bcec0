"""Group pooling (permutation fields) and norm pooling (any orthogonal field): invariance, values, gradients."""
import pytest
import torch

from equinet import groups
from equinet.testing import grid_equivariance_error
from equinet.nn import FieldType, GroupPooling, NormPooling, is_standard

C4, D4, C8, C16 = groups.cyclic(4), groups.dihedral(4), groups.cyclic(8), groups.cyclic(16)


equivariance_error = grid_equivariance_error  # the one helper, from equinet.testing


def permutation_type(G):
    sub = groups.flips() if G.reflections else groups.cyclic(2)
    return FieldType(G, [G.regular, G.trivial, G.quotient(sub), G.regular, G.quotient(groups.cyclic(G.N))])


@pytest.mark.parametrize("G", [C4, D4, C8, C16], ids=repr)
@pytest.mark.parametrize("mode", ["max", "mean"])
def test_group_pooling_is_invariant(G, mode):
    t = permutation_type(G)
    layer = GroupPooling(t, mode)
    assert layer.out_type == FieldType.trivial(G, len(t))
    for size in (6, 7):
        x = torch.randn(2, t.size, size, size)
        assert equivariance_error(layer, x) <= 1e-5
        y = layer(x)
        for g in G.elements():  # the channel action alone leaves the pooled fields unchanged
            M = torch.as_tensor(t.representation(g), dtype=x.dtype)
            torch.testing.assert_close(layer(torch.einsum("oc,bchw->bohw", M, x)), y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["max", "mean"])
def test_group_pooling_values_keep_the_field_order(mode):
    t = permutation_type(D4)  # sizes 8, 1, 4, 8, 2: pooled by size, returned in field order
    x = torch.randn(2, t.size, 3, 4)
    y = GroupPooling(t, mode)(x)
    for i in range(len(t)):
        f = x[:, t.field_channels(i)]
        ref = f.amax(1) if mode == "max" else f.mean(1)
        torch.testing.assert_close(y[:, i], ref, rtol=1e-6, atol=1e-7)
    ex = GroupPooling(t, mode).export()
    assert is_standard(ex)
    torch.testing.assert_close(ex(x), y, rtol=0, atol=0)


def test_group_pooling_refuses_steerable_fields():
    t = FieldType(D4, [D4.regular, D4.irrep(1, 1)])
    with pytest.raises(TypeError, match=r"GroupPooling.*FieldType\(D4.*irrep\(1,1\)"):
        GroupPooling(t)
    with pytest.raises(ValueError, match="mode"):
        GroupPooling(FieldType.regular(D4, 1), "min")


def mixed(G):
    if G.reflections:
        return FieldType(G, [G.irrep(1, 1), G.regular, G.irrep(1, 0), G.trivial, G.irrep(0, 2)])
    return FieldType(G, [G.irrep(1), G.regular, G.irrep(G.N // 2), G.trivial, G.irrep(1)])


@pytest.mark.parametrize("G", [C4, D4, C8, C16], ids=repr)
def test_norm_pooling_is_invariant_and_is_the_norm(G):
    t = mixed(G)
    layer = NormPooling(t)
    assert layer.out_type == FieldType.trivial(G, len(t))
    for size in (6, 7):
        assert equivariance_error(layer, torch.randn(2, t.size, size, size)) <= 1e-5
    x = torch.randn(2, t.size, 4, 5, dtype=torch.float64)
    y = layer.double()(x)
    for i in range(len(t)):
        torch.testing.assert_close(y[:, i], x[:, t.field_channels(i)].norm(dim=1), rtol=1e-12, atol=0)
    ex = NormPooling(t).export()
    assert is_standard(ex)
    xf = x.float()
    torch.testing.assert_close(ex(xf), NormPooling(t)(xf), rtol=0, atol=0)


def test_norm_pooling_gradient_is_finite_at_zero():
    t = mixed(D4)
    x = torch.randn(2, t.size, 4, 4)
    x[0] = 0.0
    x[1, t.field_channels(0)] = 0.0
    x.requires_grad_(True)
    y = NormPooling(t)(x)
    assert y[0].abs().max() == 0 and y[1, 0].abs().max() == 0
    y.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[0].abs().max() == 0
    # away from zero, the gradient of the norm is the unit vector u/|u|
    g = x.grad[1, t.field_channels(1)]
    u = x.detach()[1, t.field_channels(1)]
    torch.testing.assert_close(g, u / u.norm(dim=0, keepdim=True), rtol=1e-5, atol=1e-6)
