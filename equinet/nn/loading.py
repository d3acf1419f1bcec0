"""All-or-nothing loading of state dicts: every layer's signature is checked before any tensor is copied, and a
load that fails half-way (a shape torch refuses, a missing key) restores every parameter and buffer, so a refused
load leaves the model bit-identical.

Layers that carry a signature implement ``_state_problems(state_dict, prefix) -> list of messages``
(`equinet.nn.SteerableConv2d`: its kernel basis; `equinet.nn.EquivariantBatchNorm`: its field type).
Every equinet model (`AllOrNothingLoad` is mixed into `EquivariantModule`, the reconstructors and unrolled PGD)
loads this way; `load_state_dict` does it for any other module (e.g. a user's wrapper around equinet layers).

Example:

    >>> import torch
    >>> from equinet import groups
    >>> from equinet.nn import FieldType, SteerableConv2d
    >>> C4, D2 = groups.cyclic(4), groups.dihedral(2)
    >>> a = SteerableConv2d(FieldType.regular(C4, 1), FieldType.regular(C4, 1), 3)
    >>> b = SteerableConv2d(FieldType.regular(D2, 1), FieldType.regular(D2, 1), 3)
    >>> before = a.weight.clone()
    >>> try:
    ...     a.load_state_dict(b.state_dict())
    ... except ValueError as err:
    ...     print(str(err).splitlines()[0][:60])
    state dict refused (1 layer): SteerableConv2d: the state dic
    >>> torch.equal(a.weight, before)
    True
"""
from __future__ import annotations

import contextlib
from typing import Iterator, List, Mapping, Protocol, cast

import torch
from torch import nn

__all__ = ["state_dict_problems", "load_state_dict", "AllOrNothingLoad", "refuse_mismatch"]


class ChecksItsState(Protocol):
    """A layer that says why it refuses a state dict (SteerableConv2d, EquivariantBatchNorm)."""

    def _state_problems(self, state_dict: Mapping, prefix: str) -> list: ...


def refuse_mismatch(layer: ChecksItsState, state_dict: Mapping, prefix: str) -> None:
    """Raise the first of ``layer._state_problems(state_dict, prefix)`` as a ValueError (a layer's own check, run
    before it copies anything when it is loaded on its own)."""
    problems = layer._state_problems(state_dict, prefix)
    if problems:
        raise ValueError(problems[0])


def state_dict_problems(module: nn.Module, state_dict: Mapping) -> List[str]:
    """The signature mismatches of every layer of ``module`` against ``state_dict`` ([] if none)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}")
    problems: List[str] = []
    for name, sub in module.named_modules():
        check = getattr(sub, "_state_problems", None)
        if callable(check):
            problems += check(state_dict, f"{name}." if name else "")
    return problems


@contextlib.contextmanager
def _restored_on_error(module: nn.Module) -> Iterator[None]:
    saved = []
    for m in module.modules():
        for kind in ("_parameters", "_buffers"):
            for name, t in getattr(m, kind).items():
                if t is not None:
                    saved.append((m, kind, name, t, t.detach().clone()))
    try:
        yield
    except BaseException:
        with torch.no_grad():
            for m, kind, name, t, copy in saved:
                getattr(m, kind)[name] = t  # undo load_state_dict(assign=True) replacing the object
                if t.shape != copy.shape:
                    t.data = copy
                else:
                    t.copy_(copy)
        raise


def load_state_dict(module: nn.Module, state_dict: Mapping, strict: bool = True, assign: bool = False):
    """``module.load_state_dict(state_dict)``, all or nothing: every layer's signature is checked first (one
    ``ValueError`` naming every mismatching layer), and a load that fails later leaves the module as it was."""
    problems = state_dict_problems(module, state_dict)
    if problems:
        head = f"state dict refused ({len(problems)} layer{'s' if len(problems) > 1 else ''}): "
        raise ValueError(head + "\n".join(problems) + "\nnothing was loaded; the model is unchanged")
    with _restored_on_error(module):
        return nn.Module.load_state_dict(module, state_dict, strict=strict, assign=assign)


class AllOrNothingLoad:
    """Mixin for ``nn.Module`` subclasses: their ``load_state_dict`` is `load_state_dict` (all or nothing)."""

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        return load_state_dict(cast(nn.Module, self), state_dict, strict=strict, assign=assign)  # (a Module mixin)
