"""Training with several operators: an `equinet.physics.OperatorFamily` as the trainer's physics, each item
measured, reconstructed and scored with its own member (the dataset's operator indices, or ``i mod g`` for image
item ``i``)."""
from __future__ import annotations

from typing import Optional

import torch

from ..physics.family import OperatorFamily

__all__ = ["family_of", "operators_of"]


def family_of(physics, fixed_data, validation, measure) -> Optional[OperatorFamily]:
    """``physics`` if it is a family (else None), after checking that the fixed training data (None: images) and the
    validation data carry operator indices exactly when it is one, and that no ``measure`` is given with one."""
    family = physics if isinstance(physics, OperatorFamily) else None
    _check_operator_indices(family, fixed_data, "training data")
    _check_operator_indices(family, validation, "validation data")
    if family is not None and measure is not None:
        raise ValueError("measure= simulates one operator; with an OperatorFamily each item is measured by its own "
                         "member (leave measure unset)")
    return family


def operators_of(family: Optional[OperatorFamily], physics, data, ids: torch.Tensor):
    """The operator of the items ``ids`` of the trainer's ``data`` (`equinet.training.sampling.TrainingData`):
    ``physics`` itself without a family, else the members of the items (``family.select``)."""
    if family is None:
        return physics
    ops = data.data.operators_of(ids) if data.fixed else family.assignment(data.n)[ids]
    return family.select(ops)


def _check_operator_indices(family, dataset, what: str) -> None:
    """A dataset's operator indices fit the physics: present (and in range) with a family, absent without."""
    ops = None if dataset is None else getattr(dataset, "operators", None)
    if family is None:
        if ops is not None:
            raise ValueError(f"the {what} carry per-sample operator indices but the physics is a single operator; pass "
                             "the equinet.physics.OperatorFamily that measured them")
        return
    if dataset is not None and ops is None:
        raise ValueError(f"the physics is an OperatorFamily but the {what} carry no operator indices; measure them "
                         "with equinet.data.simulate_measurements(family, images, ...)")
    if ops is not None:
        try:
            family.check_operators(ops)
        except ValueError as err:
            raise ValueError(f"the {what}: {err}") from None
