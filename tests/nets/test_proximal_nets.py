"""Proximal networks: exact equivariance (C4, D4; even and odd sizes), bias-free homogeneity, export,
translation twins, state dicts, and bad input."""
import pytest
import torch

from equinet import groups
from equinet.nets import Activation, NetSpec, build, count_parameters
from equinet.nn.export import is_standard

NETS = ["dncnn", "unet"]


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("G", ["C4", "D4"])
@pytest.mark.parametrize("size", [16, 17, 18, 19])
def test_exact_equivariance_even_and_odd_sizes(net, G, size):
    torch.manual_seed(0)
    spec = NetSpec(G, in_channels=2, out_channels=1, width=2, depth=3, kernel_size=3, batch_norm=True)
    m = build(net, spec).double()
    m.train()
    m(torch.randn(4, 2, size, size, dtype=torch.float64))  # move the running statistics
    m.eval()
    x = torch.randn(2, 2, size, size, dtype=torch.float64)
    y = m(x)
    for g in spec.G.elements():
        assert rel_err(m(groups.act(g, x)), groups.act(g, y)) < 1e-12


@pytest.mark.parametrize("net", NETS)
def test_bias_free_networks_are_positively_homogeneous(net):
    torch.manual_seed(1)
    spec = NetSpec("D4", width=2, depth=3, kernel_size=3, bias=False, batch_norm=True)
    m = build(net, spec).double()
    m.train()
    m(torch.randn(4, 1, 16, 16, dtype=torch.float64))
    m.eval()
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    for c in (0.01, 0.5, 3.0, 100.0):
        assert rel_err(m(c * x), c * m(x)) < 1e-12
    assert all("bias" not in n or p.numel() == 0 for n, p in m.named_parameters())
    with_bias = build(net, NetSpec("D4", width=2, depth=3, kernel_size=3, bias=True)).double().eval()
    for p in with_bias.parameters():
        torch.nn.init.normal_(p, std=0.3)
    assert rel_err(with_bias(3.0 * x), 3.0 * with_bias(x)) > 1e-3


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("G", ["C8", "C1"])
def test_export_reproduces_outputs_with_standard_modules(net, G):
    torch.manual_seed(2)
    spec = NetSpec(G, width=2, depth=3, kernel_size=5, batch_norm=True)
    m = build(net, spec)
    m.train()
    m(torch.randn(4, 1, 20, 20))
    m.eval()
    e = m.export()
    assert is_standard(e)
    x = torch.randn(2, 1, 21, 21)
    torch.testing.assert_close(e(x), m(x), atol=1e-5, rtol=1e-5)


def test_train_and_eval_state_dicts_are_identical():
    m = build("unet", NetSpec("C4", width=2, depth=3, kernel_size=3, batch_norm=True))
    m.train()
    sd_train = {k: v.shape for k, v in m.state_dict().items()}
    m.eval()
    with torch.no_grad():
        m(torch.randn(1, 1, 16, 16))  # fills the eval caches
    assert {k: v.shape for k, v in m.state_dict().items()} == sd_train


def test_translation_twins_match_parameters_or_width():
    spec = NetSpec("C8", width=4, depth=5, kernel_size=5)
    n_eq = count_parameters(build("dncnn", spec))
    twin = spec.translation_twin("params")
    assert twin.G.order == 1
    n_tw = count_parameters(build("dncnn", twin))
    assert abs(n_tw - n_eq) / n_eq < 0.1
    # no other width is closer
    for w in (twin.width - 1, twin.width + 1):
        assert abs(count_parameters(build("dncnn", spec.with_group("C1", w))) - n_eq) >= abs(n_tw - n_eq)
    wide = spec.translation_twin("width")
    assert wide.width == 4 * 8
    assert build("dncnn", wide).body[0].out_type.size == build("dncnn", spec).body[0].out_type.size


def test_continuous_group_network_builds_and_is_exact_on_quarter_turns():
    torch.manual_seed(3)
    spec = NetSpec("SO2", width=2, depth=3, kernel_size=5, max_frequency=2)
    m = build("dncnn", spec).double().eval()
    x = torch.randn(1, 1, 17, 17, dtype=torch.float64)
    y = m(x)
    for g in groups.so2(2).testing_elements(4):  # 0°, 90°, 180°, 270°
        assert rel_err(m(groups.act(g, x)), groups.act(g, y)) < 1e-10


