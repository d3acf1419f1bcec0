"""The operators on a CUDA device (run where CUDA exists, skipped with the reason elsewhere): the same numbers as
on the CPU, the precision rule (float16/bfloat16 computed in float32, cast back), autocast disabled inside, and a
CPU-built operator used on CUDA inputs without being moved (tables are cached per device)."""
import pytest
import torch

from equinet import physics as P

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (the GPU path)")


def operators():
    return [P.Radon(16, angles=8), P.Radon(16, angles=8, circle=False), P.MRI(16, acceleration=3),
            P.Inpainting(16, drop=0.3), P.Blur(P.gaussian_kernel(1.0)), P.CompressedSensing(16, m=60),
            P.SinglePixel(16, m=60)]


@pytest.mark.parametrize("k", range(7))
def test_cuda_matches_cpu_and_follows_the_precision_rule(k):
    op = operators()[k]
    x = torch.rand(3, op.channels or 1, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    xc = x.cuda()
    y, yc = op(x), op(xc)
    assert yc.device.type == "cuda"
    torch.testing.assert_close(yc.cpu(), y, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(op.adjoint(yc).cpu(), op.adjoint(y), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(op.pinv(yc).cpu(), op.pinv(y), rtol=1e-8, atol=1e-8)
    for low in (torch.float16, torch.bfloat16):
        xl = xc.to(low)
        out = op(xl)
        assert out.dtype == low and out.device.type == "cuda"
        torch.testing.assert_close(out, op(xl.float()).to(low), rtol=0, atol=0)
    with torch.autocast("cuda", dtype=torch.float16):
        out = op(xc.float())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, op(xc.float()), rtol=0, atol=0)


def test_cuda_noise_is_the_cpu_noise_for_the_same_generator():
    op = P.Radon(16, angles=8, noise=P.GaussianNoise(0.1))
    x = torch.rand(2, 1, 16, 16)
    y = op.measure(x, torch.Generator().manual_seed(3))
    yc = op.measure(x.cuda(), torch.Generator().manual_seed(3))
    torch.testing.assert_close(yc.cpu(), y, rtol=1e-5, atol=1e-5)
