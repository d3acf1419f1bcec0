"""The basis signature in a layer's state dict: loading coefficients meant for another basis is refused, naming
both (issue 7 item 2; issue 11: C4 weights loaded silently into D2)."""
import io
import json

import pytest
import torch

from equinet import groups
from equinet.kernels import SamplingRule
from equinet.kernels.basis import BASIS_VERSION
from equinet.kernels.signature import BasisSignature
from equinet.nets import DnCNN, NetSpec
from equinet.nn import FieldType, SteerableConv2d

C4, D2 = groups.cyclic(4), groups.dihedral(2)


def reg(G, n=1):
    return FieldType.regular(G, n)


def test_c4_weights_are_refused_by_a_d2_layer_of_the_same_shapes():
    a, b = SteerableConv2d(reg(C4), reg(C4), 3), SteerableConv2d(reg(D2), reg(D2), 3)
    assert a.weight.shape == b.weight.shape and a.bias.shape == b.bias.shape  # shapes alone cannot tell
    before = [p.detach().clone() for p in b.parameters()]
    with pytest.raises(ValueError, match=r"(?s)differs in group.*C4 \[regular\(4\)\].*D2 \[regular\(4\)\]"):
        b.load_state_dict(a.state_dict())
    assert all(torch.equal(p, q) for p, q in zip(b.parameters(), before))  # refused before anything was copied


def test_networks_inherit_the_check():
    c4 = DnCNN(NetSpec(group="C4", width=1, depth=3, kernel_size=3))
    d2 = DnCNN(NetSpec(group="D2", width=1, depth=3, kernel_size=3))
    sd = c4.state_dict()
    assert sum(k.endswith("_extra_state") for k in sd) == 3
    with pytest.raises(ValueError, match=r"(?s)body\.layers\.0.*C4.*D2"):
        d2.load_state_dict(sd)
    same = DnCNN(NetSpec(group="C4", width=1, depth=3, kernel_size=3))
    same.load_state_dict(sd)
    x = torch.rand(1, 1, 9, 9)
    torch.testing.assert_close(same(x), c4(x), rtol=0, atol=0)


@pytest.mark.parametrize("other, field", [
    (lambda: SteerableConv2d(reg(C4), reg(C4), 3, rule=SamplingRule(width=0.7)), "rule"),
    (lambda: SteerableConv2d(FieldType(C4, [C4.trivial] * 4), reg(C4), 3), "in_type"),
])
def test_other_rule_or_field_type_is_refused(other, field):
    a = SteerableConv2d(reg(C4), reg(C4), 3)
    b = other()
    if b.weight.shape != a.weight.shape:  # make the shapes agree so that only the signature can object
        sd = dict(a.state_dict(), weight=torch.zeros_like(b.weight), bias=torch.zeros_like(b.bias))
    else:
        sd = a.state_dict()
    with pytest.raises(ValueError, match=f"differs in {field}"):
        b.load_state_dict(sd)


def _signature_with(layer, **changes):
    d = json.loads(bytes(layer.state_dict()["_extra_state"].tolist()).decode())
    d.update(changes)
    return torch.tensor(list(json.dumps(d).encode()), dtype=torch.uint8)


def test_another_basis_version_or_checksum_is_refused():
    a = SteerableConv2d(reg(C4), reg(C4), 3)
    for change, field in (({"basis_version": BASIS_VERSION - 1}, "basis_version"),
                          ({"checksum": [0.5, -0.25]}, "checksum")):
        sd = dict(a.state_dict(), _extra_state=_signature_with(a, **change))
        with pytest.raises(ValueError, match=f"differs in {field}"):
            SteerableConv2d(reg(C4), reg(C4), 3).load_state_dict(sd)
    # the checksum tolerance absorbs rounding only
    sig = a.signature
    close = BasisSignature(**{**sig.__dict__, "checksum": tuple(v + 1e-9 for v in sig.checksum)})
    assert close.mismatches(sig) == []


def test_a_state_dict_without_signature_is_refused_even_non_strict():
    a = SteerableConv2d(reg(C4), reg(C4), 3)
    old = {k: v for k, v in a.state_dict().items() if k != "_extra_state"}  # as written before basis version 2
    for strict in (True, False):
        with pytest.raises(ValueError, match="no basis signature"):
            SteerableConv2d(reg(C4), reg(C4), 3).load_state_dict(old, strict=strict)
    with pytest.raises(ValueError, match="uint8"):
        SteerableConv2d(reg(C4), reg(C4), 3).load_state_dict(dict(a.state_dict(), _extra_state=torch.zeros(3)))
    # a partial load that does not touch the layer is still possible
    net = DnCNN(NetSpec(group="C4", width=1, depth=3, kernel_size=3))
    net.load_state_dict({}, strict=False)


def test_signature_survives_save_load_and_train_eval():
    a = SteerableConv2d(reg(C4), FieldType(C4, [C4.trivial, C4.irrep(1)]), 5)
    buf = io.BytesIO()
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    assert BasisSignature.from_state(sd["_extra_state"]) == a.signature
    a.eval()
    assert all(torch.equal(v, sd[k]) for k, v in a.state_dict().items())
    b = SteerableConv2d(reg(C4), FieldType(C4, [C4.trivial, C4.irrep(1)]), 5)
    b.load_state_dict(sd)
    assert torch.equal(b.weight, a.weight)
    assert a.signature.basis_version == BASIS_VERSION and a.signature.group == "C4"
