"""Plain-tensor modules around escnn / e2cnn equivariant modules.

`LibraryModule` takes and returns ``torch.Tensor`` [batch, channels, H, W] and declares equinet ``in_type``
and ``out_type``, so `equinet.reconstructors.UnrolledPGD` (channel check), `equinet.testing.check_equivariance`
and `equinet.training.supervised.fit` accept it like an equinet network; `LibraryModule.export`
delegates to the library's own ``export()`` (standard torch modules).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..groups import PlanarGroup
from ..nn.export import plain
from ..nn.field_type import FieldType
from ._libs import library_of, require
from .field_types import from_escnn

__all__ = ["LibraryModule", "wrap"]


class _ResidualExport(nn.Module):
    def __init__(self, body: nn.Module, out_channels: int):
        super().__init__()
        self.body, self.out_channels = body, out_channels

    def forward(self, x):
        return self.body(x) + x[:, :self.out_channels]


class LibraryModule(nn.Module):
    """An escnn or e2cnn ``EquivariantModule`` as a plain-tensor module with equinet field types.

    Args:
        module: the library module (its ``in_type``/``out_type`` must live on a planar gspace of C_N, D_N, SO(2)
            or O(2); any flip axis, see ``docs/interop.md``).
        group: the equinet group to express the types in (default: made from the gspace; give it to fix the band
            limit of SO(2)/O(2)).
        residual: return ``x[:, :out_channels] + module(x)`` (the residual proximal step of equinet's networks);
            the first input fields must then be the output fields.
    """

    module: Any  # the library's EquivariantModule (escnn or e2cnn, imported at run time)

    def __init__(self, module, group: PlanarGroup | None = None, residual: bool = False):
        super().__init__()
        name = library_of(module)
        if name is None or not isinstance(module, nn.Module) or not hasattr(module, "in_type"):
            raise TypeError(f"wrap() takes an escnn or e2cnn EquivariantModule, got {type(module).__name__}")
        self._lib_name = name
        self.module = module
        self.in_type: FieldType = from_escnn(module.in_type, group)
        self.out_type: FieldType = from_escnn(module.out_type, self.in_type.group)
        self.residual = bool(residual)
        if self.residual:
            k = len(self.out_type.reps)
            if FieldType(self.in_type.group, self.in_type.reps[:k]) != self.out_type:
                raise ValueError(f"residual=True adds the first input fields to the output, so they must be the "
                                 f"output fields: in_type {self.in_type}, out_type {self.out_type}")

    @property
    def library(self) -> str:
        """'escnn' or 'e2cnn'."""
        return self._lib_name

    def train(self, mode: bool = True) -> "LibraryModule":
        """Set train/eval mode. Library convolutions cache their expanded filters when switched to eval mode; this
        is done without autograd, so the cache is a constant (deep copies, e.g. ``UnrolledPGD``'s untied copies and
        the equivariance checks' float64 copies, work in either mode; in eval mode no gradient reaches the weights,
        as in the library)."""
        with torch.no_grad():
            return super().train(mode)

    @property
    def output_layer(self) -> nn.Module:
        """The last library layer that owns parameters (the output convolution of `build_escnn`'s DnCNN)."""
        owners = [m for m in self.module.modules() if any(True for _ in m.parameters(recurse=False))]
        if not owners:
            raise ValueError(f"the wrapped {self._lib_name} module has no parameters")
        return owners[-1]

    def zero_output_layer(self) -> "LibraryModule":
        """Zero the output layer's parameters in place (a residual network then starts as the identity), as
        equinet's networks do; eval-mode filter caches are refreshed. Returns ``self``."""
        was = self.training
        self.train(True)
        with torch.no_grad():
            for p in self.output_layer.parameters(recurse=False):
                p.zero_()
        return self.train(was)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        lib = require(self._lib_name)
        y = self.module(lib.nn.GeometricTensor(x, self.module.in_type)).tensor
        return y + x[:, :self.out_type.size] if self.residual else y

    def export(self) -> nn.Module:
        """Standard torch modules computing the same function in eval mode (the library's ``export()``; the
        residual connection is traced into a ``torch.fx.GraphModule``)."""
        was = self.module.training
        self.module.eval()
        try:
            body = self.module.export()
        finally:
            self.module.train(was)
        return plain(_ResidualExport(body, self.out_type.size)) if self.residual else body.eval()

    def extra_repr(self) -> str:
        return f"library={self._lib_name}, in={self.in_type}, out={self.out_type}, residual={self.residual}"


def wrap(module, group: PlanarGroup | None = None, residual: bool = False) -> LibraryModule:
    """`LibraryModule` around an escnn or e2cnn module."""
    return LibraryModule(module, group, residual)
