"""Equivariant batch and instance normalisation with statistics shared within each field.

For a field u_i carrying ρ_i (size d_i) with invariant subspace spanned by the orthonormal columns of P_i
(`trivial_projector`):

* mean (``bias=True`` only): μ_i = mean of P_iᵀ u_i, subtracted as u_i − P_i μ_i (only the invariant components of a
  field have an equivariant mean: P_i P_iᵀ commutes with ρ_i(g));
* variance: v_i = mean of ‖u_i − P_i μ_i‖² / d_i, one scalar per field (the field norm is invariant);
* û_i = γ_i (u_i − P_i μ_i) / sqrt(v_i + eps) + P_i β_i, with a learnable scale γ_i per field (``affine``) and, with
  ``bias=True``, a learnable shift β_i on the invariant components.

Means are over batch and space (batch norm) or over space per sample (instance norm). For trivial fields this is
exactly ``nn.BatchNorm2d`` / ``nn.InstanceNorm2d``. ``bias=False`` is the bias-free variant: no mean subtraction
and no shift, so batch norm in eval mode is a per-field scaling (linear, positively homogeneous).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..kernels.signature import describe_field_type
from .export import _detached, plain
from .field_type import FieldType, as_field_type
from .misc import channel_field, field_sum, field_sum_matrix, trivial_projector, uniform_field_size
from .module import EquivariantModule

_BN_FORMAT = "equinet.field-norm-signature/1"


def _projector(ft: FieldType) -> tuple[torch.Tensor, torch.Tensor]:
    """Block-diagonal [C, T]: the orthonormal invariant directions of every field, fields in order; and the field
    index of every invariant direction [T]."""
    blocks = [trivial_projector(r) for r in ft.reps]
    P = np.zeros((ft.size, sum(b.shape[1] for b in blocks)))
    owner, c = [], 0
    for i, b in enumerate(blocks):
        P[ft.field_channels(i), c:c + b.shape[1]] = b
        c += b.shape[1]
        owner += [i] * b.shape[1]
    return torch.as_tensor(P, dtype=torch.float32), torch.as_tensor(owner, dtype=torch.long)


def _per_channel(v: torch.Tensor) -> torch.Tensor:
    """[C] or [B, C] -> broadcastable against [B, C, H, W]."""
    return v[..., None, None] if v.dim() == 2 else v.view(1, -1, 1, 1)


class _FieldNorm(EquivariantModule):
    """Shared set-up of the field-wise normalisations (layout buffers and affine parameters)."""

    P: torch.Tensor
    invariant_field: torch.Tensor
    S: torch.Tensor
    channel_field: torch.Tensor
    inv_dim: torch.Tensor

    def __init__(self, in_type, affine: bool, bias: bool, eps: float):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.affine, self.use_bias, self.eps = bool(affine), bool(bias), float(eps)
        ft = self.in_type
        P, owner = _projector(ft)
        self.register_buffer("P", P, persistent=False)
        self.register_buffer("invariant_field", owner, persistent=False)
        self.register_buffer("S", field_sum_matrix(ft), persistent=False)
        self.register_buffer("channel_field", channel_field(ft), persistent=False)
        self.register_buffer("inv_dim", torch.tensor([1.0 / r.size for r in ft.reps]), persistent=False)
        self.d = uniform_field_size(ft)
        self.n_fields, self.n_invariant = len(ft), self.P.shape[1]
        self.weight = nn.Parameter(torch.ones(self.n_fields)) if self.affine else None
        has_shift = self.affine and self.use_bias and self.n_invariant > 0
        self.bias = nn.Parameter(torch.zeros(self.n_invariant)) if has_shift else None

    def _centre(self, x, mu):
        return x - _per_channel(mu @ self.P.T) if mu is not None else x

    def _field_variance(self, xc, dims):
        return field_sum(xc * xc, self.S, self.d).mean(dims) * self.inv_dim

    def _finish(self, xc, v):
        scale = torch.rsqrt(v + self.eps)
        if self.weight is not None:
            scale = scale * self.weight
        y = xc * _per_channel(scale.index_select(-1, self.channel_field))
        if self.bias is not None:
            y = y + _per_channel(self.P @ self.bias)
        return y

    def extra_repr(self) -> str:
        return (f"in={self.in_type}, affine={self.affine}, bias={self.use_bias}, eps={self.eps}, "
                f"invariant components={self.n_invariant}")


class _ChannelAffine(nn.Module):
    if TYPE_CHECKING:  # buffers, declared for the type checker only (TorchScript cannot read string annotations)
        scale: torch.Tensor
        shift: torch.Tensor | None

    def __init__(self, scale, shift):
        super().__init__()
        self.register_buffer("scale", scale.view(1, -1, 1, 1))
        self.register_buffer("shift", None if shift is None else shift.view(1, -1, 1, 1))

    def forward(self, x):
        y = x * self.scale
        return y if self.shift is None else y + self.shift


class EquivariantBatchNorm(_FieldNorm):
    """Batch normalisation with per-field statistics (module docstring of ``equinet.nn.normalization``).

    Args:
        in_type: any field type. affine: learnable per-field scale (and shift on invariant components).
        bias: ``False`` = bias-free (no mean subtraction, no shift). momentum: running-average factor (None:
            cumulative average, as ``nn.BatchNorm2d``). eps: added to the variance.

    Buffers ``running_mean`` [n_invariant], ``running_var`` [n_fields] (unbiased: Bessel's correction on the
    invariant components, as ``nn.BatchNorm2d``) and ``num_batches_tracked``; the state dict is the same in train
    and eval mode. Eval mode uses the running statistics; `export` gives that per-channel affine map.
    """

    running_mean: torch.Tensor
    running_var: torch.Tensor
    num_batches_tracked: torch.Tensor

    def __init__(self, in_type, affine: bool = True, bias: bool = True, momentum: float | None = 0.1,
                 eps: float = 1e-5):
        super().__init__(in_type, affine, bias, eps)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.register_buffer("running_mean", torch.zeros(self.n_invariant if self.use_bias else 0))
        self.register_buffer("running_var", torch.ones(self.n_fields))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        #: every field is one trivial channel (a translation network): the computation is torch's batch norm
        self._scalar = self.use_bias and self.n_invariant == self.n_fields == self.in_type.size
        if self._scalar:
            assert torch.equal(self.P, torch.eye(self.in_type.size)), "trivial fields: the identity projector"

    # ------------------------------------------------------------------ state-dict signature
    def _signature_dict(self) -> dict:
        return {"format": _BN_FORMAT, "group": self.in_type.group.name, "in_type": describe_field_type(self.in_type),
                "affine": self.affine, "bias": self.use_bias}

    def get_extra_state(self) -> torch.Tensor:
        """The field type the statistics belong to (group, representations), checked when loading."""
        return torch.tensor(list(json.dumps(self._signature_dict(), sort_keys=True).encode()), dtype=torch.uint8)

    def set_extra_state(self, state) -> None:
        problems = self._state_problems({"_extra_state": state}, "")
        if problems:
            raise ValueError(problems[0])

    def _state_problems(self, state_dict, prefix: str) -> list:
        """Why this layer refuses ``state_dict`` ([] if it accepts it); a state dict without a signature (written
        before it existed) is checked by shape only."""
        state = state_dict.get(prefix + "_extra_state")
        if state is None:
            return []
        where = f" '{prefix[:-1]}'" if prefix else ""
        try:
            if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8 or state.dim() != 1:
                raise ValueError("not a 1-D uint8 tensor")
            theirs = json.loads(bytes(state.cpu().tolist()).decode("utf-8"))
            if not isinstance(theirs, dict) or theirs.get("format") != _BN_FORMAT:
                raise ValueError("unknown format")
        except (ValueError, UnicodeDecodeError) as err:
            return [f"EquivariantBatchNorm{where}: cannot read the field-type signature ({err})"]
        mine = self._signature_dict()
        diff = [k for k in mine if theirs.get(k) != mine[k]]
        if diff:
            return [f"EquivariantBatchNorm{where}: the state dict was written for another field type (differs in "
                    f"{', '.join(diff)}): state dict {theirs.get('group')} {theirs.get('in_type')}, this layer "
                    f"{mine['group']} {mine['in_type']}"]
        return []

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        from .loading import refuse_mismatch
        refuse_mismatch(self, state_dict, prefix)  # before anything is copied: a refused load changes nothing
        had_signature = prefix + "_extra_state" in state_dict
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if not had_signature and prefix + "_extra_state" in missing_keys:
            missing_keys.remove(prefix + "_extra_state")  # written before the signature existed

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        if torch.is_autocast_enabled(x.device.type):  # statistics in float32, as torch's batch norm under autocast
            with torch.autocast(x.device.type, enabled=False):
                return self.forward(x.float())
        if self._scalar:
            return self._batch_norm(x)
        centred = self.use_bias and self.n_invariant > 0
        if not self.training:
            return self._finish(self._centre(x, self.running_mean if centred else None), self.running_var)
        n = x.shape[0] * x.shape[2] * x.shape[3]
        if n < 2:
            raise ValueError(f"EquivariantBatchNorm needs more than one value per field when training, got input "
                             f"of shape {tuple(x.shape)}")
        mu = (x.mean((0, 2, 3)) @ self.P) if centred else None
        xc = self._centre(x, mu)
        v = self._field_variance(xc, (0, 2, 3))
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
            v_run = v
            if mu is not None:  # centred: Bessel's correction on the invariant components (whose mean was estimated)
                inv_var = (torch.einsum("ct,bchw->bthw", self.P, xc) ** 2).mean((0, 2, 3))
                extra = torch.zeros_like(v).index_add_(0, self.invariant_field, inv_var) * self.inv_dim / (n - 1)
                v_run = v + extra
                self.running_mean.mul_(1 - m).add_(mu.detach(), alpha=m)
            self.running_var.mul_(1 - m).add_(v_run.detach(), alpha=m)
        return self._finish(xc, v)

    def _batch_norm(self, x: torch.Tensor) -> torch.Tensor:
        """Scalar fields: ``F.batch_norm`` (the same statistics, running averages and Bessel correction)."""
        if self.training:
            if x.shape[0] * x.shape[2] * x.shape[3] < 2:
                raise ValueError(f"EquivariantBatchNorm needs more than one value per field when training, got "
                                 f"input of shape {tuple(x.shape)}")
            with torch.no_grad():
                self.num_batches_tracked += 1
            m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        else:
            m = 0.0
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, m,
                            self.eps)

    def export(self) -> nn.Module:
        """The eval-mode map, a per-channel affine x·a + c with the running statistics baked in."""
        with torch.no_grad():
            scale = torch.rsqrt(self.running_var + self.eps)
            if self.weight is not None:
                scale = scale * self.weight
            a = scale.index_select(0, self.channel_field)
            shift = None
            if self.use_bias and self.n_invariant > 0:
                shift = -a * (self.P @ self.running_mean)
                if self.bias is not None:
                    shift = shift + self.P @ self.bias
        return plain(_ChannelAffine(_detached(a), None if shift is None else _detached(shift)))


class _InstanceNormPlain(nn.Module):
    if TYPE_CHECKING:  # buffers, declared for the type checker only (TorchScript cannot read string annotations)
        PPt: torch.Tensor | None
        S: torch.Tensor
        inv_dim: torch.Tensor
        channel_field: torch.Tensor
        weight: torch.Tensor | None
        shift: torch.Tensor | None

    def __init__(self, PPt, S, d, inv_dim, channel_field, weight, shift, eps):
        super().__init__()
        for k, v in dict(PPt=PPt, S=S, inv_dim=inv_dim, channel_field=channel_field, weight=weight,
                         shift=shift).items():
            self.register_buffer(k, v)
        self.d, self.eps = d, eps

    def forward(self, x):
        return instance_norm(x, self.PPt, self.S, self.d, self.inv_dim, self.channel_field, self.weight,
                             self.shift, self.eps)


def instance_norm(x, PPt, S, d, inv_dim, channel_field, weight, shift, eps: float):
    """Field-wise instance normalisation of [B, C, H, W] (statistics over space, per sample and field).

    ``PPt`` [C, C]: projector onto the invariant components (None: no centring); ``weight`` [F] or None;
    ``shift`` [1, C, 1, 1] or None."""
    if PPt is not None:
        x = x - (x.mean((2, 3)) @ PPt)[..., None, None]
    v = field_sum(x * x, S, d).mean((2, 3)) * inv_dim  # [B, F]
    scale = torch.rsqrt(v + eps)
    if weight is not None:
        scale = scale * weight
    y = x * scale.index_select(1, channel_field)[..., None, None]
    return y if shift is None else y + shift


class EquivariantInstanceNorm(_FieldNorm):
    """Instance normalisation with per-field statistics over space, per sample (no running statistics; the same
    in train and eval mode). ``affine``/``bias``/``eps`` as `EquivariantBatchNorm`; exports through
    `plain`."""

    PPt: torch.Tensor | None

    def __init__(self, in_type, affine: bool = True, bias: bool = True, eps: float = 1e-5):
        super().__init__(in_type, affine, bias, eps)
        centred = self.use_bias and self.n_invariant > 0
        self.register_buffer("PPt", self.P @ self.P.T if centred else None, persistent=False)

    def _args(self):
        shift = None if self.bias is None else (self.P @ self.bias).view(1, -1, 1, 1)
        return (self.PPt, self.S, self.d, self.inv_dim, self.channel_field, self.weight, shift, self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        return instance_norm(x, *self._args())

    def export(self) -> nn.Module:
        args = [a.detach().clone() if isinstance(a, torch.Tensor) else a for a in self._args()]
        return plain(_InstanceNormPlain(*args))
