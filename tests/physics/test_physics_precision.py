"""The precision rule of equinet.physics: float16/bfloat16 inputs are computed in float32 and cast back, autocast is
disabled inside the operators, empty batches work everywhere, other dtypes raise a TypeError."""
import pytest
import torch

from equinet import physics as P

LOW = [torch.float16, torch.bfloat16]


def operators():
    return {
        "radon": P.Radon(12, angles=6),
        "radon_full": P.Radon(12, angles=6, circle=False),
        "mri": P.MRI(12, acceleration=3),
        "inpainting": P.Inpainting(12, drop=0.3),
        "blur": P.Blur(P.gaussian_kernel(1.0)),
        "blur_zeros": P.Blur(P.gaussian_kernel(1.0), padding="zeros", image_size=12),
        "denoising": P.Denoising(),
        "cs": P.CompressedSensing(12, m=40),
        "single_pixel": P.SinglePixel(16, m=40),
    }


NAMES = list(operators())


def image(op, b=2, dtype=torch.float32):
    n = 16 if isinstance(op, P.SinglePixel) else 12
    return torch.rand(b, op.channels or 1, n, n, generator=torch.Generator().manual_seed(0)).to(dtype)


CALLS = {
    "forward": lambda op, x: op(x),
    "adjoint": lambda op, x: op.adjoint(op(x)),
    "pinv": lambda op, x: op.pinv(op(x)),
    "measure": lambda op, x: op.measure(x, torch.Generator().manual_seed(1)),
    "data_fidelity": lambda op, x: op.data_fidelity(x, op(x) * 0.5),
    "grad_data_fidelity": lambda op, x: op.grad_data_fidelity(x, op(x) * 0.5),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", LOW, ids=["fp16", "bf16"])
def test_reduced_precision_is_computed_in_float32_and_cast_back(name, dtype):
    op = operators()[name]
    x = image(op, dtype=dtype)
    y = op(x) * 0.5
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    # each method on (rounded) reduced-precision inputs = the float32 computation on the same values, rounded once
    pairs = [(op(x), op(x.float())), (op.adjoint(y), op.adjoint(y.float())), (op.pinv(y), op.pinv(y.float())),
             (op.measure(x, g()), op.measure(x.float(), g())),
             (op.data_fidelity(x, y), op.data_fidelity(x.float(), y.float())),
             (op.grad_data_fidelity(x, y), op.grad_data_fidelity(x.float(), y.float()))]
    for k, (out, ref) in enumerate(pairs):
        assert out.dtype == dtype and torch.equal(out, ref.to(dtype)), k


@pytest.mark.parametrize("name", NAMES)
def test_operators_ignore_autocast(name):
    op = operators()[name]
    x = image(op)
    plain = {k: f(op, x) for k, f in CALLS.items()}
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for k, f in CALLS.items():
            out = f(op, x)
            assert out.dtype == torch.float32 and torch.equal(out, plain[k]), k


@pytest.mark.parametrize("name", NAMES)
def test_empty_batches(name):
    op = operators()[name]
    x = image(op, b=0)
    y = op(x)
    assert y.shape[0] == 0
    for out in (op.adjoint(y), op.pinv(y), op.measure(x)):
        assert out.shape[0] == 0
    assert op.adjoint(y).shape[1:] == x.shape[1:]
    if isinstance(op, P.Radon):
        assert op.fbp(y).shape == x.shape


def test_fbp_in_reduced_precision_and_other_dtypes_refused():
    op = P.Radon(12, angles=6)
    y = op(image(op))
    assert torch.equal(op.fbp(y.bfloat16(), "hann"), op.fbp(y.bfloat16().float(), "hann").bfloat16())
    for bad in (torch.int64, torch.complex64):
        with pytest.raises(TypeError, match="real floating-point"):
            op(image(op).to(bad))
