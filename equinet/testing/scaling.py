"""Scaling equivariance f(c·x) = c·f(x), c > 0: the symmetry of bias-free ReLU / LeakyReLU networks (positively
1-homogeneous), which makes denoisers robust to unseen noise levels (Fig. 6 of the imaging paper)."""
from __future__ import annotations

import math
import numbers

import torch

from . import _fields as fld
from ._common import (
    PreparedModule,
    describe,
    input_channels,
    measure,
    positive_int,
    raise_on_failures,
    resolve_sizes,
    resolve_type,
)
from .report import EquivarianceReport, ReportRow


def _scales(scales) -> list[float]:
    try:
        scales = list(scales)
    except TypeError:
        raise TypeError(f"scales must be a sequence of positive numbers, got {scales!r}") from None
    if not scales:
        raise ValueError("scales is empty: nothing to check")
    for c in scales:
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not math.isfinite(c) or c <= 0:
            raise ValueError(f"scales must be finite numbers > 0, got {c!r}")
    return [float(c) for c in scales]


def check_scaling_equivariance(module, scales=(0.1, 0.5, 2, 10), *, in_type=None, channels: int | None = None,
                               x: torch.Tensor | None = None, image_size=33, batch: int = 2, seed: int = 0,
                               dtype: torch.dtype | None = torch.float64) -> EquivarianceReport:
    """Measure ‖f(c·x) − c·f(x)‖ / ‖c·f(x)‖ for each scale c > 0 (outputs of any shape).

    ``x``: the input (a tensor), or None for i.i.d. N(0, 1) images [batch, channels, size, size] (channels from
    ``in_type``, ``channels``, ``module.in_type`` or ``module.in_channels``). Module handling (eval mode, ``dtype``
    copy, no_grad) as in `equinet.testing.check_equivariance`.
    """
    cs = _scales(scales)
    if x is not None:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a real floating-point torch.Tensor, got "
                            f"{type(x).__name__ if not isinstance(x, torch.Tensor) else x.dtype}")
        inputs: list[tuple[int | None, torch.Tensor, str]] = [(None, x.detach().to(torch.float64), "given")]
    else:
        n_in = input_channels(module, resolve_type(in_type, "in_type"), channels)
        batch = positive_int(batch, "batch")
        inputs = [(S, fld.random_images(batch, n_in, S, seed + 7919 * S), "random") for S in resolve_sizes(image_size)]
    prep = PreparedModule(module, dtype)
    rows = []
    try:
        with torch.no_grad():
            for S, u, kind in inputs:
                y = prep(u)
                for c in cs:
                    rel, mx = measure(prep(c * u), c * y, None, f"the module {describe(module)} at scale {c:g}")
                    rows.append(ReportRow(c, None, None, True, S, kind, "all", rel, mx))
    finally:
        prep.restore()
    info = {"module": describe(module), "dtype": prep.dtype, "device": prep.device, "seed": seed}
    for i, note in enumerate(prep.notes):
        info[f"note {i + 1}"] = note
    protocol = ["f(c·x) compared with c·f(x) for each scale c > 0 over the whole output "
                "(positive 1-homogeneity: bias-free ReLU/LeakyReLU networks)",
                "x: the given tensor" if x is not None else "x: i.i.d. N(0, 1) images from a seeded generator"]
    return EquivarianceReport(f"scaling equivariance check of {describe(module)}", rows, protocol, info)


def assert_scaling_equivariant(module, scales=(0.1, 0.5, 2, 10), atol: float = 1e-5,
                               **kwargs) -> EquivarianceReport:
    """Raise AssertionError (with the report table) if any scale's relative error exceeds ``atol``."""
    report = check_scaling_equivariance(module, scales, **kwargs)
    return raise_on_failures(report, atol, None, f"{describe(module)} is not scaling-equivariant")
