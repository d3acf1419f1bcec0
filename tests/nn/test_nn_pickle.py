"""Groups, representations, field types, every layer and the networks pickle, deep-copy and torch.save: a layer
built on the regular representation used to hold a local function (``_permutation_rep``) and could not be
pickled, saved whole or sent to a worker process."""
import copy
import io
import pickle

import pytest
import torch

from equinet import groups
from equinet.nets import NetSpec, build
from equinet.nn import (Downsample2x, EquivariantBatchNorm, EquivariantInstanceNorm, EquivariantSequential, FieldType,
                        GatedNonlinearity, GroupPooling, Identity, NormNonlinearity, NormPooling, ReLU,
                        SteerableConv2d, Upsample2x)

C4, D4, SO2 = groups.cyclic(4), groups.dihedral(4), groups.so2(2)


def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


def _reps(G):
    one = G.irrep(1, 1) if G.reflections else G.irrep(1)
    reps = [G.trivial, one, one + G.trivial, (one * 2).change_basis(torch.linalg.qr(torch.randn(4, 4,
            generator=torch.Generator().manual_seed(0), dtype=torch.float64))[0].numpy())]
    if G.N is not None:
        sub = groups.flips() if G.reflections else groups.cyclic(2)
        reps += [G.regular, G.quotient(sub), G.regular + one,
                 G.representation([G.regular(g) for g in G.elements()], name="user")]
    return reps


@pytest.mark.parametrize("G", [C4, D4, SO2], ids=repr)
def test_groups_and_representations_pickle(G):
    assert _roundtrip(G) == G
    els = G.testing_elements(4, seed=0)
    assert _roundtrip(els) == els
    for rep in _reps(G):
        back = _roundtrip(rep)
        assert back == rep and back.size == rep.size and back.name == rep.name
        for g in els:
            assert (back(g) == rep(g)).all()
        assert [p.name for p in back.irreps] == [p.name for p in rep.irreps]
        assert (back.change_of_basis == rep.change_of_basis).all()
        assert copy.deepcopy(rep) == rep
    ft = FieldType(G, _reps(G))
    assert _roundtrip(ft) == ft


def _layers():
    reg = FieldType(C4, [C4.regular] * 2)
    irr = FieldType(SO2, [SO2.irrep(0), SO2.irrep(1), SO2.irrep(2)])
    gated = FieldType(C4, [C4.trivial, C4.irrep(1)])
    return [SteerableConv2d(FieldType.trivial(C4, 1), reg, 3), ReLU(reg), EquivariantBatchNorm(reg),
            EquivariantInstanceNorm(reg), GroupPooling(reg), Downsample2x(reg), Upsample2x(reg), Identity(reg),
            NormNonlinearity(irr), NormPooling(irr), GatedNonlinearity(gated, 1),
            EquivariantSequential(SteerableConv2d(reg, reg, 3), ReLU(reg))]


@pytest.mark.parametrize("layer", _layers(), ids=lambda m: type(m).__name__)
def test_every_layer_pickles_and_computes_the_same(layer):
    x = torch.randn(2, layer.in_type.size, 8, 8, generator=torch.Generator().manual_seed(1))
    layer.eval()
    back = _roundtrip(layer).eval()
    torch.testing.assert_close(back(x), layer(x), rtol=0, atol=0)
    assert back.in_type == layer.in_type and back.out_type == layer.out_type


@pytest.mark.parametrize("net", ["dncnn", "unet"])
@pytest.mark.parametrize("G", ["C4", "D2", "C1"])
def test_networks_save_whole_with_torch_save(net, G):
    model = build(net, NetSpec(G, width=2, depth=2, kernel_size=3)).eval()
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=False).eval()
    x = torch.randn(1, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(back(x), model(x), rtol=0, atol=0)