def test_bad_input():
    with pytest.raises(ValueError, match="in_channels >= out_channels"):
        build("dncnn", NetSpec("C4", in_channels=1, out_channels=2))
    with pytest.raises(ValueError, match="unknown network"):
        build("resnet", NetSpec("C4"))
    with pytest.raises(ValueError, match="width must be a positive int"):
        NetSpec("C4", width=0)
    with pytest.raises(ValueError, match="unknown group"):
        NetSpec("Z7")
    m = build("dncnn", NetSpec("C4", in_channels=2))
    with pytest.raises(ValueError, match="expects 2"):
        m(torch.randn(1, 1, 8, 8))


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "softplus"])
def test_other_activations_exact_exportable_and_used(net, activation):
    """NetSpec.activation builds the named pointwise nonlinearity: the network stays exactly D4-equivariant, exports
    to the matching torch module with identical outputs, and differs from the ReLU network of the same weights."""
    torch.manual_seed(4)
    spec = NetSpec("D4", width=2, depth=3, kernel_size=3, activation=activation)
    m = build(net, spec).double().eval()
    x = torch.randn(2, 1, 17, 17, dtype=torch.float64)
    y = m(x)
    for g in spec.G.elements():
        assert rel_err(m(groups.act(g, x)), groups.act(g, y)) < 1e-12
    e = m.export().double()
    assert is_standard(e)
    expected = {"leaky_relu": torch.nn.LeakyReLU, "elu": torch.nn.ELU, "softplus": torch.nn.Softplus}[activation]
    assert any(isinstance(mod, expected) for mod in e.modules())
    assert not any(isinstance(mod, torch.nn.ReLU) for mod in e.modules())
    torch.testing.assert_close(e(x), y, rtol=1e-10, atol=1e-12)
    relu_net = build(net, NetSpec("D4", width=2, depth=3, kernel_size=3)).double().eval()
    relu_net.load_state_dict(m.state_dict())
    for p in relu_net.parameters():  # zero-initialised last layers would hide the nonlinearity
        torch.nn.init.normal_(p, std=0.3)
    m.load_state_dict(relu_net.state_dict())
    assert rel_err(m(x), relu_net(x)) > 1e-3
    twin = spec.translation_twin("width", net=net)
    assert twin.activation == Activation(activation)


def test_activation_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        NetSpec("C4", activation="gelu")
    with pytest.raises(ValueError, match="positively homogeneous"):
        NetSpec("C4", activation="elu", bias=False)
    with pytest.raises(ValueError, match="norm nonlinearity"):
        NetSpec("SO2", activation="softplus")
    assert NetSpec("C4", activation="leaky_relu", bias=False).activation == Activation("leaky_relu")


@pytest.mark.parametrize("bad,error,match", [
    (dict(bias="no"), TypeError, "bias must be True or False"),
    (dict(batch_norm=1), TypeError, "batch_norm must be True or False"),
    (dict(width=2.0), ValueError, "width must be a positive int"),
    (dict(depth=True), ValueError, "depth must be a positive int"),
    (dict(activation=None), TypeError, "activation must be a string"),
    (dict(max_frequency=-1), ValueError, "max_frequency"),
    (dict(group=8), TypeError, "group must be a PlanarGroup"),
    (dict(kernel_size=4), ValueError, "kernel_size must be odd"),
    (dict(kernel_size=2), ValueError, "kernel_size must be odd"),
])
def test_spec_refuses_wrong_types_and_even_kernels(bad, error, match):
    with pytest.raises(error, match=match):
        NetSpec(**bad)


def test_build_refuses_what_is_not_a_spec():
    with pytest.raises(TypeError, match="NetSpec"):
        build("dncnn", {"group": "C4"})


@pytest.mark.parametrize("G,width,net,kw", [("C8", 4, "dncnn", {}), ("C4", 8, "dncnn", {}),
                                            ("C8", 4, "unet", dict(scales=2)), ("C4", 8, "unet", dict(scales=3))])
