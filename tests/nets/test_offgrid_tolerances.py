"""Off-grid equivariance (C8, C16, SO(2)) of every layer type and both networks, within the tolerances documented
in docs/nets.md (protocol of equinet.testing: smooth analytic inputs sampled exactly on the rotated grid)."""
import pytest
import torch

from equinet import groups
from equinet import nn as enn
from equinet.nets import NetSpec, build
from equinet.testing import assert_equivariant

GROUPS = [groups.cyclic(8), groups.cyclic(16), groups.so2(3)]

# measured worst cases (docs/nets.md) are ~3-5x below these tolerances
LAYER_TOL = {"conv": 1e-2, "lift": 1e-2, "relu": 5e-2, "norm_relu": 1e-2, "norm_pool": 1e-2, "group_pool": 1e-4,
             "batch_norm": 1e-4, "instance_norm": 1e-4, "down": 3e-2, "up": 3e-2}
NET_TOL = {"dncnn": 0.1, "unet": 0.5}


def offgrid(G, n=3):
    return [e for e in G.testing_elements(16) if not e.preserves_grid][:n]


def layers(G):
    rep = G.regular if G.N is not None else groups.direct_sum(*G.irreps())
    ft, ti = enn.FieldType(G, [rep] * 2), enn.FieldType.trivial(G, 1)
    out = {"conv": enn.SteerableConv2d(ft, ft, 5), "lift": enn.SteerableConv2d(ti, ft, 5),
           "norm_relu": enn.NormNonlinearity(ft), "norm_pool": enn.NormPooling(ft),
           "batch_norm": enn.EquivariantBatchNorm(ft), "instance_norm": enn.EquivariantInstanceNorm(ft),
           "down": enn.Downsample2x(ft), "up": enn.Upsample2x(ft, "bilinear")}
    if G.N is not None:
        out.update(relu=enn.ReLU(ft), group_pool=enn.GroupPooling(ft, "mean"))
    return out


@pytest.mark.parametrize("G", GROUPS, ids=[g.name for g in GROUPS])
def test_every_layer_offgrid(G):
    torch.manual_seed(0)
    for name, layer in layers(G).items():
        assert_equivariant(layer, layer.in_type, layer.out_type, elements=[G.identity] + offgrid(G), atol=1e-5,
                           offgrid_atol=LAYER_TOL[name], image_size=33)


@pytest.mark.parametrize("net", ["dncnn", "unet"])
@pytest.mark.parametrize("G", GROUPS, ids=[g.name for g in GROUPS])
def test_networks_offgrid(G, net):
    torch.manual_seed(0)
    spec = NetSpec(G, width=2, depth=3, kernel_size=5)
    m = build(net, spec)
    grid = [e for e in G.testing_elements(4) if e.preserves_grid]
    assert_equivariant(m, m.in_type, m.out_type, elements=grid + offgrid(G, 2), atol=1e-5,
                       offgrid_atol=NET_TOL[net], image_size=33)
