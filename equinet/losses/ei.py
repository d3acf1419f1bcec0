"""Equivariant imaging loss (EI paper eq. 6, second term; imaging paper eq. 19) and its robust (noisy) variant."""
from __future__ import annotations

from ._common import check_image_like, check_transform, check_weight, mse, remeasure
from .base import LOSSES, Loss, LossInputs

__all__ = ["EILoss", "ei_term"]


def ei_term(inputs: LossInputs, transform, noisy: bool):
    """``(x2, x3)``: ``x2 = T_g x1`` (``g`` drawn per image from ``inputs.generator``), ``x3 = f(A x2)`` or
    ``f(noise(A x2))``."""
    check_image_like(inputs.x1, "the EI loss")
    params = transform.sample(inputs.x1.shape[0], inputs.generator)
    x2 = transform.apply(inputs.x1, params)
    y2 = remeasure(inputs.physics, x2, inputs.generator, noisy)
    x3 = inputs.model(y2, inputs.physics)
    return x2, x3


@LOSSES.register("ei")
class EILoss(Loss):
    """``weight * mean((x3 - x2)^2)``, ``x1 = f(y, A)``, ``x2 = T_g x1``, ``x3 = f(A x2, A)``; term ``'ei'``.

    ``noise=False`` (default) re-measures ``A x2`` without noise, as in the EI paper (Algorithm 1); ``noise=True``
    re-measures with the physics' own noise model (the robust-EI term of REI; deepinv's default). With
    ``transform.n_trans = n`` the batch is used ``n`` times with independent transformations.
    """

    name = "ei"

    def __init__(self, transform, weight: float = 1.0, noise: bool = False):
        super().__init__()
        self.transform = check_transform(transform)
        self.weight = check_weight(weight)
        if not isinstance(noise, bool):
            raise TypeError(f"noise must be a bool, got {type(noise).__name__}")
        self.noise = noise

    def terms(self, inputs: LossInputs):
        x2, x3 = ei_term(inputs, self.transform, self.noise)
        return {self.name: self.weight * mse(x3, x2)}

    def extra_repr(self):
        return f"transform={self.transform!r}, weight={self.weight}, noise={self.noise}"
