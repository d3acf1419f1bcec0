"""Basis expansion: learnable coefficients -> an ordinary filter, for any layer built on steerable kernel bases.

`BasisExpansion` owns the bookkeeping every steerable layer kind needs (a convolution today; a transposed or 1x1
layer tomorrow): the fields of the input and output types grouped by representation, one solved kernel basis per
(output, input) representation pair (`equinet.kernels.steerable_basis_numpy`, cached in-process), where each
block's coefficients sit in the flat coefficient vector, the variance-preserving initialisation, and the expansion
``coefficients -> [C_out, C_in, k, k]``. It holds no parameters (the layer owns them, so the layer's state dict is
unchanged) and its buffers are not persistent.

>>> from equinet.groups import cyclic
>>> from equinet.nn import FieldType
>>> G = cyclic(4)
>>> exp = BasisExpansion(FieldType.trivial(G, 1), FieldType(G, [G.regular] * 2), kernel_size=3)
>>> w = torch.randn(exp.dim)
>>> tuple(exp(w).shape), exp.dim
((8, 1, 3, 3), 12)
"""
from __future__ import annotations

import math
from typing import List, NamedTuple, Optional

import numpy as np
import torch
from torch import nn

from ..kernels import DEFAULT_RULE, SamplingRule, steerable_basis_numpy
from .field_type import FieldType

__all__ = ["BasisExpansion", "Block", "field_groups"]


def field_groups(ft: FieldType) -> list:
    """Fields grouped by representation: [(rep, channel indices (all fields, field-major), number of fields)]."""
    groups: dict = {}
    for i, r in enumerate(ft.reps):
        groups.setdefault(r.key, (r, []))[1].append(i)
    out = []
    for r, fields in groups.values():
        idx = np.concatenate([np.arange(ft.offsets[i], ft.offsets[i] + r.size) for i in fields])
        out.append((r, torch.as_tensor(idx, dtype=torch.long), len(fields)))
    return out


class Block(NamedTuple):
    """One (output representation, input representation) block: buffer ``name`` holds its basis
    ``[n_basis, d_out, d_in, k, k]``; its ``n_out * n_in * n_basis`` coefficients start at ``start``."""

    name: str
    n_out: int
    n_in: int
    n_basis: int
    start: int
    out_group: int


class BasisExpansion(nn.Module):
    """Coefficients -> filter ``[out_type.size, in_type.size, k, k]`` on the steerable kernel bases of the pairs of
    representations of ``in_type`` and ``out_type`` (sampling ``rule``, solver ``method``).

    Attributes: ``dim`` (number of coefficients), ``blocks`` (`Block` per non-empty pair), ``bases`` (the numpy
    bases, for checksums), buffers ``basis_i``, ``basis_i_out``, ``basis_i_in`` (output / input channel indices).
    """

    def __init__(self, in_type: FieldType, out_type: FieldType, kernel_size: int, method: str = "analytic",
                 rule: Optional[SamplingRule] = None):
        super().__init__()
        self.in_size, self.out_size, self.kernel_size = in_type.size, out_type.size, int(kernel_size)
        self.rule = DEFAULT_RULE if rule is None else rule
        self.blocks: List[Block] = []
        self.bases: List[np.ndarray] = []
        n_total = 0
        out_groups, in_groups = field_groups(out_type), field_groups(in_type)
        for og, (ro, out_idx, n_o) in enumerate(out_groups):
            for ri, in_idx, n_i in in_groups:
                B = steerable_basis_numpy(ri, ro, self.kernel_size, method=method, rule=self.rule, copy=False)
                if B.shape[0] == 0:
                    continue
                self.bases.append(B)
                name = f"basis_{len(self.blocks)}"
                self.register_buffer(name, torch.from_numpy(B.astype(np.float32)), persistent=False)
                self.register_buffer(name + "_out", out_idx, persistent=False)
                self.register_buffer(name + "_in", in_idx, persistent=False)
                self.blocks.append(Block(name, n_o, n_i, B.shape[0], n_total, og))
                n_total += n_o * n_i * B.shape[0]
        self.dim = n_total
        self._full_block = len(self.blocks) == 1 and len(out_groups) == 1 and len(in_groups) == 1

    @torch.no_grad()
    def init_(self, weight: torch.Tensor, gain: float = math.sqrt(2.0)) -> torch.Tensor:
        """Variance-preserving (He) initialisation of ``weight`` in place: each output channel's expected squared
        filter norm is ``gain²``. Returns ``weight``."""
        fan: dict = {}
        for b in self.blocks:
            fan[b.out_group] = fan.get(b.out_group, 0) + b.n_in * b.n_basis
        for b in self.blocks:
            d_o = getattr(self, b.name).shape[1]
            std = gain * math.sqrt(d_o / fan[b.out_group])
            weight[b.start:b.start + b.n_out * b.n_in * b.n_basis].normal_(0.0, std)
        return weight

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """The filter ``[C_out, C_in, k, k]`` of the coefficients ``weight`` (``[dim]``), in ``weight``'s dtype."""
        k, C_out, C_in = self.kernel_size, self.out_size, self.in_size
        filt = None
        for b in self.blocks:
            B = getattr(self, b.name)
            W = weight[b.start:b.start + b.n_out * b.n_in * b.n_basis].view(b.n_out, b.n_in, b.n_basis)
            blk = torch.einsum("abn,noikl->aobikl", W, B.to(W.dtype))
            blk = blk.reshape(b.n_out * B.shape[1], b.n_in * B.shape[2], k, k)
            out_idx, in_idx = getattr(self, b.name + "_out"), getattr(self, b.name + "_in")
            if self._full_block:
                if torch.equal(out_idx, torch.arange(C_out, device=out_idx.device)) and \
                        torch.equal(in_idx, torch.arange(C_in, device=in_idx.device)):
                    filt = blk
                    break
            if filt is None:
                filt = weight.new_zeros(C_out, C_in, k, k)
            filt = filt.index_put((out_idx[:, None], in_idx[None, :]), blk)
        if filt is None:  # no admissible kernel at all (e.g. frequencies beyond the kernel's band limit)
            filt = weight.new_zeros(C_out, C_in, k, k)
        return filt

    def extra_repr(self) -> str:
        return f"{self.in_size} -> {self.out_size} channels, kernel_size={self.kernel_size}, dim={self.dim}"
