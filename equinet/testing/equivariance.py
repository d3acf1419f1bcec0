"""Group equivariance and invariance checks of a module: ‖f(T_g x) − T_g f(x)‖ / ‖T_g f(x)‖ per element.

Protocol (``docs/testing.md``):

* grid-preserving elements (multiples of 90°, with or without the flip): i.i.d. N(0, 1) inputs, exact pixel
  permutation actions on both sides (`equinet.groups.act`), error over the full output — nothing is
  interpolated, so an equivariant module scores at float precision;
* other elements: a smooth analytic input (Gaussian blobs) sampled exactly at H_g⁻¹x, so the input is never
  interpolated; T_g f(x) is the band-limited 'fourier' action of w·f(x), compared with w·f(T_g x), where w is a
  smooth radial weight (so T_g(w·y) = w·T_g y exactly) that vanishes before the image border; the error is read on
  the central disk r <= 0.35·size, away from boundary effects.
"""
from __future__ import annotations

import torch

from ..groups.action import act
from ..nn.field_type import FieldType
from . import _fields as fld
from ._common import (
    PreparedModule,
    describe,
    element_fields,
    input_channels,
    measure,
    positive_int,
    raise_on_failures,
    resolve_elements,
    resolve_sizes,
    resolve_type,
)
from .report import EquivarianceReport, ReportRow

INPUTS = ("auto", "random", "smooth")
REGIONS = ("disk", "full")
OFFGRID_METHODS = ("auto", "fourier", "bilinear")
OUTPUTS = ("auto", "field", "vector")

PROTOCOL_RANDOM = ("random input: i.i.d. N(0, 1) x; T_g x and T_g f(x) by exact pixel-permutation actions "
                   "(equinet.groups.act); error over the full output")
PROTOCOL_SMOOTH = (f"smooth input: {fld.N_BLOBS} Gaussian blobs (σ {fld.SIGMA_PX[0]}–{fld.SIGMA_PX[1]} px, centres "
                   f"within {fld.CENTRE_RADIUS}·size, N(0, 1) amplitudes) sampled exactly at H_g⁻¹x: the input is "
                   "never interpolated")
PROTOCOL_OFFGRID = (f"off-grid elements: w·f(T_g x) compared with the '{{method}}' action of w·f(x), w(r) = "
                    f"exp(-(r/{fld.WEIGHT_RADIUS}·size)^{fld.WEIGHT_POWER}) (radial, so exact; 1 at the centre, 0.43 "
                    f"at the disk edge, 7e-4 at the border), on the disk r <= {fld.DISK_RADIUS}·size of the output")
PROTOCOL_OFFGRID_FULL = "off-grid elements: T_g f(x) = the '{method}' action of f(x); error over the full output"
PROTOCOL_VECTOR = "outputs compared directly (invariant vectors): ‖f(T_g x) − f(x)‖ / ‖f(x)‖"


def _check_choice(value, choices, name):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _input_kind(g, input: str) -> str:
    if input == "auto":
        return "random" if g.preserves_grid else "smooth"
    if input == "random" and not g.preserves_grid:
        raise ValueError(f"input='random' cannot be rotated by the off-grid element {g!r} without interpolating it; "
                         "use input='smooth' or 'auto'")
    return input


class _OutputAction:
    """How T_g acts on the module's output: as a field of ``rep`` (None: trivial) or not at all ('vector')."""

    def __init__(self, mode: str, rep, out_ft, method: str, region: str):
        self.mode, self.rep, self.out_ft, self.method, self.region = mode, rep, out_ft, method, region

    def validate(self, y, what: str) -> None:
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"{what} must return a torch.Tensor, got {type(y).__name__}")
        if self.mode == "auto":
            self.mode = "field" if y.dim() == 4 else "vector"
        if self.mode == "vector":
            return
        if y.dim() != 4 or y.shape[-1] != y.shape[-2]:
            raise ValueError(f"{what} returned shape {tuple(y.shape)}; rotating it needs a square image "
                             "[batch, channels, H, H]")
        if self.out_ft is not None and y.shape[1] != self.out_ft.size:
            raise ValueError(f"{what} returned {y.shape[1]} channels but out_type {self.out_ft} has "
                             f"{self.out_ft.size}")

    def __call__(self, g, y):
        """(weight or None, T_g(weight·y), mask or None, region label): compare weight·lhs with the second item."""
        if self.mode == "vector":
            return None, y, None, "all"
        if g.preserves_grid:
            return None, act(g, y, self.rep, method="exact"), None, "full"
        method = "fourier" if self.method == "auto" else self.method
        S = y.shape[-1]
        if self.region == "full":
            return None, act(g, y, self.rep, method=method), None, "full"
        w = fld.output_weight(S, dtype=y.dtype, device=y.device)
        mask = fld.disk_mask(S, S, device=y.device)
        return w, act(g, y * w, self.rep, method=method), mask, f"disk r<={fld.DISK_RADIUS * S:.4g}, w"

    def protocol(self, kinds: set[str], offgrid: bool) -> list[str]:
        lines = [PROTOCOL_RANDOM if k == "random" else PROTOCOL_SMOOTH for k in ("random", "smooth") if k in kinds]
        if self.mode == "vector":
            lines.append(PROTOCOL_VECTOR)
        elif offgrid:
            m = "fourier" if self.method == "auto" else self.method
            lines.append((PROTOCOL_OFFGRID_FULL if self.region == "full" else PROTOCOL_OFFGRID).format(method=m))
        return lines


