"""Proximal networks: exact equivariance (C4, D4; even and odd sizes), bias-free homogeneity, export,
translation twins, state dicts, and bad input."""
import pytest
import torch

from equinet import groups
from equinet.nets import NetSpec, build, count_parameters
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
    with pytest.raises(ValueError, match="positive integer"):
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
    assert twin.activation == activation


def test_activation_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        NetSpec("C4", activation="gelu")
    with pytest.raises(ValueError, match="positively homogeneous"):
        NetSpec("C4", activation="elu", bias=False)
    with pytest.raises(ValueError, match="norm nonlinearity"):
        NetSpec("SO2", activation="softplus")
    assert NetSpec("C4", activation="leaky_relu", bias=False).activation == "leaky_relu"