def test_translation_twin_matches_the_parameters_of_the_network_built(G, width, net, kw):
    ref = NetSpec(G, width=width, depth=5 if net == "dncnn" else 2, kernel_size=3)
    target = count_parameters(build(net, ref, **kw))
    for twin in (ref.translation_twin("params", net=net, **kw),
                 ref.translation_twin("params", net=build(net, ref, **kw))):  # a built network: its scales
        assert twin.is_translation_only
        n = count_parameters(build(net, twin, **kw))
        assert abs(n - target) <= 0.1 * target, (n, target)
        # and it is the closest width: one channel more or less is farther away
        for w in (twin.width - 1, twin.width + 1):
            if w >= 1:
                assert abs(count_parameters(build(net, twin.with_group("C1", w), **kw)) - target) >= abs(n - target)


def test_twin_of_a_tiny_network_warns_that_it_cannot_match():
    with pytest.warns(UserWarning, match="too small to match"):
        NetSpec("C8", width=1, depth=2, kernel_size=3).translation_twin("params")


@pytest.mark.parametrize("layout", [dict(down="avg", up="resize", out_kernel=None), dict(down="max", up="conv",
                                                                                           out_kernel=1)])
@pytest.mark.parametrize("G", ["C4", "D4"])
@pytest.mark.parametrize("size", [16, 19])
def test_unet_layouts_are_exactly_equivariant_and_export(layout, G, size):
    torch.manual_seed(3)
    m = build("unet", NetSpec(G, width=2, kernel_size=3, batch_norm=True), scales=2, **layout).double()
    m.train()
    m(torch.randn(4, 1, size, size, dtype=torch.float64))
    m.eval()
    x = torch.randn(2, 1, size, size, dtype=torch.float64)
    y = m(x)
    for g in m.spec.G.elements():
        assert rel_err(m(groups.act(g, x)), groups.act(g, y)) < 1e-12
    torch.testing.assert_close(m.export()(x), y, rtol=0, atol=1e-12)


def test_unet_default_layout_and_parameter_count():
    """max pooling, an up-convolution, a 1x1 read-out: at width 16 the parameter count of deepinv's
    UNet(scales=3, channels_per_scale=(16, 32, 64)) (130289; docs/benchmarks.md)."""
    m = build("unet", NetSpec("C1", width=16, kernel_size=3, batch_norm=True), scales=2)
    assert (m.down, m.up, m.out_kernel) == ("max", "conv", 1) and count_parameters(m) == 130289
    assert m.out.conv.kernel_size == (1, 1) and len(m.upconvs) == 2
    so2 = build("unet", NetSpec("SO2", width=1, kernel_size=3, max_frequency=1), scales=1)
    assert so2.downs[0].mode == "avg"   # a maximum is not equivariant on band-limited fields


@pytest.mark.parametrize("bad", [dict(down="min"), dict(up="nearest"), dict(out_kernel=2), dict(out_kernel=0),
                                 dict(scales=0), dict(scales=True)])
def test_unet_refuses_bad_options(bad):
    with pytest.raises(ValueError, match="UNet"):
        build("unet", NetSpec("C4", width=2, kernel_size=3), **bad)


@pytest.mark.parametrize("G", ["C1", "C4"])
def test_convolutions_before_batch_norm_start_at_pytorchs_scale(G):
    """The gain of convolutions followed by batch norm is 1/sqrt(3) (PyTorch's default scale), He's sqrt(2) elsewhere:
    measured as the mean squared filter norm per output channel over a wide layer."""
    import math
    from equinet.nets.proximal import NORMALISED_GAIN, conv_block
    spec = NetSpec(G, width=64, kernel_size=3)
    t = spec.hidden_type()
    for bn, gain in ((True, NORMALISED_GAIN), (False, math.sqrt(2.0))):
        torch.manual_seed(0)
        conv = conv_block(NetSpec(G, width=64, kernel_size=3, batch_norm=bn), t, t)[0]
        w = conv.export().weight if G != "C1" else conv.conv.weight
        sq = w.detach().pow(2).sum((1, 2, 3)).mean().item()
        assert sq == pytest.approx(gain ** 2, rel=0.1)
