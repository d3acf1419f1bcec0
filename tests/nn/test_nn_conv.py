"""SteerableConv2d: exact equivariance (lifting, group convolution, mixed types) on even and odd sizes, invariant
bias, the eval-mode filter cache, export, errors, and a deep C8 network."""
import pytest
import torch

from equinet import groups
from equinet.nn import (EquivariantSequential, FieldType, ReLU, SteerableConv2d, is_standard,
                        trivial_projector)
from equinet.testing import grid_equivariance_error as equivariance_error

C4, D4, C8, C16 = groups.cyclic(4), groups.dihedral(4), groups.cyclic(8), groups.cyclic(16)


def mixed(G):
    one = G.irrep(1, 1) if G.reflections else G.irrep(1)
    return FieldType(G, [G.regular, G.trivial, one, G.quotient(groups.cyclic(2)), G.regular])


@pytest.mark.parametrize("G,k", [(C4, 3), (C4, 5), (D4, 3)], ids=["C4-k3", "C4-k5", "D4-k3"])
@pytest.mark.parametrize("size", [8, 9])
def test_lifting_and_group_convolution_exact(G, size, k):
    torch.manual_seed(0)
    lift = SteerableConv2d(FieldType.trivial(G), FieldType.regular(G, 3), k)
    gconv = SteerableConv2d(FieldType.regular(G, 3), FieldType.regular(G, 2), k)
    x = torch.randn(2, 1, size, size)
    assert equivariance_error(lift, x) <= 1e-5
    assert equivariance_error(gconv, torch.randn(2, 3 * G.order, size, size)) <= 1e-5


@pytest.mark.parametrize("G,padding_mode", [(C4, "zeros"), (D4, "reflect")], ids=["C4-zeros", "D4-reflect"])
@pytest.mark.parametrize("size", [6, 7])
def test_mixed_field_types_exact(G, size, padding_mode):
    torch.manual_seed(1)
    t_in = FieldType(G, [G.trivial, G.regular, G.irrep(1, 1) if G.reflections else G.irrep(1)])
    layer = SteerableConv2d(t_in, mixed(G), 3, padding_mode=padding_mode)
    with torch.no_grad():
        layer.bias.normal_()
    assert equivariance_error(layer, torch.randn(2, t_in.size, size, size)) <= 1e-5


@pytest.mark.parametrize("G", [C8, C16], ids=repr)
def test_c8_c16_grid_preserving_elements_exact(G):
    # (regular -> regular for C8 is covered by the deep network below; the C16 one takes seconds to solve)
    torch.manual_seed(2)
    t_in = FieldType(G, [G.trivial, G.irrep(1), G.irrep(3)])
    t_out = FieldType(G, [G.regular, G.irrep(1), G.trivial])
    layer = SteerableConv2d(t_in, t_out, 5)
    for size in (8, 9):
        assert equivariance_error(layer, torch.randn(1, t_in.size, size, size)) <= 1e-5


def test_even_kernel_grows_the_image_and_stays_exact():
    layer = SteerableConv2d(FieldType.trivial(D4), FieldType.regular(D4, 2), 4)
    x = torch.randn(1, 1, 7, 7)
    assert layer(x).shape[-2:] == (8, 8)
    assert equivariance_error(layer, x) <= 1e-5


def test_bias_lives_on_the_invariant_components_only():
    G = D4
    out = FieldType(G, [G.regular, G.irrep(1, 1), G.trivial, G.quotient(groups.flips()), G.irrep(1, 0)])
    layer = SteerableConv2d(FieldType.trivial(G), out, 3)
    # regular, trivial, quotient: one invariant direction each; irrep(1,1) and the sign irrep(1,0): none
    assert layer.bias_basis.shape == (out.size, 3)
    B = layer.bias_basis.double()
    torch.testing.assert_close(B.T @ B, torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-6)
    for g in G.elements():
        M = torch.as_tensor(out.representation(g))
        torch.testing.assert_close(M @ B, B, rtol=0, atol=1e-6)
    # the basis of one regular field is its normalised all-ones vector (the projector of the regular rep)
    P = torch.as_tensor(trivial_projector(G.regular))
    torch.testing.assert_close(P.abs(), torch.full((8, 1), 8 ** -0.5, dtype=P.dtype), rtol=0, atol=1e-9)
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.tensor([1.0, -2.0, 3.0]))
    y = layer(torch.zeros(1, 1, 5, 5))
    _, b = layer.expand()
    for g in G.elements():  # the bias image is an invariant constant field
        torch.testing.assert_close(groups.act(g, y, out.representation), y, rtol=0, atol=1e-6)
    torch.testing.assert_close(y[0, :, 2, 2], b, rtol=0, atol=0)
    irrep_ch = out.field_channels(1)
    assert y[0, irrep_ch].abs().max() < 1e-7 and y[0, out.field_channels(4)].abs().max() < 1e-7
    assert y[0, out.field_channels(0)].abs().min() > 0.1


