"""Typed activation options of a network: the pointwise function, its alias-free evaluation and the linear bypass.

>>> Activation("relu")
Activation(function='relu', alias_free=<AliasFree.NONE: 'none'>, bypass=False)
>>> a = Activation("leaky_relu", alias_free="quincunx")   # bypass defaults to True for relu / leaky_relu
>>> a.alias_free is AliasFree.QUINCUNX, a.bypass, a.homogeneous
(True, True, True)
>>> Activation.parse({"function": "elu", "alias_free": "radial"}).alias_free.value
'radial'
"""
from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from typing import Optional, Union

__all__ = ["Activation", "AliasFree", "FUNCTIONS", "HOMOGENEOUS_FUNCTIONS", "LEGACY_NAMES"]

#: pointwise functions a network can be built with
FUNCTIONS = ("relu", "leaky_relu", "elu", "softplus")
#: the positively homogeneous ones (allow ``bias=False``; the quincunx variant can bypass their linear part)
HOMOGENEOUS_FUNCTIONS = ("relu", "leaky_relu")


class AliasFree(str, enum.Enum):
    """How the function is evaluated: plainly, alias-free on a 2x finer grid with a radial low-pass
    (`equinet.nn.AliasFreeNonlinearity`), or the quincunx variant (`equinet.nn.QuincunxAliasFreeNonlinearity`:
    sharper and cheaper, less equivariant off the grid in deep networks). See docs/alias_free.md."""

    NONE = "none"
    RADIAL = "radial"
    QUINCUNX = "quincunx"


#: the deprecated strings ('relu_aa', 'relu_aaq', ...) -> their typed options (accepted with a DeprecationWarning)
LEGACY_NAMES = {**{f + "_aa": (f, AliasFree.RADIAL) for f in FUNCTIONS},
                **{f + "_aaq": (f, AliasFree.QUINCUNX) for f in FUNCTIONS}}


@dataclass(frozen=True, eq=False)
class Activation:
    """A network's pointwise nonlinearity.

    Args:
        function: 'relu', 'leaky_relu', 'elu' or 'softplus'.
        alias_free: an `AliasFree` (or its value 'none', 'radial', 'quincunx').
        bypass: quincunx only: compute σ(x) = a·x + b·|x| as a·x + b·AA(|x|) (only the kink is filtered); needs
            'relu' or 'leaky_relu'. ``None``: True for those two with the quincunx variant, else False.

    A plain activation equals its function name (``Activation('elu') == 'elu'``), as the strings it replaces did.
    """

    function: str = "relu"
    alias_free: AliasFree = AliasFree.NONE
    bypass: Optional[bool] = None

    def __post_init__(self):
        if self.function not in FUNCTIONS:
            hint = f" (deprecated form of {LEGACY_NAMES[self.function]}; use Activation.parse)" \
                if self.function in LEGACY_NAMES else ""
            raise ValueError(f"Activation.function must be one of {FUNCTIONS}, got {self.function!r}{hint}")
        try:
            object.__setattr__(self, "alias_free", AliasFree(self.alias_free))
        except ValueError:
            raise ValueError(f"Activation.alias_free must be one of {tuple(a.value for a in AliasFree)}, got "
                             f"{self.alias_free!r}") from None
        quincunx = self.alias_free is AliasFree.QUINCUNX
        if self.bypass is None:
            object.__setattr__(self, "bypass", quincunx and self.homogeneous)
        elif not isinstance(self.bypass, bool):
            raise TypeError(f"Activation.bypass must be True, False or None, got {self.bypass!r}")
        elif self.bypass and not (quincunx and self.homogeneous):
            raise ValueError(f"Activation.bypass=True needs alias_free='quincunx' and a function in "
                             f"{HOMOGENEOUS_FUNCTIONS}, got {self.function!r} with alias_free="
                             f"{self.alias_free.value!r}")

    def _key(self) -> tuple:
        return self.function, self.alias_free, self.bypass

    def __eq__(self, other) -> bool:
        if isinstance(other, Activation):
            return self._key() == other._key()
        if isinstance(other, str):
            return self.alias_free is AliasFree.NONE and other == self.function
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.function) if self.alias_free is AliasFree.NONE else hash(self._key())

    @property
    def homogeneous(self) -> bool:
        """Whether σ(c·x) = c·σ(x) for c >= 0 (what a bias-free network needs)."""
        return self.function in HOMOGENEOUS_FUNCTIONS

    @classmethod
    def parse(cls, value: Union["Activation", str, dict], name: str = "activation") -> "Activation":
        """An `Activation` from itself, a function name, a table ``{function, alias_free, bypass}`` or a deprecated
        string ('relu_aa', 'relu_aaq', ...: a DeprecationWarning; they will be refused in the next release)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"function", "alias_free", "bypass"})
            if unknown:
                raise ValueError(f"{name}: unknown key(s) {unknown}; expected function, alias_free, bypass")
            return cls(**value)
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string (a function name {FUNCTIONS}), an Activation or a table "
                            f"{{function, alias_free, bypass}}, got {value!r}")
        if value in LEGACY_NAMES:
            function, alias_free = LEGACY_NAMES[value]
            warnings.warn(f"{name}={value!r} is deprecated; use Activation({function!r}, alias_free="
                          f"{alias_free.value!r})", DeprecationWarning, stacklevel=3)
            return cls(function, alias_free)
        if value not in FUNCTIONS:
            raise ValueError(f"{name} must be one of {FUNCTIONS} (or an Activation), got {value!r}")
        return cls(value)

    def __str__(self) -> str:
        if self.alias_free is AliasFree.NONE:
            return self.function
        return f"{self.function} (alias-free, {self.alias_free.value}{', bypass' if self.bypass else ''})"
