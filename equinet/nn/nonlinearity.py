"""Equivariant nonlinearities: pointwise (permutation fields), norm nonlinearities (any orthogonal field) and gates.

* `PointwiseNonlinearity` / `ReLU` / `LeakyReLU`: a scalar function on every channel. It
  commutes with ρ(g) only when ρ(g) permutes channels (trivial, regular, quotient fields); other types are refused.
* `NormNonlinearity`: f(u)_i = φ(‖u_i‖) u_i per field i (Sec. IV-A of the imaging paper): ‖ρ(g)u_i‖ = ‖u_i‖
  for orthogonal ρ, so it is equivariant for every field type.
* `GatedNonlinearity`: f(u)_i = sigmoid(γ_i) u_i with an invariant (trivial) gate field γ_i per field.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .export import _detached, plain
from .field_type import FieldType, as_field_type
from .misc import channel_field, field_sum, field_sum_matrix, uniform_field_size
from .module import EquivariantModule

#: squared norms are clamped below at EPS before the square root (norms below 1e-6 are read as 1e-6)
EPS = 1e-12

POINTWISE = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
             "softplus": nn.Softplus}


def require_pointwise(ft: FieldType, layer: str) -> None:
    """Raise a TypeError naming the type unless every field of ``ft`` is a permutation representation
    (`FieldType.require_pointwise`)."""
    ft.require_pointwise(layer)


class PointwiseNonlinearity(EquivariantModule):
    """A scalar nonlinearity applied to every channel; equivariant because every field is a permutation field.

    Args:
        in_type: the field type (all fields must permute channels: trivial, regular or quotient).
        function: 'relu', 'leaky_relu', 'elu', 'tanh', 'sigmoid' or 'softplus'.
        **kwargs: passed to the torch module (e.g. ``negative_slope``, ``alpha``, ``beta``, ``inplace``).

    Exports to the matching ``torch.nn`` module.
    """

    def __init__(self, in_type, function: str = "relu", **kwargs):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if function not in POINTWISE:
            raise ValueError(f"unknown pointwise function {function!r}; expected one of {sorted(POINTWISE)}")
        name = f"PointwiseNonlinearity({function!r})" if type(self) is PointwiseNonlinearity else type(self).__name__
        self.in_type.require_pointwise(name)
        try:
            self.fn = POINTWISE[function](**kwargs)
        except TypeError as e:
            raise TypeError(f"bad options for the pointwise {function!r}: {e}") from None
        self.function, self.kwargs = function, dict(kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        return self.fn(x)

    def export(self) -> nn.Module:
        return POINTWISE[self.function](**self.kwargs)

    def extra_repr(self) -> str:
        return f"{self.function}, in={self.in_type}"


class ReLU(PointwiseNonlinearity):
    """Pointwise ReLU on permutation fields (exports to ``nn.ReLU``)."""

    def __init__(self, in_type, inplace: bool = False):
        super().__init__(in_type, "relu", inplace=inplace)


class LeakyReLU(PointwiseNonlinearity):
    """Pointwise leaky ReLU on permutation fields (exports to ``nn.LeakyReLU``)."""

    def __init__(self, in_type, negative_slope: float = 0.01):
        super().__init__(in_type, "leaky_relu", negative_slope=negative_slope)


# ---------------------------------------------------------------------- norm nonlinearity
NORM_FUNCTIONS = ("relu", "sigmoid", "squash")


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


def norm_gain(sq: torch.Tensor, b: torch.Tensor | None, function: str, relative: bool) -> torch.Tensor:
    """φ per field from the squared field norms ``sq`` [B, F, H, W] and thresholds ``b`` [1, F, 1, 1] (or None)
    (see `NormNonlinearity`)."""
    n = torch.sqrt(sq.clamp_min(EPS))
    thr: torch.Tensor | float
    if b is None:
        thr = 0.0
    elif relative:
        thr = b * torch.sqrt(sq.mean(1, keepdim=True).clamp_min(EPS))
    else:
        thr = b
    if function == "relu":
        return F.relu(n - thr) / n
    if function == "squash":
        m = F.relu(n - thr)
        m2 = m * m
        return m2 / ((1.0 + m2) * n)
    return torch.sigmoid(n - thr)


class _NormNonlinearityPlain(nn.Module):
    if TYPE_CHECKING:  # buffers, declared for the type checker only (TorchScript cannot read string annotations)
        S: torch.Tensor
        channel_field: torch.Tensor
        b: torch.Tensor | None

    def __init__(self, S, channel_field, d, b, function, relative):
        super().__init__()
        self.register_buffer("S", S)
        self.register_buffer("channel_field", channel_field)
        self.register_buffer("b", b)
        self.d, self.function, self.relative = d, function, relative

    def forward(self, x):
        phi = norm_gain(field_sum(x * x, self.S, self.d), self.b, self.function, self.relative)
        return x * phi.index_select(1, self.channel_field)


class NormNonlinearity(EquivariantModule):
    """Norm nonlinearity f(u)_i(x) = φ_i(n_i(x)) u_i(x), n_i = ‖u_i(x)‖, per field i (any orthogonal field type).

    ``function`` (output norm ψ = n·φ; b_i ≥ 0 is learnable per field, b_i = softplus(``bias``_i)):

    * 'relu' (norm-ReLU): φ = relu(n − b)/n, so f(u) = u·relu(‖u‖ − b)/‖u‖ (fields with norm < b are zeroed);
    * 'squash': φ = m²/((1 + m²) n), m = relu(n − b): output norm m²/(1 + m²) ∈ [0, 1) (capsule squash);
    * 'sigmoid': φ = sigmoid(n − b), here b ∈ R is ``bias`` itself: f(u) = u·sigmoid(‖u‖ − b).

    ``bias=False`` (no additive constant): 'sigmoid' and 'squash' use b = 0; 'relu' (whose b = 0 version is the
    identity) uses a *relative* threshold b_i·r(x), r(x) = sqrt(mean_j n_j(x)²) the RMS of the layer's field norms
    at x, with learnable b_i = softplus(``threshold``_i) ≥ 0: f(u)_i = u_i·relu(n_i − b_i r)/n_i, positively
    homogeneous (f(c u) = c f(u), c > 0). Norms are computed as sqrt(max(n², 1e-12)), so the output and its
    gradients are finite at u = 0 (where the output is 0). Exports through `plain`.
    """

    S: torch.Tensor
    channel_field: torch.Tensor

    def __init__(self, in_type, function: str = "relu", bias: bool = True):
        super().__init__()
        self.in_type = self.out_type = as_field_type(in_type)
        if function not in NORM_FUNCTIONS:
            raise ValueError(f"unknown norm nonlinearity {function!r}; expected one of {NORM_FUNCTIONS}")
        self.function = function
        n = len(self.in_type)
        self.register_buffer("S", field_sum_matrix(self.in_type), persistent=False)
        self.register_buffer("channel_field", channel_field(self.in_type), persistent=False)
        self.d = uniform_field_size(self.in_type)
        self.relative = (not bias) and function == "relu"
        self.bias = self.threshold = None
        if bias:
            init = 0.0 if function == "sigmoid" else _inverse_softplus(0.1)
            self.bias = nn.Parameter(torch.full((n,), init))
        elif self.relative:
            self.threshold = nn.Parameter(torch.full((n,), _inverse_softplus(0.5)))

    def effective_bias(self) -> torch.Tensor | None:
        """The thresholds b_i actually used, shape [n_fields] (None when there is none)."""
        p = self.bias if self.bias is not None else self.threshold
        if p is None:
            return None
        return p if self.function == "sigmoid" else F.softplus(p)

    def _b(self):
        b = self.effective_bias()
        return None if b is None else b.view(1, -1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        phi = norm_gain(field_sum(x * x, self.S, self.d), self._b(), self.function, self.relative)
        return x * phi.index_select(1, self.channel_field)

    def export(self) -> nn.Module:
        b = self._b()
        return plain(_NormNonlinearityPlain(_detached(self.S), _detached(self.channel_field), self.d,
                                            None if b is None else _detached(b), self.function, self.relative))

    def extra_repr(self) -> str:
        kind = "relative threshold" if self.relative else ("bias" if self.bias is not None else "no bias")
        return f"{self.function}, {kind}, in={self.in_type}"


# ---------------------------------------------------------------------- gated nonlinearity
class _GatedPlain(nn.Module):
    if TYPE_CHECKING:  # buffers, declared for the type checker only (TorchScript cannot read string annotations)
        gate_of_channel: torch.Tensor

    def __init__(self, n_gates, gate_of_channel):
        super().__init__()
        self.n = n_gates
        self.register_buffer("gate_of_channel", gate_of_channel)

    def forward(self, x):
        g = torch.sigmoid(x[:, :self.n])
        return x[:, self.n:] * g.index_select(1, self.gate_of_channel)


class GatedNonlinearity(EquivariantModule):
    """Gated nonlinearity: the input is n gates (trivial fields) followed by n gated fields (any types); the output
    is the gated fields, field_i · sigmoid(gate_i). The gate is invariant, so this is equivariant for every type.

    Args:
        in_type: gates + gated fields (build it with `input_type`).
        gates: the number n of leading gate fields, or their FieldType (n trivial fields, equal to the first n
            fields of ``in_type``). ``in_type`` must have exactly 2n fields.

    ``out_type`` is the gated fields. No parameters (the preceding convolution supplies the gates, including any
    bias on them). Exports through `plain`.
    """

    gate_of_channel: torch.Tensor

    def __init__(self, in_type, gates):
        super().__init__()
        self.in_type = as_field_type(in_type)
        G = self.in_type.group
        if isinstance(gates, FieldType):
            n = len(gates)
            if gates != FieldType(G, self.in_type.reps[:n]):
                raise ValueError(f"the gate type {gates} is not the leading part of the input type {self.in_type}")
        elif isinstance(gates, int) and not isinstance(gates, bool):
            n = gates
        else:
            raise TypeError(f"gates must be an int or a FieldType, got {type(gates).__name__}")
        if n < 1 or 2 * n != len(self.in_type):
            raise ValueError(f"GatedNonlinearity needs n >= 1 gate fields followed by n gated fields, but got "
                             f"n={n} gates for the {len(self.in_type)} fields of {self.in_type}")
        bad = [r.name for r in self.in_type.reps[:n] if not r.is_trivial()]
        if bad:
            raise TypeError(f"the first {n} fields of {self.in_type} are the gates and must be trivial (invariant), "
                            f"but they include {', '.join(dict.fromkeys(bad))}")
        self.n_gates = n
        self.out_type = FieldType(G, self.in_type.reps[n:])
        self.register_buffer("gate_of_channel", channel_field(self.out_type), persistent=False)

    @staticmethod
    def input_type(gated) -> FieldType:
        """The input type for gating ``gated``: one trivial gate per field, followed by the gated fields."""
        gated = as_field_type(gated)
        return FieldType.trivial(gated.group, len(gated)) + gated

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        g = torch.sigmoid(x[:, :self.n_gates])
        return x[:, self.n_gates:] * g.index_select(1, self.gate_of_channel)

    def export(self) -> nn.Module:
        return plain(_GatedPlain(self.n_gates, _detached(self.gate_of_channel)))
