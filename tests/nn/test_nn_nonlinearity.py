"""Nonlinearities: pointwise (permutation fields only), norm nonlinearities (formulas, equivariance, no NaN at zero,
bias-free homogeneity) and gated nonlinearities."""
import math
import re

import pytest
import torch
import torch.nn.functional as F

from equinet import groups
from equinet.testing import grid_equivariance_error
from equinet.nn import (FieldType, GatedNonlinearity, LeakyReLU, NormNonlinearity, PointwiseNonlinearity, ReLU,
                        is_standard)

C4, D4, C8, C16 = groups.cyclic(4), groups.dihedral(4), groups.cyclic(8), groups.cyclic(16)


equivariance_error = grid_equivariance_error  # the one helper, from equinet.testing


def permutation_type(G):
    sub = groups.flips() if G.reflections else groups.cyclic(2)
    return FieldType(G, [G.regular, G.trivial, G.quotient(sub), G.regular])


def steerable_type(G):
    if G.reflections:
        return FieldType(G, [G.irrep(1, 1), G.regular, G.irrep(1, 0), G.trivial, G.irrep(0, 2), G.irrep(1, 1)])
    return FieldType(G, [G.irrep(1), G.regular, G.irrep(2), G.trivial, G.irrep(1)])


# ---------------------------------------------------------------------- pointwise
@pytest.mark.parametrize("G", [C4, D4, C8, C16], ids=repr)
@pytest.mark.parametrize("function", ["relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus"])
def test_pointwise_exact_on_permutation_fields(G, function):
    t = permutation_type(G)
    layer = PointwiseNonlinearity(t, function)
    for size in (6, 7):
        assert equivariance_error(layer, torch.randn(2, t.size, size, size)) <= 1e-5
    x = torch.randn(2, t.size, 5, 5)
    ref = {"relu": F.relu, "leaky_relu": F.leaky_relu, "elu": F.elu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
           "softplus": F.softplus}[function]
    torch.testing.assert_close(layer(x), ref(x), rtol=0, atol=0)
    ex = layer.export()
    assert is_standard(ex)
    torch.testing.assert_close(ex(x), layer(x), rtol=0, atol=0)


def test_relu_and_leaky_relu_options():
    t = FieldType.regular(D4, 2)
    x = torch.randn(1, 16, 4, 4)
    torch.testing.assert_close(LeakyReLU(t, 0.2)(x), F.leaky_relu(x, 0.2), rtol=0, atol=0)
    assert type(LeakyReLU(t, 0.2).export()) is torch.nn.LeakyReLU and LeakyReLU(t, 0.2).export().negative_slope == 0.2
    assert ReLU(t, inplace=True).export().inplace
    with pytest.raises(ValueError, match="unknown pointwise function"):
        PointwiseNonlinearity(t, "gelu2")
    with pytest.raises(TypeError, match="bad options"):
        PointwiseNonlinearity(t, "relu", slope=3)


@pytest.mark.parametrize("rep", [C4.irrep(1), D4.irrep(1, 1), D4.irrep(1, 0), C8.irrep(2)], ids=repr)
def test_pointwise_refuses_non_permutation_fields(rep):
    t = FieldType(rep.group, [rep.group.regular, rep])
    pattern = rf"FieldType\({rep.group.name}.*{re.escape(rep.name)}"
    for make in (lambda: ReLU(t), lambda: LeakyReLU(t), lambda: PointwiseNonlinearity(t, "tanh")):
        with pytest.raises(TypeError, match=pattern):
            make()


def test_pointwise_on_an_irrep_would_break_equivariance():
    """The refusal is necessary: relu on a frequency-1 field is measurably not equivariant (the checker fails)."""
    t = FieldType(C4, [C4.irrep(1)])
    fake = torch.nn.ReLU()
    fake.in_type = fake.out_type = t
    assert equivariance_error(fake, torch.randn(1, 2, 6, 6)) > 0.1


