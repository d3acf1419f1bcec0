"""Invariant pooling over the channels of each field: group pooling (permutation fields) and norm pooling (any
orthogonal field). Both map every field to one trivial field, so the output transforms as a scalar image."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from .export import _detached, plain
from .field_type import FieldType, as_field_type
from .misc import field_sum, field_sum_matrix, uniform_field_size
from .module import EquivariantModule

POOL_MODES = ("max", "mean")


def _size_groups(ft: FieldType):
    """Fields grouped by size: [(size, channel indices field-major, field indices)]."""
    groups: dict = {}
    for i, r in enumerate(ft.reps):
        groups.setdefault(r.size, []).append(i)
    out = []
    for s, fields in groups.items():
        ch = torch.cat([torch.arange(ft.offsets[i], ft.offsets[i] + s) for i in fields])
        out.append((s, ch, torch.as_tensor(fields, dtype=torch.long)))
    return out


class _GroupPoolPlain(nn.Module):
    """Max or mean over the channels of every field; fields of equal size are pooled together."""

    def __init__(self, sizes, channels, order, mode):
        super().__init__()
        self.sizes, self.mode = list(sizes), mode
        for k, ch in enumerate(channels):
            self.register_buffer(f"channels_{k}", ch)
        self.register_buffer("order", order)

    def forward(self, x):
        return group_pool(x, self.sizes, [getattr(self, f"channels_{k}") for k in range(len(self.sizes))],
                          self.order, self.mode)


def group_pool(x, sizes, channels, order, mode):
    """Pool [B, C, H, W] -> [B, F, H, W]: per size group, gather the channels (None: all, in order), view them as
    [B, F_s, s, H, W] and reduce; then restore the field order (None: already in order)."""
    parts = []
    for s, ch in zip(sizes, channels):
        y = (x if ch is None else x.index_select(1, ch)).unflatten(1, (-1, s))
        parts.append(y.amax(2) if mode == "max" else y.mean(2))
    y = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
    return y if order is None else y.index_select(1, order)


class GroupPooling(EquivariantModule):
    """Pool every permutation field (regular, quotient, trivial) to one invariant scalar: the max or the mean over
    its channels (ρ(g) only permutes them). Output: one trivial field per input field. Exports through
    `plain`."""

    order: torch.Tensor | None  # a buffer: the field order of the pooled sizes (None: one size, already in order)

    def __init__(self, in_type, mode: str = "max"):
        super().__init__()
        self.in_type = as_field_type(in_type)
        if mode not in POOL_MODES:
            raise ValueError(f"GroupPooling mode must be one of {POOL_MODES}, got {mode!r}")
        self.in_type.require_pointwise("GroupPooling")
        self.mode = mode
        self.out_type = FieldType.trivial(self.in_type.group, len(self.in_type))
        groups = _size_groups(self.in_type)
        self._sizes = [s for s, _, _ in groups]
        channels = [ch for _, ch, _ in groups]
        if len(groups) == 1:
            channels = [None]  # all fields share a size: channels are already in field order
        for k, ch in enumerate(channels):
            self.register_buffer(f"channels_{k}", ch, persistent=False)
        order = torch.argsort(torch.cat([f for _, _, f in groups]))
        self.register_buffer("order", None if len(groups) == 1 else order, persistent=False)

    def _plain(self, detach: bool) -> _GroupPoolPlain:
        chans = [getattr(self, f"channels_{k}") for k in range(len(self._sizes))]
        f = _detached if detach else (lambda t: t)
        return _GroupPoolPlain(self._sizes, [None if c is None else f(c) for c in chans],
                               None if self.order is None else f(self.order), self.mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        return group_pool(x, self._sizes, [getattr(self, f"channels_{k}") for k in range(len(self._sizes))],
                          self.order, self.mode)

    def export(self) -> nn.Module:
        return plain(self._plain(detach=True))

    def extra_repr(self) -> str:
        return f"{self.mode}, in={self.in_type}, out={self.out_type}"


class _NormPoolPlain(nn.Module):
    if TYPE_CHECKING:  # buffers, declared for the type checker only (TorchScript cannot read string annotations)
        S: torch.Tensor

    def __init__(self, S, d):
        super().__init__()
        self.register_buffer("S", S)
        self.d = d

    def forward(self, x):
        return safe_norm(field_sum(x * x, self.S, self.d))


def safe_norm(sq: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """sqrt(sq) with a finite gradient at 0: sq / sqrt(max(sq, eps)) (exactly 0 at 0; below eps it reads sq/1e-6)."""
    return sq * torch.rsqrt(sq.clamp_min(eps))


class NormPooling(EquivariantModule):
    """Replace every field by its Euclidean norm ‖u_i(x)‖ (invariant for orthogonal ρ): one trivial field per field.
    The gradient is finite at u = 0. Exports through `plain`."""

    S: torch.Tensor

    def __init__(self, in_type):
        super().__init__()
        self.in_type = as_field_type(in_type)
        self.out_type = FieldType.trivial(self.in_type.group, len(self.in_type))
        self.register_buffer("S", field_sum_matrix(self.in_type), persistent=False)
        self.d = uniform_field_size(self.in_type)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        return safe_norm(field_sum(x * x, self.S, self.d))

    def export(self) -> nn.Module:
        return plain(_NormPoolPlain(_detached(self.S), self.d))
