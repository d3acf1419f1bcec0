"""All-or-nothing loading: a state dict refused at any layer (a convolution's basis, a batch norm's field type, a
shape, a missing key) leaves the model bit-identical, and every refused layer is named at once."""
import pytest
import torch
from torch import nn

from equinet.nets import DnCNN, NetSpec, PinvReconstructor
from equinet.nn import EquivariantBatchNorm, FieldType, SteerableConv2d
from equinet.nn.loading import load_state_dict, state_dict_problems
from equinet import groups


def bn_net(group="C4", seed=0):
    torch.manual_seed(seed)
    return DnCNN(NetSpec(group=group, width=2, depth=4, kernel_size=3, batch_norm=True))


def snapshot(m):
    return {k: v.detach().clone() for k, v in list(m.named_parameters()) + list(m.named_buffers())}


def assert_bit_identical(m, before):
    now = snapshot(m)
    assert now.keys() == before.keys()
    for k in now:
        a, b = now[k].reshape(-1), before[k].reshape(-1)
        assert a.dtype == b.dtype and torch.equal(a.view(torch.uint8), b.view(torch.uint8)), k  # bit for bit


def other_weights(sd, seed=1):
    """``sd`` with every floating tensor replaced (a partial load would show)."""
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone() for k, v in sd.items()}


def last_conv_key(sd):
    return [k for k in sd if k.endswith("_extra_state")][-1]


def test_refused_at_the_last_layer_leaves_every_earlier_layer_untouched():
    model = bn_net()
    sd = other_weights(model.state_dict())
    other = DnCNN(NetSpec(group="D2", width=2, depth=4, kernel_size=3, batch_norm=True)).state_dict()
    key = last_conv_key(sd)
    assert key.startswith("body.layers.") and not torch.equal(other[key], sd[key])
    sd[key] = other[key]  # only the last layer's signature is wrong
    before = snapshot(model)
    with pytest.raises(ValueError, match="nothing was loaded"):
        model.load_state_dict(sd)
    assert_bit_identical(model, before)


def test_every_refused_layer_is_named_at_once():
    model, wrong = bn_net("C4"), bn_net("D2")
    problems = state_dict_problems(model, wrong.state_dict())
    n_conv = sum(isinstance(m, SteerableConv2d) for m in model.modules())
    n_bn = sum(isinstance(m, EquivariantBatchNorm) for m in model.modules())
    assert n_bn >= 2 and len(problems) == n_conv + n_bn
    assert sum(p.startswith("EquivariantBatchNorm") for p in problems) == n_bn


def test_batch_norm_refuses_another_field_type_of_the_same_sizes():
    C4, D2 = groups.cyclic(4), groups.dihedral(2)
    a, b = EquivariantBatchNorm(FieldType.regular(C4, 2)), EquivariantBatchNorm(FieldType.regular(D2, 2))
    b.running_var.fill_(3.0)
    assert {k: v.shape for k, v in a.state_dict().items() if k != "_extra_state"} == \
        {k: v.shape for k, v in b.state_dict().items() if k != "_extra_state"}  # shapes alone cannot tell
    before = snapshot(a)
    with pytest.raises(ValueError, match=r"field type.*D2.*C4"):
        a.load_state_dict(b.state_dict())
    assert_bit_identical(a, before)
    old = {k: v for k, v in b.state_dict().items() if k != "_extra_state"}  # written before the signature
    a.load_state_dict(old)
    assert torch.equal(a.running_var, b.running_var)


def test_a_failure_half_way_is_rolled_back():
    model = PinvReconstructor(bn_net(), residual=True)
    sd = other_weights(model.state_dict())
    last = [k for k in sd if k.endswith("weight")][-1]
    sd[last] = torch.zeros(sd[last].numel() + 1)  # torch refuses this shape after copying the earlier layers
    before = snapshot(model)
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(sd)
    assert_bit_identical(model, before)
    sd = other_weights(model.state_dict())
    sd.pop(last)
    with pytest.raises(RuntimeError, match="Missing key"):
        model.load_state_dict(sd)
    assert_bit_identical(model, before)


def test_any_module_through_the_function_and_a_valid_load_still_loads():
    wrapper = nn.Sequential(nn.Conv2d(1, 4, 1), bn_net())
    sd = other_weights(wrapper.state_dict())
    sd[last_conv_key(sd)] = bn_net("D2").state_dict()[last_conv_key(sd).split(".", 1)[1]]
    before = snapshot(wrapper)
    with pytest.raises(ValueError):
        load_state_dict(wrapper, sd)
    assert_bit_identical(wrapper, before)
    good = other_weights(wrapper.state_dict())
    load_state_dict(wrapper, good)
    assert torch.equal(wrapper[0].weight, good["0.weight"])