def run_group_checks(fwd, elements, sizes, *, in_rep, channels: int, out: _OutputAction, input: str, seed: int,
                     batch: int, what: str) -> tuple[list[ReportRow], list[str]]:
    """Rows for every (size, element) in that order, and the protocol lines that apply."""
    kinds = {g: _input_kind(g, input) for g in elements}
    rows = []
    for S in sizes:
        results = {}
        for kind in ("random", "smooth"):
            els = [g for g in elements if kinds[g] == kind]
            if not els:
                continue
            if kind == "random":
                x = fld.random_images(batch, channels, S, seed + 7919 * S)
                transform = lambda g: act(g, x, in_rep, method="exact")  # noqa: E731
            else:
                field = fld.BlobField(batch, channels, S, seed + 7919 * S)
                x = field.sample()
                transform = lambda g: field.sample(g, in_rep)  # noqa: E731
            y = fwd(x)
            out.validate(y, what)
            for g in els:
                lhs = fwd(transform(g))
                out.validate(lhs, what)
                w, rhs, mask, region = out(g, y)
                rel, mx = measure(lhs if w is None else lhs * w, rhs, mask, f"{what} at {g!r}")
                results[g] = ReportRow(g, *element_fields(g), S, kind, region, rel, mx)
        rows += [results[g] for g in elements]
    offgrid = any(not g.preserves_grid for g in elements)
    return rows, out.protocol(set(kinds.values()), offgrid)


def _common_setup(module, in_type, out_type, elements, image_size, batch, input, method, region, channels,
                  n_elements):
    in_ft, out_ft = resolve_type(in_type, "in_type"), resolve_type(out_type, "out_type")
    if in_ft is not None and out_ft is not None and in_ft.group != out_ft.group:
        raise ValueError(f"in_type and out_type must share a group: {in_ft} vs {out_ft}")
    declared_out = getattr(module, "out_type", None)
    if out_ft is not None and isinstance(declared_out, FieldType) and declared_out != out_ft:
        raise ValueError(f"out_type {out_ft} differs from the module's declared out_type {declared_out}")
    group = in_ft.group if in_ft is not None else (out_ft.group if out_ft is not None else None)
    els = resolve_elements(elements, group, n_elements)
    sizes = resolve_sizes(image_size)
    batch = positive_int(batch, "batch")
    _check_choice(input, INPUTS, "input")
    _check_choice(method, OFFGRID_METHODS, "method")
    _check_choice(region, REGIONS, "region")
    for g in els:
        _input_kind(g, input)
    n_in = input_channels(module, in_ft, channels)
    return in_ft, out_ft, els, sizes, batch, n_in