# ---------------------------------------------------------------------- norm nonlinearity
@pytest.mark.parametrize("G", [C4, D4], ids=repr)
@pytest.mark.parametrize("function,bias", [("relu", True), ("relu", False), ("sigmoid", True), ("sigmoid", False),
                                           ("squash", True), ("squash", False)])
def test_norm_nonlinearity_exact(G, function, bias):
    torch.manual_seed(0)
    t = steerable_type(G)
    layer = NormNonlinearity(t, function, bias=bias)
    p = layer.bias if layer.bias is not None else layer.threshold
    if p is not None:
        with torch.no_grad():
            p.uniform_(-1.0, 0.5)
    for size in (6, 7):
        assert equivariance_error(layer, torch.randn(2, t.size, size, size)) <= 1e-5


@pytest.mark.parametrize("G", [C8, C16], ids=repr)
def test_norm_nonlinearity_c8_c16(G):
    t = FieldType(G, [G.irrep(1), G.regular, G.irrep(3), G.trivial])
    for function in ("relu", "sigmoid", "squash"):
        layer = NormNonlinearity(t, function)
        assert equivariance_error(layer, torch.randn(1, t.size, 7, 7)) <= 1e-5


def _norms(x, t):
    return torch.stack([x[:, t.field_channels(i)].norm(dim=1) for i in range(len(t))], 1)


@pytest.mark.parametrize("function", ["relu", "sigmoid", "squash"])
def test_norm_nonlinearity_formula(function):
    torch.manual_seed(1)
    t = steerable_type(D4)
    layer = NormNonlinearity(t, function).double()
    with torch.no_grad():
        layer.bias.uniform_(-1.0, 1.0)
    x = torch.randn(2, t.size, 4, 4, dtype=torch.float64)
    n = _norms(x, t)
    raw = layer.bias.detach().view(1, -1, 1, 1)
    if function == "relu":
        b = torch.log1p(torch.exp(raw))  # softplus
        out_norm = torch.clamp(n - b, min=0)
    elif function == "squash":
        b = torch.log1p(torch.exp(raw))
        m = torch.clamp(n - b, min=0)
        out_norm = m ** 2 / (1 + m ** 2)
    else:
        out_norm = n / (1 + torch.exp(-(n - raw)))
    y = layer(x)
    torch.testing.assert_close(_norms(y, t), out_norm, rtol=1e-10, atol=1e-12)
    # the direction of every field is kept where the output is nonzero
    for i in range(len(t)):
        xi, yi = x[:, t.field_channels(i)], y[:, t.field_channels(i)]
        torch.testing.assert_close(yi, xi * (out_norm[:, i:i + 1] / n[:, i:i + 1]), rtol=1e-10, atol=1e-12)
    if function != "sigmoid":
        assert (out_norm == 0).any() and (out_norm > 0).any()


