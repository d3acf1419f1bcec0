"""Robust equivariant imaging (REI, Chen et al. CVPR 2022; imaging paper Fig. 9): SURE + robust EI."""
from __future__ import annotations

from typing import Optional

from ..physics.noise import GaussianNoise, PoissonGaussianNoise, PoissonNoise
from ._common import check_transform, check_weight, mse, noise_of
from ._sure import SureLoss
from .base import LOSSES, Loss, LossInputs
from .ei import ei_term
from .sure_gaussian import SureGaussianLoss
from .sure_pg import SurePGLoss
from .sure_poisson import SurePoissonLoss

__all__ = ["REILoss", "sure_for"]


def sure_for(noise, **kwargs) -> SureLoss:
    """The SURE loss that matches an equinet noise model (Gaussian, Poisson or Poisson-Gaussian)."""
    kinds = {GaussianNoise: SureGaussianLoss, PoissonNoise: SurePoissonLoss, PoissonGaussianNoise: SurePGLoss}
    cls = kinds.get(type(noise))
    if cls is None:
        raise ValueError(f"no SURE loss for {type(noise).__name__}; REI needs GaussianNoise, PoissonNoise or "
                         "PoissonGaussianNoise on the physics (use EILoss + MCLoss for noise-free data)")
    return cls(**kwargs)


@LOSSES.register("rei")
class REILoss(Loss):
    """Terms ``'sure'`` (SURE for the physics' noise model, or the ``sure`` loss given) and
    ``'ei' = weight * mean((x3 - x2)^2)`` with ``x3 = f(noise(A T_g x1))`` (the robust EI term).

    ``sure=None`` picks `SureGaussianLoss`, `SurePoissonLoss` or `SurePGLoss` from
    ``physics.noise`` at each call, with the noise parameters read from it; ``sure_kwargs`` (tau, probe, ...)
    are passed to it.
    """

    name = "rei"

    def __init__(self, transform, weight: float = 1.0, sure: Optional[SureLoss] = None, **sure_kwargs):
        super().__init__()
        self.transform = check_transform(transform)
        self.weight = check_weight(weight)
        if sure is not None and not isinstance(sure, SureLoss):
            raise TypeError(f"sure must be one of the equinet SURE losses, got {type(sure).__name__}")
        if sure is not None and sure_kwargs:
            raise ValueError("give either a sure loss or keyword arguments for the automatic one, not both")
        self.sure = sure
        self._sure_kwargs = dict(sure_kwargs)
        self._auto: dict = {}

    def _sure_loss(self, physics) -> SureLoss:
        if self.sure is not None:
            return self.sure
        noise = noise_of(physics)
        key = type(noise)
        if key not in self._auto:
            self._auto[key] = sure_for(noise, **self._sure_kwargs)
        return self._auto[key]

    def terms(self, inputs: LossInputs):
        out = dict(self._sure_loss(inputs.physics)(inputs))
        x2, x3 = ei_term(inputs, self.transform, noisy=True)
        out["ei"] = self.weight * mse(x3, x2)
        return out

    def extra_repr(self):
        auto = "" if self.sure is not None else f", sure=auto{self._sure_kwargs or ''}"  # a given one is a child
        return f"transform={self.transform!r}, weight={self.weight}" + auto
