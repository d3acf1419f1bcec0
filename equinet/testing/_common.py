"""Shared machinery of the checks: argument resolution, module preparation (eval, float64 copy), error measure."""
from __future__ import annotations

import copy
import math
import numbers

import torch
from torch import nn

from ..groups.group import GroupElement, PlanarGroup
from ..groups.representation import Representation
from ..nn.field_type import FieldType, as_field_type
from .report import EquivarianceReport


def resolve_type(t, name: str) -> FieldType | None:
    """A FieldType (a Representation is wrapped), or None for 'trivial on every channel'."""
    if t is None:
        return None
    if isinstance(t, (FieldType, Representation)):
        return as_field_type(t)
    raise TypeError(f"{name} must be an equinet.nn.FieldType, a Representation, or None (trivial on every channel); "
                    f"got {type(t).__name__}")


def resolve_elements(elements, group: PlanarGroup | None, n_elements: int = 8, what: str = "the field types are"):
    """A non-empty list of elements of one group: ``elements`` may be None (all elements of ``group``, or
    ``group.testing_elements(n_elements)`` for SO(2)/O(2)), a group, one element, or an iterable of elements."""
    if elements is None:
        if group is None:
            raise ValueError("elements=None needs a group: give in_type/out_type as field types, or pass "
                             "elements=a group (e.g. groups.cyclic(4)) or a list of its elements")
        elements = group
    if isinstance(elements, PlanarGroup):
        els = elements.testing_elements(n_elements) if elements.continuous else elements.elements()
    elif isinstance(elements, GroupElement):
        els = [elements]
    else:
        try:
            els = list(elements)
        except TypeError:
            raise TypeError(f"elements must be a group, a group element or an iterable of group elements, got "
                            f"{type(elements).__name__}") from None
    if not els:
        raise ValueError("elements is empty: nothing to check")
    for g in els:
        if not isinstance(g, GroupElement):
            raise TypeError(f"elements must be equinet group elements, got {type(g).__name__} ({g!r})")
    G = group if group is not None else els[0].group
    src = what if group is not None else "the other elements are"
    for g in els:
        if g.group != G:
            raise ValueError(f"element {g!r} is of {g.group.name}, but {src} of {G.name}")
    return els


def resolve_sizes(image_size) -> list[int]:
    """``image_size``: an int or a sequence of ints, each the side of a square test image."""
    sizes = [image_size] if isinstance(image_size, numbers.Integral) else image_size
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"image_size must be an int or a sequence of ints, got {image_size!r}") from None
    if not sizes or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 2 for s in sizes):
        raise ValueError(f"image_size must be an int >= 2 or a non-empty sequence of them (square images), "
                         f"got {image_size!r}")
    return [int(s) for s in sizes]


def positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    return int(v)


def input_channels(module, in_ft: FieldType | None, channels) -> int:
    """The number of input channels, cross-checked against what the module declares (in_type, in_channels; for an
    nn.Sequential, those of its first layer)."""
    while isinstance(module, nn.Sequential) and len(module) and not hasattr(module, "in_type"):
        module = module[0]
    declared_type = getattr(module, "in_type", None)
    declared = getattr(module, "in_channels", None)
    declared = declared if isinstance(declared, numbers.Integral) and not isinstance(declared, bool) else None
    if in_ft is not None:
        if channels is not None and channels != in_ft.size:
            raise ValueError(f"channels={channels!r} contradicts in_type {in_ft}, which has {in_ft.size} channels")
        if isinstance(declared_type, FieldType) and declared_type != in_ft:
            raise ValueError(f"in_type {in_ft} differs from the module's declared in_type {declared_type}")
        if declared is not None and declared != in_ft.size:
            raise ValueError(f"in_type {in_ft} has {in_ft.size} channels but the module expects {declared} input "
                             f"channels (module.in_channels)")
        return in_ft.size
    if channels is not None:
        return positive_int(channels, "channels")
    if isinstance(declared_type, FieldType):
        return declared_type.size
    if declared is not None:
        return int(declared)
    raise ValueError("in_type=None (trivial on every channel) needs the number of input channels: pass channels=... "
                     "(the module declares neither in_type nor in_channels)")


def _module_tensor(module: nn.Module) -> torch.Tensor | None:
    for p in module.parameters():
        return p
    for b in module.buffers():
        return b
    return None


