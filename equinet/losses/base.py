"""The one calling convention of every training loss in ``equinet.losses``.

A training step hands each loss a `LossInputs`: the measurements ``y``, the ``physics`` that produced them,
the reconstruction network ``model`` (called as ``model(y, physics)``), its output ``x1 = model(y, physics)``
computed once per step and shared by all losses, a CPU ``generator`` seeded for this step (transform parameters,
re-simulated noise, Monte-Carlo probes), and the ground truth ``x`` **only** for losses that declare
``needs_ground_truth = True``. Unsupervised losses (MC, EI, SURE, REI, adversarial EI) receive ``x=None``: the
trainer guarantees they never see the ground truth.

A loss returns a dict of named scalar terms, each already weighted; the trainer minimises their sum and logs
every term by name. float16/bfloat16 measurements and reconstructions are promoted to float32 before a loss
sees them, so the terms are float32 scalars (the sums and Monte-Carlo differences of SURE lose too much in 16
bits). Losses with an adversary (a discriminator) expose it as ``loss.discriminator`` and implement
`Loss.adversary_step`, which the trainer calls with the adversary's own optimizer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence

import torch
from torch import nn

from ..utils.registry import Registry

__all__ = ["LossInputs", "Loss", "LossSum", "total", "LOSSES"]

#: name -> loss class (the TOML's ``[[loss]] name``); each loss registers itself in its own module
LOSSES: Registry = Registry("loss")

Model = Callable[[torch.Tensor, Any], torch.Tensor]


@dataclass
class LossInputs:
    """What a loss sees at one training step (see the module docstring)."""

    y: torch.Tensor
    physics: Any
    model: Model
    x1: torch.Tensor
    generator: torch.Generator
    x: Optional[torch.Tensor] = None

    def __post_init__(self):
        from ..interop.deepinv_physics import as_physics  # a deepinv operator: its noise-free equinet view
        self.physics = as_physics(self.physics)

    def ground_truth(self) -> torch.Tensor:
        """``x``, which a loss that declares ``needs_ground_truth`` always receives."""
        if self.x is None:
            raise ValueError("this loss needs the ground-truth images x (paired data)")
        return self.x

    def in_float32(self) -> "LossInputs":
        """The same inputs with float16/bfloat16 tensors promoted to float32 (differentiably): the precision rule
        of the losses (terms are computed and returned in float32; see docs/losses.md)."""
        def up(t):
            return t.float() if isinstance(t, torch.Tensor) and t.dtype in (torch.float16, torch.bfloat16) else t
        return LossInputs(up(self.y), self.physics, self.model, up(self.x1), self.generator, up(self.x))

    def without_ground_truth(self) -> "LossInputs":
        """The same inputs with the ground truth removed (what unsupervised losses get)."""
        return LossInputs(self.y, self.physics, self.model, self.x1, self.generator, None)


class Loss(nn.Module):
    """Base class: ``loss(inputs) -> {term name: weighted scalar}``.

    Subclasses set `name` (the prefix of their term names), `needs_ground_truth`, and implement
    `terms`. ``forward`` checks that every returned term is a finite-or-not scalar tensor and hides the ground
    truth from losses that do not declare they need it.
    """

    name: str = "loss"
    needs_ground_truth: bool = False

    @property
    def discriminator(self) -> Optional[nn.Module]:
        """The adversary of this loss (a submodule registered as ``self.discriminator = ...``), or None."""
        return self._modules.get("discriminator")

    def terms(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must implement terms(inputs)")

    def forward(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        if not isinstance(inputs, LossInputs):
            raise TypeError(f"{type(self).__name__} expects an equinet.losses.LossInputs, got {type(inputs).__name__}")
        if self.needs_ground_truth:
            if inputs.x is None:
                raise ValueError(f"{type(self).__name__} needs ground-truth images, but this dataset has "
                                 "measurements only; use an unsupervised loss (MC, EI, SURE, REI)")
        else:
            inputs = inputs.without_ground_truth()
        out = self.terms(inputs.in_float32())
        if not isinstance(out, dict) or not out:
            raise TypeError(f"{type(self).__name__}.terms must return a non-empty dict of scalar tensors")
        for k, v in out.items():
            if not isinstance(v, torch.Tensor) or v.dim() != 0:
                raise TypeError(f"{type(self).__name__}: term {k!r} must be a scalar tensor, got "
                                f"{type(v).__name__} of shape {tuple(getattr(v, 'shape', ()))}")
        return out

    def adversary_step(self, inputs: LossInputs, optimizer: torch.optim.Optimizer) -> Dict[str, float]:
        """One update of the adversary (only for losses with a `discriminator`); returns logged values."""
        raise NotImplementedError(f"{type(self).__name__} has no adversary")


class LossSum(Loss):
    """Several losses used together; their terms are merged (names must not collide)."""

    name = "sum"

    def __init__(self, losses: Sequence[Loss]):
        super().__init__()
        losses = list(losses)
        if not losses or not all(isinstance(l, Loss) for l in losses):
            raise TypeError("LossSum expects a non-empty list of equinet.losses.Loss")
        self.losses = nn.ModuleList(losses)
        self.needs_ground_truth = any(l.needs_ground_truth for l in losses)
        adversaries = [l for l in losses if l.discriminator is not None]
        if len(adversaries) > 1:
            raise ValueError("at most one loss with a discriminator can be combined")
        self._adversarial = adversaries[0] if adversaries else None

    @property
    def discriminator(self):
        return None if self._adversarial is None else self._adversarial.discriminator

    def terms(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        out: Dict[str, torch.Tensor] = {}
        for l in self.losses:
            for k, v in l(inputs).items():
                if k in out:
                    raise ValueError(f"two losses report a term named {k!r}; give them distinct names")
                out[k] = v
        return out

    def adversary_step(self, inputs, optimizer):
        if self._adversarial is None:
            return super().adversary_step(inputs, optimizer)
        return self._adversarial.adversary_step(inputs, optimizer)


def total(terms: Dict[str, torch.Tensor]) -> torch.Tensor:
    """The sum of the terms a loss returned (what the trainer minimises)."""
    return torch.stack(list(terms.values())).sum()
