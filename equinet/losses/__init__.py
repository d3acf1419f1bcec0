"""Training losses for equivariance by learning, one module per loss, all with the calling convention of
`equinet.losses.base` (``loss(LossInputs) -> {term name: weighted scalar}``). See ``docs/losses.md``.

Supervised: `SupervisedLoss`, `EISupLoss`, `DALoss` (need ground truth).
From measurements only: `MCLoss`, `EILoss`, `AdversarialEILoss`, the SURE losses
(`SureGaussianLoss`, `SurePoissonLoss`, `SurePGLoss`) and `REILoss`.
"""
from .adversarial import AdversarialEILoss, Discriminator
from .augmentation import DALoss
from .base import Loss, LossInputs, LossSum, total
from .ei import EILoss
from .ei_sup import EISupLoss
from .mc import MCLoss
from .rei import REILoss, sure_for
from .supervised import SupervisedLoss
from ._sure import SureLoss
from .sure_gaussian import SureGaussianLoss
from .sure_pg import SurePGLoss
from .sure_poisson import SurePoissonLoss

__all__ = ["Loss", "LossInputs", "LossSum", "total", "SupervisedLoss", "MCLoss", "EILoss", "EISupLoss",
           "AdversarialEILoss", "Discriminator", "SureLoss", "SureGaussianLoss", "SurePoissonLoss", "SurePGLoss",
           "REILoss", "sure_for", "DALoss"]