class PreparedModule:
    """Calls ``module`` under the check's rules: nn.Modules run in eval mode, as a ``dtype`` deep copy when possible
    (else as they are, in their own dtype); the original's train/eval flags are restored by `restore`."""

    def __init__(self, module, dtype, name: str = "module"):
        if not callable(module):
            raise TypeError(f"{name} must be callable (an nn.Module or a function), got {type(module).__name__}")
        self.name, self.original, self.module = name, module, module
        self.notes: list[str] = []
        self._flags: list[tuple[nn.Module, bool]] | None = None  # the train flags to restore
        self._copied = False
        self._calls = 0
        ref = _module_tensor(module) if isinstance(module, nn.Module) else None
        self.device = ref.device if ref is not None else torch.device("cpu")
        self.dtype = dtype if dtype is not None else (
            ref.dtype if ref is not None and ref.is_floating_point() else torch.get_default_dtype())
        if isinstance(module, nn.Module):
            if dtype is not None:
                try:
                    self.module = copy.deepcopy(module).to(dtype).eval()
                    self._copied = True
                except Exception as e:  # noqa: BLE001 - any failure means: check the original instead
                    self._use_original(e)
            else:
                self._use_original(None)

    def _use_original(self, err) -> None:
        m = self.original
        self.module, self._copied = m, False
        self._flags = [(s, s.training) for s in m.modules()]
        m.eval()
        ref = _module_tensor(m)
        if err is not None:
            self.dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
            self.notes.append(f"no {self.name} copy in the requested dtype ({type(err).__name__}: {err}); checked "
                              f"the {self.name} itself in {self.dtype}")

    def _cast(self, u):
        if not isinstance(u, torch.Tensor):
            return u
        return u.to(self.device, self.dtype) if u.is_floating_point() else u.to(self.device)

    def __call__(self, u: torch.Tensor):
        try:
            y = self.module(self._cast(u))
        except Exception as e:  # noqa: BLE001
            if self._calls or not self._copied:
                raise
            self._use_original(e)
            y = self.module(self._cast(u))
        self._calls += 1
        if isinstance(y, torch.Tensor) and y.is_floating_point():
            y = y.to(torch.float64)
        return y

    def restore(self) -> None:
        for s, flag in self._flags or ():
            s.train(flag)


def measure(lhs: torch.Tensor, rhs: torch.Tensor, mask: torch.Tensor | None, what: str) -> tuple[float, float]:
    """(‖lhs − rhs‖ / ‖rhs‖, max |lhs − rhs|) over ``mask`` (the last two dims) or everything; 0/0 counts as 0."""
    if not isinstance(lhs, torch.Tensor) or not isinstance(rhs, torch.Tensor):
        raise TypeError(f"{what}: expected tensors, got {type(lhs).__name__} and {type(rhs).__name__}")
    if lhs.shape != rhs.shape:
        raise ValueError(f"{what}: the two sides have different shapes {tuple(lhs.shape)} and {tuple(rhs.shape)}")
    d = lhs - rhs
    if mask is not None:
        d, rhs = d[..., mask], rhs[..., mask]
    num, den = d.norm().item(), rhs.norm().item()
    if math.isnan(num) or math.isnan(den):
        rel = math.nan
    elif den > 0:
        rel = num / den
    else:
        rel = 0.0 if num == 0 else math.inf
    return rel, (d.abs().max().item() if d.numel() else 0.0)


def element_fields(g) -> tuple[float | None, bool | None, bool]:
    """(angle in degrees, reflection, grid-preserving) of a group element; (None, None, True) otherwise."""
    if isinstance(g, GroupElement):
        return math.degrees(g.angle), g.reflection, g.preserves_grid
    return None, None, True


def raise_on_failures(report: EquivarianceReport, atol, offgrid_atol, what: str) -> EquivarianceReport:
    bad = report.failures(atol, offgrid_atol)
    if bad:
        tols = f"atol={atol:g}" + ("" if offgrid_atol is None else f", offgrid_atol={offgrid_atol:g}")
        worst = max((r.rel_error for r in bad), key=lambda e: math.inf if math.isnan(e) else e)
        raise AssertionError(f"{what}: {len(bad)} of {len(report.rows)} checks exceed the tolerance ({tols}; worst "
                             f"relative error {worst:.3e})\n{report.format(atol, offgrid_atol)}")
    return report


def describe(obj) -> str:
    return type(obj).__name__ if isinstance(obj, nn.Module) else getattr(obj, "__name__", type(obj).__name__)
