"""System equivariance of a reconstruction pipeline: f(A(T_g x)) against T_g f(A(x)) (Sec. V and Fig. 1 of the
imaging paper). The reconstruction f can be equivariant while f∘A is not, when the forward operator A is not
(inpainting masks, limited-angle tomography); this is the property equivariant imaging asks of f∘A."""
from __future__ import annotations

import torch

from ..groups.action import act
from ..groups.representation import Representation
from ..nn.field_type import FieldType
from . import _fields as fld
from ._common import (
    PreparedModule,
    describe,
    element_fields,
    measure,
    positive_int,
    raise_on_failures,
    resolve_elements,
    resolve_sizes,
)
from .equivariance import INPUTS, OFFGRID_METHODS, REGIONS, _check_choice, _OutputAction, run_group_checks
from .report import EquivarianceReport, ReportRow


def _callable(obj, name: str):
    if not callable(obj):
        raise TypeError(f"{name} must be callable (an nn.Module or a function), got {type(obj).__name__}")


def check_system_equivariance(f, A, x: torch.Tensor | None = None, elements=None, *, transform=None, rep=None,
                              image_size=33, channels: int = 1, batch: int = 2, input: str = "auto", seed: int = 0,
                              method: str = "auto", region: str = "disk", dtype: torch.dtype | None = torch.float64,
                              n_elements: int = 8) -> EquivarianceReport:
    """Measure ‖f(A(T_g x)) − T_g f(A(x))‖ / ‖T_g f(A(x))‖ for each element.

    Args:
        f: the reconstruction; A: the forward operator (callables: nn.Modules, physics operators, functions; modules
            run in eval mode, as ``dtype`` deep copies when possible).
        x: the images (a [batch, channels, H, H] tensor), or None to generate them as
            `equinet.testing.check_equivariance` does (``image_size``, ``channels``, ``batch``, ``input``).
            A given x is rotated by off-grid elements with the ``method`` action (interpolation: its error counts).
        elements: a group, its elements, or (with ``transform``) any objects the transform accepts.
        transform: None for the group action on images whose channels carry ``rep`` (default trivial), or a callable
            ``transform(element, tensor)`` applied to x and to f(A(x)) (e.g. translations); its elements count as
            exact (held to ``atol``) and are compared on the full output.
        method, region: as in `equinet.testing.check_equivariance` (off-grid elements only).
    """
    _callable(f, "f (the reconstruction)")
    _callable(A, "A (the forward operator)")
    _check_choice(input, INPUTS, "input")
    _check_choice(method, OFFGRID_METHODS, "method")
    _check_choice(region, REGIONS, "region")
    batch = positive_int(batch, "batch")
    if rep is not None and not isinstance(rep, (Representation, FieldType)):
        raise TypeError(f"rep must be a Representation or a FieldType, got {type(rep).__name__}")
    rep = getattr(rep, "representation", rep)
    if x is not None:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() != 4:
            raise TypeError("x must be a real floating-point tensor [batch, channels, H, W], got "
                            f"{type(x).__name__ if not isinstance(x, torch.Tensor) else (x.dtype, tuple(x.shape))}")
        if transform is None and x.shape[-1] != x.shape[-2]:
            raise ValueError(f"rotating x needs square images, got shape {tuple(x.shape)}")
        channels = x.shape[1]
        x = x.detach().to(torch.float64)
    else:
        channels = positive_int(channels, "channels")
    if rep is not None and rep.size != channels:
        raise ValueError(f"rep {rep!r} has size {rep.size} but the images have {channels} channels")

    if transform is None:
        els = resolve_elements(elements, None if rep is None else rep.group, n_elements, what="rep is")
    else:
        _callable(transform, "transform")
        if elements is None:
            raise ValueError("a custom transform needs its elements: pass elements=[...]")
        els = list(elements) if not isinstance(elements, (str, bytes)) and hasattr(elements, "__iter__") \
            else [elements]
        if not els:
            raise ValueError("elements is empty: nothing to check")

    pf, pA = PreparedModule(f, dtype, "f"), PreparedModule(A, dtype, "A")
    fwd = lambda u: pf(pA(u))  # noqa: E731
    what = f"f∘A ({describe(f)} ∘ {describe(A)})"
    out = _OutputAction("field", rep, None, method, region)
    try:
        with torch.no_grad():
            if transform is None and x is None:
                rows, protocol = run_group_checks(fwd, els, resolve_sizes(image_size), in_rep=rep, channels=channels,
                                                  out=out, input=input, seed=seed, batch=batch, what=what)
            elif transform is None:
                rows, protocol = _given_input_rows(fwd, x, els, rep, out, method, what)
            else:
                rows, protocol = _custom_rows(fwd, x, els, transform, image_size, channels, batch, input, seed, what)
    finally:
        pf.restore()
        pA.restore()
    info = {"f": describe(f), "A": describe(A), "transform": "group action" if transform is None else
            describe(transform), "dtype": pf.dtype, "device": pf.device, "seed": seed}
    for i, note in enumerate(pf.notes + pA.notes):
        info[f"note {i + 1}"] = note
    return EquivarianceReport(f"system equivariance check of {describe(f)} ∘ {describe(A)}", rows, protocol, info)