def check_equivariance(module, in_type, out_type, elements=None, *, image_size=33, batch: int = 2,
                       input: str = "auto", seed: int = 0, method: str = "auto", region: str = "disk",
                       dtype: torch.dtype | None = torch.float64, channels: int | None = None,
                       n_elements: int = 8) -> EquivarianceReport:
    """Measure ‖f(T_g x) − T_g f(x)‖ / ‖T_g f(x)‖ for each element g (protocol: module docstring).

    Args:
        module: an nn.Module (checked in eval mode, as a ``dtype`` deep copy when possible, under no_grad; its
            train/eval flags are restored) or any callable on [batch, channels, H, W] tensors.
        in_type, out_type: `equinet.nn.FieldType` or Representation of the input / output channels; None
            means trivial on every channel (plain CNNs; the input channel count then comes from ``channels``,
            ``module.in_type`` or ``module.in_channels``).
        elements: None (every element of the types' group; ``G.testing_elements(n_elements)`` for SO(2)/O(2)), a
            group, an element, or a list of elements.
        image_size: side of the square test images, or a list of sides (e.g. ``(32, 33)``: even and odd).
        input: 'auto' (random for grid-preserving elements, smooth otherwise), 'random' (grid elements only) or
            'smooth'. method: the action on f(x) for off-grid elements ('auto' = 'fourier', or 'bilinear').
        region: where off-grid errors are read: 'disk' (r <= 0.35·size) or 'full'. Grid-preserving elements are
            always compared on the full output.
        dtype: precision of the check (float64 separates float error from equivariance error); None runs the
            module as it is.
    """
    in_ft, out_ft, els, sizes, batch, n_in = _common_setup(module, in_type, out_type, elements, image_size, batch,
                                                           input, method, region, channels, n_elements)
    out = _OutputAction("field", None if out_ft is None else out_ft.representation, out_ft, method, region)
    return _run(module, "equivariance", in_ft, out_ft, els, sizes, batch, n_in, out, input, seed, dtype)


def check_invariance(module, in_type, elements=None, *, output: str = "auto", image_size=33, batch: int = 2,
                     input: str = "auto", seed: int = 0, method: str = "auto", region: str = "disk",
                     dtype: torch.dtype | None = torch.float64, channels: int | None = None,
                     n_elements: int = 8) -> EquivarianceReport:
    """Measure the invariance of ``module``: ``output='field'`` compares f(T_g x) with T_g f(x) for a trivial
    (scalar) output field (the image still rotates); ``'vector'`` compares f(T_g x) with f(x) for outputs of any
    shape (pooled features, scalars); ``'auto'`` picks 'field' for 4-D outputs, 'vector' otherwise. Other
    arguments as in `check_equivariance`."""
    _check_choice(output, OUTPUTS, "output")
    in_ft, _, els, sizes, batch, n_in = _common_setup(module, in_type, None, elements, image_size, batch, input,
                                                      method, region, channels, n_elements)
    out = _OutputAction(output, None, None, method, region)
    return _run(module, "invariance", in_ft, None, els, sizes, batch, n_in, out, input, seed, dtype)


def _run(module, kind, in_ft, out_ft, els, sizes, batch, n_in, out, input, seed, dtype) -> EquivarianceReport:
    prep = PreparedModule(module, dtype)
    try:
        with torch.no_grad():
            rows, protocol = run_group_checks(prep, els, sizes, in_rep=None if in_ft is None else in_ft.representation,
                                              channels=n_in, out=out, input=input, seed=seed, batch=batch,
                                              what=f"the module {describe(module)}")
    finally:
        prep.restore()
    G = els[0].group
    info = {"module": describe(module),
            "in_type": in_ft if in_ft is not None else f"trivial on {n_in} channels ({G.name})",
            "out_type": (out_ft if out_ft is not None else "trivial on every channel") if out.mode == "field"
            else "invariant vector (compared directly)",
            "dtype": prep.dtype, "device": prep.device, "batch": batch, "seed": seed}
    for i, note in enumerate(prep.notes):
        info[f"note {i + 1}"] = note
    return EquivarianceReport(f"{kind} check of {describe(module)} under {G.name}", rows, protocol, info)


def assert_equivariant(module, in_type, out_type, elements=None, atol: float = 1e-5,
                       offgrid_atol: float | None = None, **kwargs) -> EquivarianceReport:
    """Raise AssertionError (with the report table) if a grid-preserving element's relative error exceeds
    ``atol`` or, when given, an off-grid element's exceeds ``offgrid_atol``; return the report otherwise.
    Keyword arguments go to `check_equivariance`."""
    report = check_equivariance(module, in_type, out_type, elements, **kwargs)
    return raise_on_failures(report, atol, offgrid_atol, f"{describe(module)} is not equivariant")


def assert_invariant(module, in_type, elements=None, atol: float = 1e-5, offgrid_atol: float | None = None,
                     **kwargs) -> EquivarianceReport:
    """`check_invariance` with the tolerances of `assert_equivariant`."""
    report = check_invariance(module, in_type, elements, **kwargs)
    return raise_on_failures(report, atol, offgrid_atol, f"{describe(module)} is not invariant")