def test_bias_free_norm_relu_is_positively_homogeneous_and_not_linear():
    torch.manual_seed(2)
    t = steerable_type(C4)
    layer = NormNonlinearity(t, "relu", bias=False)
    assert layer.bias is None and layer.threshold is not None
    x = torch.randn(2, t.size, 6, 6)
    y = layer(x)
    for c in (0.3, 7.0):
        torch.testing.assert_close(layer(c * x), c * y, rtol=1e-5, atol=1e-6)
    n_in, n_out = _norms(x, t), _norms(y, t)
    assert (n_out == 0).any() and (n_out > 0).any()  # some fields are switched off: a real nonlinearity
    rms = n_in.pow(2).mean(1, keepdim=True).sqrt()
    b = F.softplus(layer.threshold.detach()).view(1, -1, 1, 1)
    torch.testing.assert_close(n_out, torch.clamp(n_in - b * rms, min=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("function,bias", [("relu", True), ("relu", False), ("sigmoid", True), ("sigmoid", False),
                                           ("squash", True), ("squash", False)])
def test_norm_nonlinearity_no_nan_at_zero(function, bias):
    t = steerable_type(D4)
    layer = NormNonlinearity(t, function, bias=bias)
    x = torch.randn(2, t.size, 5, 5)
    x[0] = 0.0  # a whole zero sample
    x[1, t.field_channels(0)] = 0.0  # one zero field
    x[1, :, 2, 2] = 0.0  # a zero pixel
    x.requires_grad_(True)
    y = layer(x)
    assert torch.isfinite(y).all()
    assert y[0].abs().max() == 0 and y[1, t.field_channels(0)].abs().max() == 0
    (y.sum() + (y ** 2).sum()).backward()
    assert torch.isfinite(x.grad).all()
    for p in layer.parameters():
        assert torch.isfinite(p.grad).all()


def test_norm_nonlinearity_export():
    t = steerable_type(D4)
    x = torch.randn(2, t.size, 5, 5)
    for function in ("relu", "sigmoid", "squash"):
        for bias in (True, False):
            layer = NormNonlinearity(t, function, bias=bias)
            ex = layer.export()
            assert is_standard(ex)
            torch.testing.assert_close(ex(x), layer(x), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="unknown norm nonlinearity"):
        NormNonlinearity(t, "elu")


# ---------------------------------------------------------------------- gated nonlinearity
@pytest.mark.parametrize("G", [C4, D4, C8], ids=repr)
def test_gated_nonlinearity(G):
    gated = steerable_type(G)
    t = GatedNonlinearity.input_type(gated)
    assert len(t) == 2 * len(gated) and all(r.is_trivial() for r in t.reps[:len(gated)])
    layer = GatedNonlinearity(t, len(gated))
    assert layer.out_type == gated
    assert GatedNonlinearity(t, FieldType.trivial(G, len(gated))).out_type == gated
    for size in (6, 7):
        assert equivariance_error(layer, torch.randn(2, t.size, size, size)) <= 1e-5
    x = torch.randn(2, t.size, 4, 4)
    y = layer(x)
    n = len(gated)
    for i in range(n):
        ch = gated.field_channels(i)
        ref = torch.sigmoid(x[:, i:i + 1]) * x[:, n + ch.start:n + ch.stop]
        torch.testing.assert_close(y[:, ch], ref, rtol=1e-6, atol=1e-7)  # vectorised vs per-field: rounding only
    ex = layer.export()
    assert is_standard(ex)
    torch.testing.assert_close(ex(x), y, rtol=0, atol=0)


def test_gated_nonlinearity_errors():
    gated = steerable_type(D4)
    t = GatedNonlinearity.input_type(gated)
    with pytest.raises(ValueError, match="n=2 gates"):
        GatedNonlinearity(t, 2)
    bad = FieldType(D4, [D4.irrep(1, 0)] * len(gated)) + gated  # sign fields are not invariant gates
    with pytest.raises(TypeError, match=r"must be trivial.*irrep\(1,0\)"):
        GatedNonlinearity(bad, len(gated))
    with pytest.raises(ValueError, match="not the leading part"):
        GatedNonlinearity(t, FieldType.regular(D4, len(gated)))
    with pytest.raises(TypeError, match="int or a FieldType"):
        GatedNonlinearity(t, 2.0)
    with pytest.raises(ValueError, match=r"expects"):
        GatedNonlinearity(t, len(gated))(torch.randn(1, t.size + 1, 4, 4))


def test_norm_functions_saturate_and_stay_bounded():
    """squash output norms lie in [0, 1); sigmoid gains in (0, 1); relu never increases a norm."""
    t = FieldType(C4, [C4.irrep(1)] * 3)
    x = 10 * torch.randn(4, 6, 5, 5)
    n = _norms(x, t)
    assert (_norms(NormNonlinearity(t, "squash")(x), t) < 1).all()
    assert (_norms(NormNonlinearity(t, "relu")(x), t) <= n).all()
    g = _norms(NormNonlinearity(t, "sigmoid", bias=False)(x), t) / n
    assert ((g > 0) & (g <= 1)).all() and math.isclose(g.max().item(), 1.0, rel_tol=1e-6)
