"""Multi-operator imaging (MOI): learning from measurements ``y_i = A_{g_i} x_i`` of one family of operators.

Each item's own operator checks measurement consistency; another member of the family re-measures the
reconstruction and the model must give it back (cross-operator consistency, "Multiple Operators" in the imaging
paper; Tachella, Chen & Davies 2022). Together they see the union of what the members see: the family's stacked
operator, not one member, decides what can be learned (`equinet.diagnostics.family_rank`).
"""
from __future__ import annotations

import torch

from ..physics.family import PerSampleOperators
from ._common import check_image_like, check_weight, mse, remeasure
from .base import LOSSES, Loss, LossInputs

__all__ = ["MOILoss", "draw_other_operators", "moi_term"]


def _per_sample(physics, who: str) -> PerSampleOperators:
    if not isinstance(physics, PerSampleOperators):
        raise TypeError(f"{who} needs each item's operator from an operator family (equinet.physics.OperatorFamily:"
                        f" train with physics=family on its measurements); got {type(physics).__name__}")
    return physics


def draw_other_operators(operators: torch.Tensor, g: int, generator: torch.Generator,
                         distinct: bool = True) -> torch.Tensor:
    """One member index ``j_b`` per item, uniform over the ``g`` members, or (``distinct``, ``g > 1``) over the
    ``g - 1`` members other than the item's own ``operators[b]``; drawn from ``generator`` (CPU).

    >>> ops = torch.tensor([0, 1, 2, 0])
    >>> j = draw_other_operators(ops, 3, torch.Generator().manual_seed(0))
    >>> bool((j != ops).all()), bool(((j >= 0) & (j < 3)).all())
    (True, True)
    """
    ops = operators.to(device="cpu", dtype=torch.int64)
    if not distinct or g == 1:
        return torch.randint(0, g, ops.shape, generator=generator)
    r = torch.randint(0, g - 1, ops.shape, generator=generator)
    return r + (r >= ops).to(torch.int64)


def moi_term(inputs: LossInputs, others: torch.Tensor, noisy: bool) -> torch.Tensor:
    """``x3 = f(A_j x1, A_j)`` with ``A_j = family.select(others)`` (item ``b`` re-measured by member
    ``others[b]``; with noise ``noisy``), to be compared with ``x1``."""
    check_image_like(inputs.x1, "the MOI loss")
    A = _per_sample(inputs.physics, "the MOI loss")
    Aj = A.family.select(others)
    y2 = remeasure(Aj, inputs.x1, inputs.generator, noisy)
    return inputs.model(y2, Aj)


@LOSSES.register("moi")
class MOILoss(Loss):
    """``mc_weight · mean((A_i x1 − y)²) + weight · mean((f(A_j x1, A_j) − x1)²)``, ``x1 = f(y, A_i)``; terms
    ``'moi_mc'`` and ``'moi'``.

    ``A_i`` is each item's own operator (the trainer's per-sample operator of an `equinet.physics.OperatorFamily`),
    ``A_j`` a member drawn per item from the step's generator: another member than the item's own (``distinct``,
    when the family has more than one), or any member (``distinct=False``, as deepinv's ``MOILoss``, which draws one
    member for the whole batch). ``noise=True`` re-measures with the family's noise model (straight-through).
    Combine with `EILoss` for multi-operator EI (MOI + EI).
    """

    name = "moi"

    def __init__(self, weight: float = 1.0, mc_weight: float = 1.0, noise: bool = False, distinct: bool = True):
        super().__init__()
        self.weight = check_weight(weight)
        self.mc_weight = check_weight(mc_weight, "mc_weight")
        for label, v in (("noise", noise), ("distinct", distinct)):
            if not isinstance(v, bool):
                raise TypeError(f"{label} must be a bool, got {type(v).__name__}")
        self.noise, self.distinct = noise, distinct

    def terms(self, inputs: LossInputs):
        A = _per_sample(inputs.physics, "MOILoss")
        others = draw_other_operators(A.operators, len(A.family), inputs.generator, self.distinct)
        x3 = moi_term(inputs, others, self.noise)
        return {"moi_mc": self.mc_weight * mse(A(inputs.x1), inputs.y), self.name: self.weight * mse(x3, inputs.x1)}

    def extra_repr(self):
        return f"weight={self.weight}, mc_weight={self.mc_weight}, noise={self.noise}, distinct={self.distinct}"
