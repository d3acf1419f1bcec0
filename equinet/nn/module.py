"""Base class of equinet layers: declared field types, type-checked composition, export to plain torch."""
from __future__ import annotations

from typing import cast

import torch
from torch import nn

from .field_type import FieldType, check_same_type
from .loading import AllOrNothingLoad


class EquivariantModule(AllOrNothingLoad, nn.Module):
    """A module mapping tensors of ``in_type`` to tensors of ``out_type`` (plain ``torch.Tensor`` in and out).

    Subclasses implement ``forward`` and `export`, which returns standard torch modules computing the same
    function (eval-mode behaviour). ``torch.jit.script`` compiles the export.
    """

    in_type: FieldType
    out_type: FieldType

    def export(self) -> nn.Module:
        raise NotImplementedError(f"{type(self).__name__} does not implement export()")

    def __prepare_scriptable__(self) -> nn.Module:
        """What ``torch.jit.script`` compiles in place of this module: its `export` (standard torch modules computing
        the same function in eval mode). Called by TorchScript on the module and on every submodule of a module
        being scripted, so ``torch.jit.script(net)`` and scripting a model that contains ``net`` both work."""
        return self.export()

    def extra_repr(self) -> str:
        return f"in={self.in_type}, out={self.out_type}"


class EquivariantSequential(EquivariantModule):
    """Layers applied in order; consecutive field types are checked at construction."""

    def __init__(self, *layers: EquivariantModule):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        if not layers:
            raise ValueError("EquivariantSequential needs at least one layer")
        for i, l in enumerate(layers):
            if not isinstance(l, EquivariantModule):
                raise TypeError(f"layer {i} ({type(l).__name__}) is not an EquivariantModule")
            if i:
                check_same_type(l.in_type, layers[i - 1].out_type, f"layer {i} ({type(l).__name__})")
        self.layers = nn.ModuleList(layers)
        self.in_type = layers[0].in_type
        self.out_type = layers[-1].out_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for l in self.layers:
            x = l(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def export(self) -> nn.Module:
        # (the layers are EquivariantModules, checked in __init__)
        return nn.Sequential(*[cast(EquivariantModule, l).export() for l in self.layers])
