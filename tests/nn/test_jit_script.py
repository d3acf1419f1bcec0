"""``torch.jit.script`` of equinet networks: TorchScript compiles their export (standard torch, eval mode), for the
network itself, for its export, and for a model that contains it; the scripted module computes the same function
and survives a save/load round trip."""
import copy
import io
import warnings

import pytest
import torch

from equinet.nets import NetSpec, build

SPECS = {
    "dncnn_c8": ("dncnn", NetSpec("C8", width=2, depth=3, kernel_size=3), {}),
    "unet_c4": ("unet", NetSpec("C4", width=2, depth=1, kernel_size=3), {"scales": 2}),
    "dncnn_so2": ("dncnn", NetSpec("SO2", width=2, depth=3, kernel_size=5, max_frequency=2), {}),
    "dncnn_d4_bn": ("dncnn", NetSpec("D4", width=2, depth=3, kernel_size=3, batch_norm=True), {}),
    "dncnn_c4_alias_free": ("dncnn", NetSpec("C4", width=2, depth=3, kernel_size=3, activation="relu_aa"), {}),
    "dncnn_plain": ("dncnn", NetSpec("C1", width=2, depth=3, kernel_size=3), {}),
}


class Head(torch.nn.Module):
    """A user's model holding an equinet network as a submodule."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.scale = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        return self.scale * self.net(x) + x


def script(m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript's notes on the fx graph's annotations
        return torch.jit.script(m)


@pytest.mark.parametrize("name", list(SPECS))
def test_scripted_network_computes_the_same_function(name):
    kind, spec, kw = SPECS[name]
    torch.manual_seed(0)
    net = build(kind, spec, **kw)
    with torch.no_grad():  # non-trivial batch-norm statistics
        net.train()
        net(torch.randn(4, 1, 16, 16))
    net.eval()
    x = torch.randn(2, 1, 16, 16)
    ref = net(x)
    for m in (net, net.export()):
        torch.testing.assert_close(script(m)(x), ref, rtol=1e-5, atol=1e-5)
    assert not any(type(m).__module__.startswith("torch.fx") for m in net.modules())  # net itself untouched
    holder = Head(copy.deepcopy(net)).eval()
    scripted = script(holder)
    assert not type(holder.net).__module__.startswith("equinet")  # TorchScript prepared the submodule in place
    torch.testing.assert_close(scripted(x), holder(x), rtol=1e-5, atol=1e-5)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch 2.13 recommends torch.export over jit.save/load
        torch.jit.save(scripted, buf)
        buf.seek(0)
        loaded = torch.jit.load(buf)
    torch.testing.assert_close(loaded(x), ref * 0.5 + x, rtol=1e-5, atol=1e-5)
