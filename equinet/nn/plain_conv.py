"""An ordinary (translation-equivariant) convolution with the EquivariantModule interface: the building block of
translation twins. Its kernel is the full k x k grid, not a band-limited basis."""
from __future__ import annotations

import math
from typing import cast

import torch
from torch import nn

from ..groups import trivial_group
from .conv import PaddingMode
from .field_type import FieldType
from .module import EquivariantModule


class TranslationConv2d(EquivariantModule):
    """``nn.Conv2d`` on trivial-group field types (channels -> channels), He-initialised like SteerableConv2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, padding: int | None = None,
                 padding_mode: str = "zeros", bias: bool = True, gain: float = math.sqrt(2.0)):
        super().__init__()
        G = trivial_group()
        self.in_type, self.out_type = FieldType.trivial(G, in_channels), FieldType.trivial(G, out_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=kernel_size // 2 if padding is None else padding,
                              padding_mode=cast(PaddingMode, padding_mode), bias=bias)  # nn.Conv2d checks it
        with torch.no_grad():
            self.conv.weight.normal_(0.0, gain / math.sqrt(in_channels * kernel_size ** 2))
            if self.conv.bias is not None:
                self.conv.bias.zero_()

    def forward(self, x):
        self.in_type.check(x)
        return self.conv(x)

    def export(self) -> nn.Conv2d:
        c = self.conv
        # (nn.Conv2d stores the kernel size and padding as pairs, or the padding as a string)
        kernel_size = cast(tuple[int, int], c.kernel_size)
        padding = c.padding if isinstance(c.padding, str) else cast(tuple[int, int], c.padding)
        out = nn.Conv2d(c.in_channels, c.out_channels, kernel_size, padding=padding, padding_mode=c.padding_mode,
                        bias=c.bias is not None).to(c.weight.device, c.weight.dtype)
        out.load_state_dict(c.state_dict())
        return out
