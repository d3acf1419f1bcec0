"""Networks under ``torch.autocast("cpu", dtype=torch.bfloat16)``: convolutions run in bfloat16 (autocast casts the
steerable filters), equivariant batch norm computes its statistics in float32, outputs stay within bfloat16
rounding of the float32 network, and gradients are finite. Outside autocast a dtype mismatch is still refused."""
import pytest
import torch

from equinet.nets import NetSpec, build

CASES = {
    "dncnn_c8": ("dncnn", NetSpec("C8", width=2, depth=3, kernel_size=3), {}),
    "unet_c4": ("unet", NetSpec("C4", width=2, depth=1, kernel_size=3), {"scales": 2}),
    "dncnn_d4_bn_aa": ("dncnn", NetSpec("D4", width=2, depth=3, kernel_size=5, batch_norm=True,
                                        activation="relu_aa"), {}),
    "dncnn_so2_bn": ("dncnn", NetSpec("SO2", width=2, depth=3, kernel_size=5, batch_norm=True), {}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bf16_autocast_training_step(name):
    kind, spec, kw = CASES[name]
    torch.manual_seed(0)
    net = build(kind, spec, **kw)
    x = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    ref = net(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(x)
        conv = next(m for m in net.modules() if type(m).__name__ == "SteerableConv2d")
        assert conv(torch.randn(1, conv.in_type.size, 8, 8)).dtype == torch.bfloat16
    assert float((out.float() - ref).abs().max() / ref.abs().max()) < 3e-2
    out.float().pow(2).mean().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())
    assert any(p.grad is not None and float(p.grad.abs().max()) > 0 for p in net.parameters())


def test_dtype_mismatch_outside_autocast_is_refused():
    net = build("dncnn", NetSpec("C4", width=2, depth=3, kernel_size=3))
    with pytest.raises(TypeError, match="the input is torch.bfloat16 but the layer is torch.float32"):
        net(torch.randn(1, 1, 8, 8).bfloat16())