def test_bias_false_removes_it():
    layer = SteerableConv2d(FieldType.trivial(C4), FieldType.regular(C4, 2), 3, bias=False)
    assert layer.bias is None and "bias" not in layer.state_dict()
    assert layer.expand()[1] is None
    x = torch.randn(1, 1, 6, 6)
    torch.testing.assert_close(layer(3.0 * x), 3.0 * layer(x), rtol=1e-6, atol=1e-6)
    assert layer(torch.zeros(1, 1, 6, 6)).abs().max() == 0
    assert layer.export().bias is None
    # an output type without invariant components has no bias even when asked for one
    assert SteerableConv2d(FieldType.trivial(C4), FieldType(C4, [C4.irrep(1)]), 3).bias is None


def test_eval_cache_matches_train_and_keeps_the_state_dict():
    torch.manual_seed(3)
    layer = SteerableConv2d(FieldType.trivial(D4), FieldType.regular(D4, 2), 3)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 1, 7, 7)
    keys_train = {k: v.shape for k, v in layer.state_dict().items()}
    sd_train = {k: v.clone() for k, v in layer.state_dict().items()}
    y_train = layer(x)
    layer.eval()
    with torch.no_grad():
        y1, y2 = layer(x), layer(x)
    assert layer._cache is not None
    assert torch.equal(y1, y_train.detach()) and torch.equal(y1, y2)
    assert {k: v.shape for k, v in layer.state_dict().items()} == keys_train
    assert set(keys_train) == {"weight", "bias", "_extra_state"}  # the basis signature travels with the weights
    assert all(torch.equal(v, sd_train[k]) for k, v in layer.state_dict().items())
    with torch.no_grad():  # an in-place update (optimizer step) invalidates the cache
        layer.weight.mul_(2.0)
        y3 = layer(x)
    layer.train()
    torch.testing.assert_close(y3, layer(x).detach(), rtol=0, atol=0)
    torch.testing.assert_close(y3 - layer.expand()[1].view(1, -1, 1, 1),
                               2.0 * (y1 - layer.expand()[1].view(1, -1, 1, 1)), rtol=1e-5, atol=1e-5)


def test_eval_cache_follows_replaced_parameters():
    """load_state_dict(assign=True) swaps the parameter objects; new tensors may carry the same version counters
    as the old ones, and the cached filter must still be dropped."""
    layer = SteerableConv2d(FieldType.trivial(C4), FieldType.regular(C4, 1), 3).eval()
    x = torch.randn(1, 1, 5, 5)
    with torch.no_grad():
        y_old = layer(x)
    w, b = torch.randn_like(layer.weight), torch.randn_like(layer.bias)
    while w._version < layer.weight._version:
        w.add_(0.0)
    while b._version < layer.bias._version:
        b.add_(0.0)
    assert (w._version, b._version) == (layer.weight._version, layer.bias._version)
    layer.load_state_dict({"weight": w, "bias": b, "_extra_state": layer.state_dict()["_extra_state"]}, assign=True)
    with torch.no_grad():
        y_new = layer(x)
    ref = torch.nn.functional.conv2d(x, *layer.expand(), padding=1)
    assert not torch.allclose(y_new, y_old)
    torch.testing.assert_close(y_new, ref.detach(), rtol=0, atol=0)


def test_export_is_a_plain_conv2d():
    layer = SteerableConv2d(FieldType(D4, [D4.trivial, D4.regular]), mixed(D4), 3, padding_mode="reflect").eval()
    ex = layer.export()
    assert type(ex) is torch.nn.Conv2d and is_standard(ex)
    x = torch.randn(2, 9, 7, 7)
    torch.testing.assert_close(ex(x), layer(x), rtol=1e-5, atol=1e-5)


def test_errors_name_the_type():
    layer = SteerableConv2d(FieldType.regular(C4, 2), FieldType.regular(C4, 1), 3)
    with pytest.raises(ValueError, match=r"FieldType\(C4: 2×regular; 8 channels\) expects 8"):
        layer(torch.randn(1, 7, 5, 5))
    with pytest.raises(ValueError, match="shape"):
        layer(torch.randn(8, 5, 5))
    with pytest.raises(ValueError, match="share a group"):
        SteerableConv2d(FieldType.trivial(C4), FieldType.trivial(D4), 3)
    with pytest.raises(ValueError, match="kernel_size"):
        SteerableConv2d(FieldType.trivial(C4), FieldType.trivial(C4), 0)


def test_deep_c8_regular_network_builds_and_is_exact():
    G = C8
    hid = FieldType.regular(G, 16)
    layers = [SteerableConv2d(FieldType.trivial(G), hid, 5), ReLU(hid)]
    for _ in range(18):
        layers += [SteerableConv2d(hid, hid, 5), ReLU(hid)]
    layers.append(SteerableConv2d(hid, FieldType.trivial(G), 5))
    net = EquivariantSequential(*layers).eval()
    convs = [m for m in net.modules() if isinstance(m, SteerableConv2d)]
    assert len(convs) == 20
    # basis sizes (docs/kernels.md): trivial->regular 11, regular->regular 88, regular->trivial 11 per field pair
    assert convs[0].basis_size == 16 * 11 and convs[1].basis_size == 16 * 16 * 88 and convs[-1].basis_size == 16 * 11
    assert sum(p.numel() for p in net.parameters()) == 16 * 11 * 2 + 18 * 16 * 16 * 88 + 19 * 16 + 1
    x = torch.randn(1, 1, 9, 9)
    with torch.no_grad():
        assert equivariance_error(net, x, [G.element(steps=2), G.element(steps=4)]) <= 1e-5


