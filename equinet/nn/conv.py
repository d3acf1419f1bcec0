"""Steerable convolution: learnable coefficients × the solved kernel basis -> an ordinary conv2d filter.

Lifting (trivial -> regular, eq. 10), group convolution (regular -> regular, eq. 9) and general steerable
convolution (any representations, eq. 11-12) are all this one layer.
"""
from __future__ import annotations

import math
import warnings
from typing import Literal, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..kernels import SamplingRule
from ..kernels.basis import BASIS_VERSION
from ..kernels.signature import BasisSignature, basis_checksum, describe_field_type
from ..utils.checks import check_int
from .basis_expansion import BasisExpansion
from .field_type import as_field_type
from .misc import trivial_projector
from .module import EquivariantModule

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]


class SteerableConv2d(EquivariantModule):
    """Equivariant convolution from ``in_type`` to ``out_type`` with a k x k steerable kernel.

    Args:
        in_type, out_type: `FieldType` (or a single Representation) of the same group.
        kernel_size: k >= 1. Odd k keeps the image size; even k pads k/2 and returns size + 1 (the output grid
            stays centred on the input grid, so rotations about the image centre remain exact).
        padding: override the padding; ``padding_mode`` one of 'zeros', 'reflect', 'replicate', 'circular'
            (all symmetric under the grid-preserving elements).
        bias: a learnable bias on the trivial (invariant) components of the output only; ``False`` for a
            bias-free layer.
        rule, method: the kernel solver's sampling rule and route (`equinet.kernels.steerable_basis`).

    Parameters are the basis coefficients (``weight``) and the invariant bias coefficients (``bias``). In eval mode
    with gradients disabled the expanded filter is cached; the cache is not part of the state dict, so train and
    eval state dicts are identical.

    The state dict also holds the layer's `BasisSignature` (key
    ``_extra_state``): ``load_state_dict`` refuses coefficients written for another group, field type, kernel
    size, sampling rule or basis version, naming both, before copying anything.
    """

    bias_basis: torch.Tensor  # a buffer (with bias only)

    def __init__(self, in_type, out_type, kernel_size: int = 3, padding: int | None = None,
                 padding_mode: str = "zeros", bias: bool = True, rule: SamplingRule | None = None,
                 method: str = "analytic", gain: float = math.sqrt(2.0)):
        super().__init__()
        self.in_type, self.out_type = as_field_type(in_type), as_field_type(out_type)
        if self.in_type.group != self.out_type.group:
            raise ValueError(f"in_type and out_type must share a group: {self.in_type} vs {self.out_type}")
        check_int(kernel_size, "kernel_size", 1)
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        if padding is not None and (isinstance(padding, bool) or not isinstance(padding, (int, np.integer))
                                    or padding < 0):
            raise ValueError(f"padding must be None (automatic) or an integer >= 0, got {padding!r}")
        self.kernel_size = int(kernel_size)
        self.padding = self.kernel_size // 2 if padding is None else int(padding)
        self.padding_mode = cast(PaddingMode, padding_mode)  # one of PADDING_MODES (checked above)
        self.gain = float(gain)
        #: the basis bookkeeping and expansion (coefficients -> filter), shared with any other steerable layer kind
        self.expansion = BasisExpansion(self.in_type, self.out_type, self.kernel_size, method=method, rule=rule)
        self.rule = self.expansion.rule
        blocks = list(self.expansion.bases)
        n_total = self.expansion.dim
        self.weight = nn.Parameter(torch.empty(n_total))
        if n_total == 0:
            warnings.warn(f"SteerableConv2d {self.in_type} -> {self.out_type}, k={self.kernel_size}: the kernel basis "
                          "is empty (no equivariant kernel within the sampling rule's band limit), so the layer "
                          "always outputs zero (plus its bias); use a larger kernel or other field types",
                          stacklevel=2)

        if bias:
            Pb = [trivial_projector(r) for r in self.out_type.reps]
            nb = sum(p.shape[1] for p in Pb)
            M = np.zeros((self.out_type.size, nb))
            c = 0
            for i, p in enumerate(Pb):
                M[self.out_type.field_channels(i), c:c + p.shape[1]] = p
                c += p.shape[1]
            self.register_buffer("bias_basis", torch.as_tensor(M, dtype=torch.float32), persistent=False)
            self.bias = nn.Parameter(torch.zeros(nb)) if nb else None
            if nb:
                blocks.append(M.T)  # the bias basis is part of what the coefficients mean
        else:
            self.bias = None
        self._signature = BasisSignature(
            group=self.in_type.group.name, in_type=describe_field_type(self.in_type),
            out_type=describe_field_type(self.out_type), kernel_size=self.kernel_size, rule=str(self.rule.key),
            basis_version=BASIS_VERSION, checksum=basis_checksum(blocks))
        #: the expanded filter and bias in eval mode without grad, keyed by the parameters' identities and versions
        self._cache: tuple[tuple, tuple[torch.Tensor, torch.Tensor | None], tuple] | None = None
        self.reset_parameters()

    # ------------------------------------------------------------------ state-dict signature
    @property
    def signature(self) -> BasisSignature:
        """What the coefficients mean: group, field types, kernel size, rule, basis version, basis checksum."""
        return self._signature

    def get_extra_state(self) -> torch.Tensor:
        return self._signature.to_tensor()

    def set_extra_state(self, state) -> None:
        self._check_signature(state, "")

    def _check_signature(self, state, where: str) -> None:
        try:
            theirs = BasisSignature.from_state(state)
        except ValueError as e:
            raise ValueError(f"SteerableConv2d{where}: {e}") from None
        diff = theirs.mismatches(self._signature)
        if diff:
            raise ValueError(
                f"SteerableConv2d{where}: the state dict was written for another kernel basis (differs in "
                f"{', '.join(diff)}); refusing to load it.\n  state dict: {theirs.describe()}\n  this layer: "
                f"{self._signature.describe()}")

    def _state_problems(self, state_dict, prefix: str) -> list:
        """The reasons this layer refuses ``state_dict`` (its entries under ``prefix``); [] if it accepts them.
        Called for every layer before anything is copied (`equinet.nn.loading`)."""
        key = prefix + "_extra_state"
        where = f" '{prefix[:-1]}'" if prefix else ""
        if key in state_dict:
            try:
                self._check_signature(state_dict[key], where)
            except ValueError as err:
                return [str(err)]
        elif prefix + "weight" in state_dict:
            return [f"SteerableConv2d{where}: the state dict has coefficients but no basis signature ('{key}'): it "
                    f"was written by an equinet older than basis version {BASIS_VERSION}, whose basis depended on "
                    f"the machine, so its coefficients cannot be interpreted here. This layer: "
                    f"{self._signature.describe()}"]
        return []

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        from .loading import refuse_mismatch
        refuse_mismatch(self, state_dict, prefix)  # before anything is copied: a refused load changes nothing
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    # ------------------------------------------------------------------ init
    def reset_parameters(self) -> None:
        """Variance-preserving (He) initialisation: each output channel's expected squared filter norm is gain²."""
        with torch.no_grad():
            self.expansion.init_(self.weight, self.gain)
            if self.bias is not None:
                self.bias.zero_()
        self._cache = None

    # ------------------------------------------------------------------ expansion
    def expand(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The ordinary conv2d filter [C_out, C_in, k, k] and bias [C_out] (or None) of the current parameters."""
        filt = self.expansion(self.weight)
        bias = None
        if self.bias is not None:
            bias = self.bias_basis.to(self.bias.dtype) @ self.bias
        return filt, bias

    def train(self, mode: bool = True):
        self._cache = None
        return super().train(mode)

    def _filter(self):
        if self.training or torch.is_grad_enabled():
            self._cache = None
            return self.expand()
        # the parameter objects are part of the key (and held by the cache, so their ids cannot be reused):
        # replacing a parameter (load_state_dict(assign=True)) must invalidate the cache like an in-place update
        params = (self.weight, self.bias)
        versions = (tuple(id(p) for p in params), self.weight._version,
                    None if self.bias is None else self.bias._version, self.weight.device, self.weight.dtype)
        if self._cache is None or self._cache[0] != versions:
            with torch.no_grad():
                self._cache = (versions, self.expand(), params)
        return self._cache[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        wd = self.weight.dtype
        if not x.dtype.is_floating_point:
            raise TypeError(f"SteerableConv2d expects a real floating-point input of the layer's dtype {wd}, got "
                            f"{x.dtype}")
        if x.dtype != wd and not torch.is_autocast_enabled(x.device.type):  # autocast casts both itself
            raise TypeError(f"SteerableConv2d: the input is {x.dtype} but the layer is {wd}; convert the input "
                            f"(x.to({wd})) or the layer (layer.to({x.dtype}))")
        if x.shape[0] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(f"SteerableConv2d got an empty input of shape {tuple(x.shape)}; expected "
                             "[batch >= 1, channels, H >= 1, W >= 1]")
        filt, bias = self._filter()
        if self.padding_mode != "zeros" and self.padding:
            p = self.padding
            return F.conv2d(F.pad(x, (p, p, p, p), mode=self.padding_mode), filt, bias)
        return F.conv2d(x, filt, bias, padding=self.padding)

    def export(self) -> nn.Conv2d:
        """A plain ``nn.Conv2d`` with the expanded filter (same outputs)."""
        filt, bias = self.expand()
        conv = nn.Conv2d(self.in_type.size, self.out_type.size, self.kernel_size, padding=self.padding,
                         padding_mode=self.padding_mode, bias=bias is not None)
        conv = conv.to(device=filt.device, dtype=filt.dtype)
        with torch.no_grad():
            conv.weight.copy_(filt)
            if bias is not None and conv.bias is not None:  # (the conv has a bias exactly when bias is not None)
                conv.bias.copy_(bias)
        return conv

    @property
    def basis_size(self) -> int:
        return self.weight.numel()

    def extra_repr(self) -> str:
        return (f"in={self.in_type}, out={self.out_type}, kernel_size={self.kernel_size}, "
                f"padding={self.padding}, bias={self.bias is not None}, parameters={self.weight.numel()}")
