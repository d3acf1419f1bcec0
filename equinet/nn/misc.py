"""Identity layer and the field-layout helpers shared by the field-wise layers (and `trivial_projector`, the
invariant subspace of a representation, shared by the layers with biases).

Bias-free switch: every equinet layer with an additive term takes ``bias=...`` (`SteerableConv2d`,
`NormNonlinearity`, `EquivariantBatchNorm`, `EquivariantInstanceNorm`); with ``bias=False``
everywhere (and batch norm in eval mode) a network of convolutions, ReLUs on permutation fields, bias-free norm-ReLUs,
average/max pooling and resampling is positively homogeneous, f(c·x) = c·f(x) for c > 0.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..kernels.canonical import canonical_rows
from .field_type import FieldType, as_field_type
from .module import EquivariantModule


def trivial_projector(rep) -> np.ndarray:
    """Orthonormal columns spanning the invariant (trivial-irrep) subspace of ``rep``: (size, n_trivial).

    The columns are canonical (`canonical_rows`): they depend on the subspace
    only, not on the machine-dependent change of basis, so bias coefficients mean the same everywhere.
    """
    cols = [rep.change_of_basis[:, o:o + p.size] for o, p in
            zip(np.cumsum([0] + [p.size for p in rep.irreps[:-1]]), rep.irreps) if p.is_trivial()]
    if not cols:
        return np.zeros((rep.size, 0))
    return canonical_rows(np.concatenate(cols, axis=1).T).T


class Identity(EquivariantModule):
    """The identity map on ``in_type`` (equivariant for every group); exports to ``nn.Identity``."""

    def __init__(self, in_type):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        return x

    def export(self) -> nn.Identity:
        return nn.Identity()


# ---------------------------------------------------------------------- field layout helpers (private)
def channel_field(ft: FieldType) -> torch.Tensor:
    """Field index of every channel: LongTensor [C]."""
    return torch.cat([torch.full((r.size,), i, dtype=torch.long) for i, r in enumerate(ft.reps)])


def field_sum_matrix(ft: FieldType) -> torch.Tensor:
    """0/1 matrix [F, C] summing the channels of every field."""
    S = torch.zeros(len(ft), ft.size)
    S[channel_field(ft), torch.arange(ft.size)] = 1.0
    return S


def uniform_field_size(ft: FieldType) -> int | None:
    """The common size of all fields, or None when the sizes differ."""
    sizes = {r.size for r in ft.reps}
    return sizes.pop() if len(sizes) == 1 else None


def field_sum(x: torch.Tensor, S: torch.Tensor, d: int | None) -> torch.Tensor:
    """Sum the channels of every field: [B, C, H, W] -> [B, F, H, W] (``d``: uniform field size, else None)."""
    if d is not None:
        return x.unflatten(1, (-1, d)).sum(2)
    return torch.einsum("fc,bchw->bfhw", S, x)