def test_bad_padding_is_refused():
    for bad in (1.5, -1, "1", True):
        with pytest.raises(ValueError, match="padding must be None .* integer >= 0"):
            SteerableConv2d(FieldType.trivial(C4), FieldType.regular(C4, 1), 3, padding=bad)
    layer = SteerableConv2d(FieldType.trivial(C4), FieldType.regular(C4, 1), 3, padding=0)
    assert layer(torch.randn(1, 1, 6, 6)).shape[-1] == 4


def test_input_dtype_and_empty_images_are_refused_clearly():
    layer = SteerableConv2d(FieldType.trivial(C4), FieldType.regular(C4, 1), 3)
    for dtype in (torch.int64, torch.complex64, torch.bool):
        with pytest.raises(TypeError, match="real floating-point input of the layer's dtype torch.float32"):
            layer(torch.zeros(1, 1, 5, 5, dtype=dtype))
    for dtype in (torch.float64, torch.float16):
        with pytest.raises(TypeError, match=f"input is {dtype} but the layer is torch.float32"):
            layer(torch.zeros(1, 1, 5, 5, dtype=dtype))
    for shape in ((0, 1, 5, 5), (1, 1, 0, 5), (1, 1, 5, 0)):
        with pytest.raises(ValueError, match="empty input"):
            layer(torch.zeros(shape))
    # float64 is supported once the layer is float64, with the same (exact) equivariance
    x = torch.randn(1, 1, 7, 7, dtype=torch.float64)
    layer64 = layer.double()
    y = layer64(x)
    assert y.dtype == torch.float64
    g = C4.element(steps=1)
    torch.testing.assert_close(layer64(groups.act(g, x, layer64.in_type.representation)),
                               groups.act(g, y, layer64.out_type.representation), rtol=1e-12, atol=1e-12)


def test_empty_kernel_basis_warns():
    S = groups.so2(6)
    with pytest.warns(UserWarning, match="kernel basis is empty .* always outputs zero"):
        layer = SteerableConv2d(FieldType(S, [S.irrep(0)]), FieldType(S, [S.irrep(5)]), 3)
    assert layer.weight.numel() == 0
    assert torch.count_nonzero(layer(torch.randn(1, 1, 5, 5))) == 0


def _expected_filter_norms(layer: SteerableConv2d) -> torch.Tensor:
    """E ||filter of output channel o||² under the layer's initialisation, exactly: Σ_n std_n² ||B_n[o]||²."""
    fan: dict = {}
    for _, n_o, n_i, n_t, _, og in layer.expansion.blocks:
        fan[og] = fan.get(og, 0) + n_i * n_t
    e = torch.zeros(layer.out_type.size, dtype=torch.float64)
    for name, n_o, n_i, n_t, _, og in layer.expansion.blocks:
        B = getattr(layer.expansion, name).double()                       # [n_t, d_o, d_i, k, k]
        std2 = layer.gain ** 2 * B.shape[1] / fan[og]
        per_channel = B.pow(2).sum(dim=(0, 2, 3, 4))            # Σ_n ||B_n[o_local]||²  [d_o]
        out_idx = getattr(layer.expansion, name + "_out").view(n_o, B.shape[1])
        e.index_add_(0, out_idx.reshape(-1), (n_i * std2 * per_channel).repeat(n_o))
    return e


@pytest.mark.parametrize("G", [C4, C8, C16, D4], ids=lambda G: G.name)
@pytest.mark.parametrize("kind", ["lifting", "group", "projection"])
def test_init_gives_every_output_channel_the_same_expected_filter_norm(G, kind):
    """He initialisation, whatever the group: each output channel's expected squared filter norm is exactly gain²
    (so C4 and C8 networks start with the same activation scale; docs/experiments.md, "C8 on MRI"), and the
    empirical mean over draws agrees."""
    reg = FieldType(G, [G.regular] * 2)
    ins, outs = {"lifting": (FieldType.trivial(G, 2), reg), "group": (reg, reg),
                 "projection": (reg, FieldType.trivial(G, 2))}[kind]
    layer = SteerableConv2d(ins, outs, 5)
    e = _expected_filter_norms(layer)
    assert torch.allclose(e, torch.full_like(e, layer.gain ** 2), rtol=1e-6)
    torch.manual_seed(0)
    draws = []
    for _ in range(200):
        layer.reset_parameters()
        draws.append(layer.expand()[0].detach().double().pow(2).sum(dim=(1, 2, 3)))
    mean = torch.stack(draws).mean()
    assert abs(float(mean) / layer.gain ** 2 - 1) < 0.06
