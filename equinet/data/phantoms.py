"""Ellipse phantoms: random (rotation-invariant distribution) and Shepp-Logan.

Coordinates follow ``docs/conventions.md``: pixel ``(row, col)`` is the point ``x = col - (W - 1) / 2``,
``y = (H - 1) / 2 - row`` (y up), angles counter-clockwise. Ellipse parameters are given in units of
``min(H, W) / 2`` pixels, so the unit disk is the inscribed circle of the image.

Edges are anti-aliased with a one-pixel linear ramp on a first-order signed distance to the ellipse
boundary. Every pixel value is a function of the continuous position of the pixel centre only, so the
random field is exactly as rotation invariant as its parameter distribution, and the images are exactly
invariant in distribution under the symmetries of the pixel grid (90-degree rotations and flips).
"""

from __future__ import annotations

import math
import numbers
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ..utils.checks import check_image_size as _size
from ..utils.checks import check_memory, check_nonnegative_int
from ..utils.seeding import check_seed
from .registry import DATASETS

__all__ = ["random_ellipses", "EllipsePhantoms", "shepp_logan", "render_ellipses", "rotate_ellipses",
           "align_ellipses", "SHEPP_LOGAN_MODIFIED", "SHEPP_LOGAN_ORIGINAL"]

# (intensity, semi-axis along the ellipse's own x, semi-axis along its y, centre x, centre y, angle in degrees)
# Shepp & Logan (1974), with the higher-contrast intensities of Toft (1996) for the "modified" version.
_SL_GEOMETRY = [
    (0.69, 0.92, 0.0, 0.0, 0.0),
    (0.6624, 0.8740, 0.0, -0.0184, 0.0),
    (0.1100, 0.3100, 0.22, 0.0, -18.0),
    (0.1600, 0.4100, -0.22, 0.0, 18.0),
    (0.2100, 0.2500, 0.0, 0.35, 0.0),
    (0.0460, 0.0460, 0.0, 0.1, 0.0),
    (0.0460, 0.0460, 0.0, -0.1, 0.0),
    (0.0460, 0.0230, -0.08, -0.605, 0.0),
    (0.0230, 0.0230, 0.0, -0.606, 0.0),
    (0.0230, 0.0460, 0.06, -0.605, 0.0),
]
SHEPP_LOGAN_MODIFIED = [(v,) + g for v, g in zip([1.0, -0.8, -0.2, -0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], _SL_GEOMETRY)]
SHEPP_LOGAN_ORIGINAL = [(v,) + g for v, g in zip([1.0, -0.98, -0.02, -0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
                                                  _SL_GEOMETRY)]


_MAX_ATTEMPTS = 100


def _range(value, name: str, low: float = -math.inf, high: float = math.inf) -> Tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a pair (min, max) of numbers, got {value!r}") from err
    if not (low <= a <= b <= high):
        raise ValueError(f"{name} must satisfy {low} <= min <= max <= {high}, got {value!r}")
    return a, b


def render_ellipses(params, image_size) -> torch.Tensor:
    """Render sums of anti-aliased ellipses.

    ``params`` (tensor or array) has shape ``[n, K, 6]`` with rows ``(intensity, a, b, x0, y0, angle_rad)`` in
    units of ``min(H, W) / 2`` pixels (rows with intensity 0 are ignored); returns the float64 sums
    ``[n, H, W]`` (not clipped). Computed with NumPy (single-threaded, so data loading does not compete with
    torch's thread pool).
    """
    h, w = _size(image_size)
    if isinstance(params, torch.Tensor):
        params = params.detach().cpu().to(torch.float64).numpy()
    params = np.asarray(params, dtype=np.float64)
    if params.ndim != 3 or params.shape[-1] != 6:
        raise ValueError(f"params must have shape [n, K, 6], got {tuple(params.shape)}")
    scale = min(h, w) / 2.0
    ys = ((h - 1) / 2.0 - np.arange(h, dtype=np.float64))[:, None]  # [H, 1]
    xs = (np.arange(w, dtype=np.float64) - (w - 1) / 2.0)[None, :]  # [1, W]
    out = np.zeros((params.shape[0], h, w))
    k = max(1, params.shape[1])
    chunk = max(1, 2**21 // (k * h * w))  # bounded temporaries: ~16 MB per float64 array
    for i0 in range(0, params.shape[0], chunk):
        amp, a, b, x0, y0, ang = (params[i0:i0 + chunk, :, j, None, None] for j in range(6))  # [m, K, 1, 1]
        a_px = np.maximum(a * scale, 1e-12)
        b_px = np.maximum(b * scale, 1e-12)
        dx = xs - x0 * scale
        dy = ys - y0 * scale
        c, s = np.cos(ang), np.sin(ang)
        u = dx * c + dy * s  # coordinates along the ellipse's own axes (pixels), [m, K, H, W]
        v = dy * c - dx * s
        rho = np.sqrt((u / a_px) ** 2 + (v / b_px) ** 2)  # 1 on the boundary
        # |grad rho| = sqrt((u / a^2)^2 + (v / b^2)^2) / rho; signed distance ~ (rho - 1) / |grad rho|
        grad = np.sqrt((u / a_px**2) ** 2 + (v / b_px**2) ** 2) / np.maximum(rho, 1e-12)
        inside = np.clip(0.5 - (rho - 1.0) / np.maximum(grad, 1e-12), 0.0, 1.0)
        inside[rho < 0.5] = 1.0
        out[i0:i0 + chunk] = (amp * inside).sum(axis=1)
    return torch.from_numpy(out)


def _disk_mask(h: int, w: int, radius_px: float) -> torch.Tensor:
    ys = ((h - 1) / 2.0 - np.arange(h, dtype=np.float64))[:, None]
    xs = (np.arange(w, dtype=np.float64) - (w - 1) / 2.0)[None, :]
    return torch.from_numpy((xs**2 + ys**2 <= radius_px**2).astype(np.float64))


def _ellipse_params(rng: np.random.Generator, n_ellipses: Tuple[int, int], axes: Tuple[float, float],
                    intensity: Tuple[float, float], support: float) -> np.ndarray:
    k = int(rng.integers(n_ellipses[0], n_ellipses[1] + 1))
    out = np.zeros((n_ellipses[1], 6))
    a = rng.uniform(axes[0], axes[1], k)
    b = rng.uniform(axes[0], axes[1], k)
    ang = rng.uniform(0.0, 2 * np.pi, k)
    # centre uniform (by area) in the disk that keeps the whole ellipse inside the support disk
    r = (support - np.maximum(a, b)) * np.sqrt(rng.uniform(0.0, 1.0, k))
    psi = rng.uniform(0.0, 2 * np.pi, k)
    amp = rng.uniform(intensity[0], intensity[1], k)
    out[:k] = np.stack((amp, a, b, r * np.cos(psi), r * np.sin(psi), ang), axis=1)
    return out


class EllipsePhantoms(Dataset):
    """Dataset of random ellipse phantoms ``[1, H, W]`` in [0, 1] whose distribution is rotation invariant.

    Item ``i`` is a deterministic function of ``(seed, i)`` (independent of access order). Each image is the
    sum of ``K ~ U{n_ellipses}`` ellipses with semi-axes ``~ U(axes)``, orientation ``~ U[0, 2 pi)``, intensity
    ``~ U(intensity)`` and centre uniform in the disk of radius ``support - max(a, b)`` (so every ellipse lies
    in the disk of radius ``support``), clipped to [0, 1] and multiplied by the disk of radius
    ``min(support * min(H, W) / 2, min(H, W) / 2 - 1)`` pixels: the support is inside the inscribed circle, as
    ``Radon(circle=True)`` assumes (also for scikit-image's pixel-centre convention).
    Lengths are in units of ``min(H, W) / 2`` pixels.
    """

    n: int
    image_size: Tuple[int, int]
    seed: int
    n_ellipses: Tuple[int, int]
    support: float
    axes: Tuple[float, float]
    intensity: Tuple[float, float]
    dtype: torch.dtype
    _mask: torch.Tensor

    def __init__(self, n: int, image_size, seed: int = 0, n_ellipses: Sequence[int] = (3, 8),
                 axes: Sequence[float] = (0.05, 0.45), intensity: Sequence[float] = (-0.4, 1.0),
                 support: float = 0.9, dtype: Optional[torch.dtype] = None):
        self.n = check_nonnegative_int(n, "n")
        self.image_size = _size(image_size)
        self.seed = check_seed(seed)
        try:
            k0, k1 = (int(v) for v in n_ellipses)
        except (TypeError, ValueError) as err:
            raise TypeError(f"n_ellipses must be a pair of ints (min, max), got {n_ellipses!r}") from err
        if not 1 <= k0 <= k1:
            raise ValueError(f"n_ellipses must satisfy 1 <= min <= max, got {n_ellipses!r}")
        if isinstance(support, bool) or not isinstance(support, numbers.Real) or not 0 < support <= 1:
            raise ValueError(f"support must be in (0, 1], got {support!r}")
        self.n_ellipses = (k0, k1)
        self.support = float(support)
        self.axes = _range(axes, "axes", 0.0, self.support)
        if self.axes[0] <= 0 or self.axes[1] >= self.support:
            raise ValueError(f"axes must satisfy 0 < min <= max < support = {self.support}, got {axes!r}")
        self.intensity = _range(intensity, "intensity")
        if self.intensity[1] <= 0:
            raise ValueError(f"intensity must reach above 0 (images are clipped to [0, 1], so phantoms of "
                             f"intensities {self.intensity} would all be blank)")
        self.dtype = torch.get_default_dtype() if dtype is None else dtype
        h, w = self.image_size
        self._mask = _disk_mask(h, w, min(self.support * min(h, w) / 2.0, min(h, w) / 2.0 - 1.0))

    def __len__(self) -> int:
        return self.n

    def params(self, index: int) -> torch.Tensor:
        """Ellipse parameters ``[K_max, 6]`` (intensity, a, b, x0, y0, angle_rad) of item ``index``."""
        return self._draw(self._index(index))[0]

    def _draw(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Parameters and image of item ``index``. An image that would be all zero (every ellipse clipped away,
        about 1 draw in 130 with the default intensities) is redrawn from ``(seed, index, 0, attempt)``, so no item
        is blank and the others keep their ``(seed, index)`` draw."""
        for attempt in range(_MAX_ATTEMPTS):
            rng = np.random.default_rng([self.seed, index] if attempt == 0 else [self.seed, index, 0, attempt])
            params = torch.from_numpy(_ellipse_params(rng, self.n_ellipses, self.axes, self.intensity, self.support))
            image = self.render_params(params[None])[0]
            if bool(image.any()):
                return params, image
        raise RuntimeError(f"EllipsePhantoms: item {index} is blank after {_MAX_ATTEMPTS} draws; the intensity range "
                           f"{self.intensity} or the image size {self.image_size} leaves nothing visible")

    def all_params(self) -> torch.Tensor:
        """Ellipse parameters ``[n, K_max, 6]`` of every item (edit them, e.g. with `rotate_ellipses`, and
        render the result with `render_params`)."""
        if self.n == 0:
            return torch.zeros(0, self.n_ellipses[1], 6, dtype=torch.float64)
        return torch.stack([self.params(i) for i in range(self.n)])

    def _index(self, index) -> int:
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        i = int(index) + (self.n if index < 0 else 0)
        if not 0 <= i < self.n:
            raise IndexError(f"index {index} out of range for {self.n} phantoms")
        return i

    def render(self, indices: Sequence[int]) -> torch.Tensor:
        """Images ``[len(indices), 1, H, W]`` for the given item indices."""
        idx = [self._index(i) for i in indices]
        if not idx:
            return torch.zeros((0, 1) + self.image_size, dtype=self.dtype)
        return torch.stack([self._draw(i)[1] for i in idx])

    def render_params(self, params) -> torch.Tensor:
        """Images ``[n, 1, H, W]`` of any ellipse parameters ``[n, K, 6]`` (e.g. exactly rotated copies of this
        dataset's items), rendered as the items are: clipped to [0, 1] and masked by the support disk."""
        img = render_ellipses(params, self.image_size).clamp(0.0, 1.0) * self._mask
        return img[:, None].to(self.dtype)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.render([index])[0]


def random_ellipses(n: int, image_size, seed: int = 0, **kwargs) -> torch.Tensor:
    """``n`` random ellipse phantoms as a tensor ``[n, 1, H, W]`` in [0, 1] (see `EllipsePhantoms`).

    ``random_ellipses(n, s, seed)[i]`` equals ``EllipsePhantoms(m, s, seed)[i]`` for every ``m > i``.
    """
    ds = EllipsePhantoms(n, image_size, seed, **kwargs)
    h, w = ds.image_size
    check_memory(2 * 4.0 * ds.n * h * w, f"{ds.n} phantoms of {h}x{w} pixels")
    chunks = [ds.render(range(i, min(i + 256, ds.n))) for i in range(0, ds.n, 256)]
    return torch.cat(chunks) if chunks else ds.render([])


def _check_params(params) -> torch.Tensor:
    params = torch.as_tensor(params, dtype=torch.float64)
    if params.dim() != 3 or params.shape[-1] != 6:
        raise ValueError(f"ellipse parameters must have shape [n, K, 6], got {tuple(params.shape)}")
    return params


def rotate_ellipses(params, angles) -> torch.Tensor:
    """Ellipse parameters ``[n, K, 6]`` rotated counter-clockwise about the image centre by ``angles`` (radians,
    one per phantom): centres are rotated and each ellipse's own angle increased, so rendering the result is an
    exact rotation of the phantom (no interpolation)."""
    params = _check_params(params)
    angles = torch.as_tensor(angles, dtype=torch.float64).reshape(-1, 1)
    if angles.shape[0] != params.shape[0]:
        raise ValueError(f"expected one angle per phantom ({params.shape[0]}), got {angles.shape[0]}")
    c, s = torch.cos(angles), torch.sin(angles)
    out = params.clone()
    x0, y0 = params[..., 3], params[..., 4]
    out[..., 3] = c * x0 - s * y0
    out[..., 4] = s * x0 + c * y0
    out[..., 5] = params[..., 5] + angles
    return out


def align_ellipses(params, seed: int, jitter_deg: float = 10.0) -> torch.Tensor:
    """Ellipse parameters ``[n, K, 6]`` with every ellipse's angle replaced by a uniform draw in
    ``[-jitter_deg, jitter_deg]`` degrees (phantom ``i`` drawn from ``(seed, i)``): the axes lie along the pixel
    grid, so the distribution is invariant only to 90-degree turns and flips (not to arbitrary rotations)."""
    params = _check_params(params).clone()
    seed = check_seed(seed)
    if isinstance(jitter_deg, bool) or not isinstance(jitter_deg, numbers.Real) or not 0 <= jitter_deg <= 180:
        raise ValueError(f"jitter_deg must be a number in [0, 180], got {jitter_deg!r}")
    for i in range(params.shape[0]):
        rng = np.random.default_rng([seed, i, 1])
        params[i, :, 5] = torch.from_numpy(np.deg2rad(rng.uniform(-jitter_deg, jitter_deg, params.shape[1])))
    return params


def shepp_logan(image_size, modified: bool = True, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Shepp-Logan head phantom ``[1, 1, H, W]`` rendered analytically from its ellipse table, clipped to [0, 1].

    ``modified=True`` uses Toft's higher-contrast intensities (as scikit-image's ``shepp_logan_phantom``);
    ``modified=False`` the original low-contrast ones (skull 1, brain 0.02). The head's unit
    disk is the inscribed circle; pixels farther than ``min(H, W) / 2 - 1`` from the centre are set to 0.
    """
    h, w = _size(image_size)
    table = SHEPP_LOGAN_MODIFIED if modified else SHEPP_LOGAN_ORIGINAL
    params = torch.tensor([[v, a, b, x0, y0, math.radians(deg)] for v, a, b, x0, y0, deg in table],
                          dtype=torch.float64)[None]
    img = render_ellipses(params, (h, w)).clamp(0.0, 1.0) * _disk_mask(h, w, min(h, w) / 2.0 - 1.0)
    return img[None].to(torch.get_default_dtype() if dtype is None else dtype)


@DATASETS.register("ellipses")
def ellipse_images(n: int, image_size, seed: int = 0, grayscale: bool = True) -> torch.Tensor:
    """``random_ellipses(n, image_size, seed)`` (one channel: ``grayscale`` is moot), the ``ellipses`` dataset."""
    return random_ellipses(n, image_size, seed=seed)