def _given_input_rows(fwd, x, els, rep, out, method, what):
    off = "fourier" if method == "auto" else method
    y = fwd(x)
    out.validate(y, what)
    rows = []
    for g in els:
        xg = act(g, x, rep, method="exact" if g.preserves_grid else off)
        lhs = fwd(xg)
        out.validate(lhs, what)
        w, rhs, mask, region = out(g, y)
        rel, mx = measure(lhs if w is None else lhs * w, rhs, mask, f"{what} at {g!r}")
        kind = "given" if g.preserves_grid else f"given, {off}"
        rows.append(ReportRow(g, *element_fields(g), x.shape[-1], kind, region, rel, mx))
    offgrid = any(not g.preserves_grid for g in els)
    protocol = ["x: the given images; T_g x by exact actions for grid-preserving elements"
                + (f", by the '{off}' action otherwise (interpolated: its error is part of the measurement)"
                   if offgrid else "")]
    return rows, protocol + out.protocol(set(), offgrid)


def _custom_rows(fwd, x, els, transform, image_size, channels, batch, input, seed, what):
    if x is not None:
        inputs = [(x, "given")]
    elif input == "smooth":
        inputs = [(fld.BlobField(batch, channels, S, seed + 7919 * S).sample(), "smooth")
                  for S in resolve_sizes(image_size)]
    else:
        inputs = [(fld.random_images(batch, channels, S, seed + 7919 * S), "random") for S in resolve_sizes(image_size)]
    rows = []
    for u, kind in inputs:
        y = fwd(u)
        for e in els:
            lhs, rhs = fwd(transform(e, u)), transform(e, y)
            rel, mx = measure(lhs, rhs, None, f"{what} at {e!r}")
            angle, refl, _ = element_fields(e)
            rows.append(ReportRow(e, angle, refl, True, u.shape[-1], kind, "full", rel, mx))
    protocol = [f"user transform {describe(transform)} applied to x ({inputs[0][1]}) and to f(A(x)); error over the "
                "full output; every element held to atol"]
    return rows, protocol


def assert_system_equivariant(f, A, x: torch.Tensor | None = None, elements=None, atol: float = 1e-5,
                              offgrid_atol: float | None = None, **kwargs) -> EquivarianceReport:
    """`check_system_equivariance` with the tolerances of `equinet.testing.assert_equivariant`."""
    report = check_system_equivariance(f, A, x, elements, **kwargs)
    return raise_on_failures(report, atol, offgrid_atol, f"f∘A ({describe(f)} ∘ {describe(A)}) is not "
                                                         "system-equivariant")
