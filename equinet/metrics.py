"""Image-quality metrics on batches: PSNR and SSIM, one value per image.

Both take ``x`` (estimate) and ``ref`` (ground truth) of shape ``[B, C, H, W]`` (or ``[C, H, W]`` / ``[H, W]``
for a single image) and return a tensor ``[B]`` (a 0-d tensor for a single image) in the promoted floating
dtype of the inputs; the arithmetic is done in float64. ``data_range`` (the peak-to-peak range of the signal)
is a number, a tensor ``[B]``, or ``None`` for the per-image range of ``ref`` (``ref.max() - ref.min()``).

They reproduce scikit-image: ``psnr`` matches ``peak_signal_noise_ratio`` and ``ssim`` matches
``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=...)``
(Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, a 5-pixel border excluded, channels
averaged).
"""
from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

__all__ = ["psnr", "ssim", "mse"]

_SSIM_SIGMA = 1.5
_SSIM_RADIUS = 5  # int(3.5 * 1.5 + 0.5): scikit-image's truncate=3.5 -> an 11-tap window
_K1, _K2 = 0.01, 0.03


def _as_batch(x, ref):
    for name, t in (("x", x), ("ref", ref)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.uint8, torch.int16, torch.int32,
                                                                        torch.int64)):
            raise TypeError(f"{name} must be a real tensor, got dtype {t.dtype}")
    if x.shape != ref.shape:
        raise ValueError(f"x and ref must have the same shape, got {tuple(x.shape)} and {tuple(ref.shape)}")
    if x.dim() not in (2, 3, 4):
        raise ValueError(f"expected images [B, C, H, W], [C, H, W] or [H, W], got shape {tuple(x.shape)}")
    single = x.dim() < 4
    out_dtype = torch.promote_types(x.dtype, ref.dtype)
    if not out_dtype.is_floating_point:
        out_dtype = torch.get_default_dtype()
    while x.dim() < 4:
        x, ref = x.unsqueeze(0), ref.unsqueeze(0)
    if x.numel() == 0:
        raise ValueError(f"empty images: shape {tuple(x.shape)}")
    return x.detach().double(), ref.detach().to(x.device).double(), single, out_dtype


def _data_range(data_range, ref: torch.Tensor) -> torch.Tensor:
    b = ref.shape[0]
    if data_range is None:
        flat = ref.reshape(b, -1)
        r = flat.amax(dim=1) - flat.amin(dim=1)
    elif isinstance(data_range, torch.Tensor):
        r = data_range.detach().to(device=ref.device, dtype=torch.float64).reshape(-1)
        if r.numel() == 1:
            r = r.expand(b)
        elif r.numel() != b:
            raise ValueError(f"data_range must be a number or have one entry per image ({b}), got {r.numel()}")
    elif isinstance(data_range, numbers.Real) and not isinstance(data_range, bool):
        r = torch.full((b,), float(data_range), dtype=torch.float64, device=ref.device)
    else:
        raise TypeError(f"data_range must be None, a number or a tensor, got {type(data_range).__name__}")
    if not bool(torch.isfinite(r).all()) or bool((r <= 0).any()):
        raise ValueError(f"data_range must be finite and > 0 (a constant reference has range 0: pass data_range "
                         f"explicitly), got {r.tolist()}")
    return r


def mse(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image, ``[B]``."""
    x, ref, single, dtype = _as_batch(x, ref)
    out = (x - ref).pow(2).reshape(x.shape[0], -1).mean(dim=1)
    return (out[0] if single else out).to(dtype)


def psnr(x: torch.Tensor, ref: torch.Tensor, data_range=None) -> torch.Tensor:
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB per image (``inf`` if ``x == ref``)."""
    x, ref, single, dtype = _as_batch(x, ref)
    r = _data_range(data_range, ref)
    err = (x - ref).pow(2).reshape(x.shape[0], -1).mean(dim=1)
    out = 10.0 * torch.log10(r.pow(2) / err)  # err == 0 gives +inf, as scikit-image
    return (out[0] if single else out).to(dtype)


def _gaussian_window(device) -> torch.Tensor:
    t = torch.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=torch.float64, device=device)
    w = torch.exp(-0.5 * (t / _SSIM_SIGMA) ** 2)
    return w / w.sum()


def _blur_valid(z: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter keeping only the pixels whose window lies inside the image."""
    n = z.shape[0] * z.shape[1]
    z = z.reshape(n, 1, *z.shape[-2:])
    z = F.conv2d(z, w.view(1, 1, -1, 1))
    return F.conv2d(z, w.view(1, 1, 1, -1))


def ssim(x: torch.Tensor, ref: torch.Tensor, data_range=None) -> torch.Tensor:
    """Structural similarity per image (mean SSIM over the pixels at least 5 px from the border, averaged over
    channels). Images must be at least 11 x 11."""
    x, ref, single, dtype = _as_batch(x, ref)
    b, c, h, w_ = x.shape
    k = 2 * _SSIM_RADIUS + 1
    if h < k or w_ < k:
        raise ValueError(f"ssim needs images of at least {k}x{k} pixels (the Gaussian window), got {h}x{w_}")
    r = _data_range(data_range, ref).view(b, 1, 1, 1)
    c1, c2 = (_K1 * r) ** 2, (_K2 * r) ** 2
    win = _gaussian_window(x.device)
    stack = torch.cat([x, ref, x * x, ref * ref, x * ref], dim=1)  # [B, 5C, H, W]
    f = _blur_valid(stack, win).reshape(b, 5 * c, h - k + 1, w_ - k + 1)
    ux, uy, uxx, uyy, uxy = f.split(c, dim=1)
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    out = s.mean(dim=(2, 3)).mean(dim=1)
    return (out[0] if single else out).to(dtype)

