import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from equinet.metrics import mse, psnr, ssim


def _pair(b=3, c=1, h=32, w=27, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    ref = torch.rand(b, c, h, w, generator=g, dtype=dtype)
    # a smooth-ish reference (SSIM is uninformative on white noise) plus noise of varying strength
    ref = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(ref, (2, 2, 2, 2), mode="reflect"), 5, stride=1)
    x = ref + torch.linspace(0.02, 0.3, b, dtype=dtype).view(b, 1, 1, 1) * torch.randn(ref.shape, generator=g,
                                                                                        dtype=dtype)
    return x, ref


def _sk_ssim(x, ref, data_range):
    x, ref = x.numpy(), ref.numpy()
    kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=data_range)
    if x.shape[0] == 1:
        return structural_similarity(x[0], ref[0], **kw)
    return structural_similarity(x, ref, channel_axis=0, **kw)


@pytest.mark.parametrize("c,h,w", [(1, 32, 27), (2, 11, 11), (3, 40, 64)])
def test_psnr_ssim_match_skimage(c, h, w):
    x, ref = _pair(b=4, c=c, h=h, w=w, seed=c * 100 + h)
    p, s = psnr(x, ref, data_range=1.0), ssim(x, ref, data_range=1.0)
    assert p.shape == (4,) and s.shape == (4,)
    for i in range(4):
        assert abs(float(p[i]) - peak_signal_noise_ratio(ref[i].numpy(), x[i].numpy(), data_range=1.0)) < 1e-4
        assert abs(float(s[i]) - _sk_ssim(x[i], ref[i], 1.0)) < 1e-4
    # the metrics are informative: noisier images (higher index) score lower
    assert bool((p[1:] < p[:-1]).all()) and float(s[0]) > float(s[-1])


def test_data_range_none_is_reference_range_and_float32():
    x, ref = _pair(b=2, seed=3)
    ref = ref * 3 - 1  # range not [0, 1]
    x = x * 3 - 1
    for i in range(2):
        r = float(ref[i].max() - ref[i].min())
        assert abs(float(psnr(x, ref)[i]) - peak_signal_noise_ratio(ref[i].numpy(), x[i].numpy(), data_range=r)) < 1e-4
        assert abs(float(ssim(x, ref)[i]) - _sk_ssim(x[i], ref[i], r)) < 1e-4
    # float32 inputs: float32 outputs, same values to 1e-4
    p32, s32 = psnr(x.float(), ref.float(), 2.0), ssim(x.float(), ref.float(), 2.0)
    assert p32.dtype == torch.float32 and s32.dtype == torch.float32
    assert torch.allclose(p32.double(), psnr(x, ref, 2.0), atol=1e-4)
    assert torch.allclose(s32.double(), ssim(x, ref, 2.0), atol=1e-4)


def test_per_image_data_range_tensor_and_single_image():
    x, ref = _pair(b=3, seed=5)
    dr = torch.tensor([1.0, 2.0, 0.5])
    p = psnr(x, ref, dr)
    for i in range(3):
        assert abs(float(p[i]) - float(psnr(x[i], ref[i], float(dr[i])))) < 1e-10
    assert psnr(x[0, 0], ref[0, 0], 1.0).dim() == 0
    assert abs(float(ssim(x[0], ref[0], 1.0)) - float(ssim(x[:1], ref[:1], 1.0)[0])) < 1e-12


def test_identical_images():
    _, ref = _pair(b=2)
    assert torch.isinf(psnr(ref, ref, 1.0)).all()
    assert torch.allclose(ssim(ref, ref, 1.0), torch.ones(2, dtype=ref.dtype))
    assert torch.equal(mse(ref, ref), torch.zeros(2, dtype=ref.dtype))


def test_psnr_formula():
    ref = torch.zeros(1, 1, 4, 4)
    x = torch.full((1, 1, 4, 4), 0.1)
    assert abs(float(psnr(x, ref, 1.0)) - 20.0) < 1e-5  # 10 log10(1 / 0.01)


def test_bad_inputs():
    x, ref = _pair(b=2)
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, ref[:1])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(x[..., :10, :10], ref[..., :10, :10], 1.0)
    with pytest.raises(ValueError, match="data_range"):
        psnr(x, torch.zeros_like(ref))  # constant reference: range 0
    with pytest.raises(ValueError, match="data_range"):
        psnr(x, ref, -1.0)
    with pytest.raises(ValueError, match="one entry per image"):
        psnr(x, ref, torch.ones(3))
    with pytest.raises(TypeError):
        psnr(np.zeros((4, 4)), ref)
    with pytest.raises(TypeError):
        psnr(torch.zeros(2, 1, 4, 4, dtype=torch.complex64), torch.zeros(2, 1, 4, 4, dtype=torch.complex64))
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        psnr(torch.zeros(5), torch.zeros(5))
