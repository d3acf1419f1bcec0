"""Export: every layer's export() reproduces it in eval mode with standard torch modules only (no equinet code in
the module tree, the traced graphs or a pickle), and plain()/is_standard() refuse non-torch code."""
import io
import pickle

import pytest
import torch
from torch import nn

from equinet import groups
from equinet.nn import (Downsample2x, EquivariantBatchNorm, EquivariantInstanceNorm, EquivariantSequential,
                        FieldType, GatedNonlinearity, GroupPooling, Identity, LeakyReLU, NormNonlinearity,
                        NormPooling, PointwiseNonlinearity, ReLU, SteerableConv2d, Upsample2x, is_standard, plain)

C4, D4 = groups.cyclic(4), groups.dihedral(4)


G = D4
PERM = FieldType(G, [G.regular, G.trivial, G.quotient(groups.flips())])
STEER = FieldType(G, [G.irrep(1, 1), G.regular, G.trivial, G.irrep(1, 0)])


def all_layers():
    torch.manual_seed(0)
    bn = EquivariantBatchNorm(STEER)
    bn(torch.randn(4, STEER.size, 6, 6) + 1.0)  # non-trivial running statistics
    layers = [
        SteerableConv2d(PERM, STEER, 3), SteerableConv2d(STEER, PERM, 4, bias=False),
        PointwiseNonlinearity(PERM, "elu"), ReLU(PERM), LeakyReLU(PERM, 0.1),
        NormNonlinearity(STEER, "relu"), NormNonlinearity(STEER, "relu", bias=False),
        NormNonlinearity(STEER, "sigmoid"), NormNonlinearity(STEER, "squash", bias=False),
        GatedNonlinearity(GatedNonlinearity.input_type(STEER), len(STEER)),
        GroupPooling(PERM, "max"), GroupPooling(PERM, "mean"), NormPooling(STEER),
        Downsample2x(STEER), Downsample2x(PERM, "max"), Upsample2x(STEER), Upsample2x(STEER, "bilinear"),
        Upsample2x(STEER, "bilinear", odd_output=True),
        bn, EquivariantBatchNorm(STEER, bias=False), EquivariantInstanceNorm(STEER),
        EquivariantInstanceNorm(STEER, affine=False, bias=False), Identity(STEER),
    ]
    for layer in layers:
        with torch.no_grad():
            for p in layer.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return layers


@pytest.mark.parametrize("size", [7, 8])
def test_every_layer_exports_to_standard_torch(size):
    for layer in all_layers():
        layer.eval()
        x = torch.randn(2, layer.in_type.size, size, size)
        ex = layer.export()
        assert is_standard(ex), type(layer).__name__
        assert not any(p.requires_grad for p in ex.buffers())
        with torch.no_grad():
            ref = layer(x)
            out = ex(x)
        scale = ref.abs().max().clamp_min(1e-12)
        assert ((out - ref).abs().max() / scale) <= 1e-5, type(layer).__name__
        blob = pickle.dumps(ex)
        assert b"equinet" not in blob, type(layer).__name__
        if isinstance(ex, torch.fx.GraphModule):
            assert "equinet" not in ex.code


def test_exported_network_round_trips_through_torch_save():
    t_in = FieldType.trivial(G)
    hid = FieldType.regular(G, 2)
    gate_in = GatedNonlinearity.input_type(STEER)
    net = EquivariantSequential(
        SteerableConv2d(t_in, hid, 3), EquivariantBatchNorm(hid), ReLU(hid), Downsample2x(hid, "max"),
        SteerableConv2d(hid, gate_in, 3), GatedNonlinearity(gate_in, len(STEER)),
        NormNonlinearity(STEER, bias=False), Upsample2x(STEER, "bilinear", odd_output=True),
        SteerableConv2d(STEER, hid, 3), GroupPooling(hid)).eval()
    ex = net.export()
    assert type(ex) is nn.Sequential and is_standard(ex)
    buf = io.BytesIO()
    torch.save(ex, buf)
    assert b"equinet" not in buf.getvalue()
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    x = torch.randn(2, 1, 9, 9)
    with torch.no_grad():
        y = net(x)
        assert y.shape == (2, 2, 9, 9)
        torch.testing.assert_close(loaded(x), y, rtol=1e-5, atol=1e-5)
        for g in G.elements():  # the exported network is as equivariant as the original
            torch.testing.assert_close(loaded(groups.act(g, x)), groups.act(g, y), rtol=1e-5, atol=1e-5)


@torch.fx.wrap
def _opaque(x):
    return x + 1


class _CallsOpaque(nn.Module):
    def forward(self, x):
        return _opaque(x)


class _Custom(nn.Module):
    def forward(self, x):
        return x


def test_plain_and_is_standard_refuse_non_torch_code():
    with pytest.raises(TypeError, match="non-torch functions.*_opaque"):
        plain(_CallsOpaque())
    with pytest.raises(TypeError, match="nn.Module"):
        plain(lambda x: x)
    gm = torch.fx.symbolic_trace(_CallsOpaque())
    assert not is_standard(gm)
    assert not is_standard(ReLU(PERM))  # an equinet class
    assert not is_standard(nn.Sequential(nn.ReLU(), _Custom()))
    assert not is_standard(object())
    assert is_standard(nn.Sequential(nn.Conv2d(1, 1, 3), nn.ReLU()))
    traced = plain(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()))
    assert isinstance(traced, torch.fx.GraphModule) and not traced.training and is_standard(traced)
