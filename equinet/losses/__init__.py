"""Training losses for equivariance by learning, one module per loss, all with the calling convention of
`equinet.losses.base` (``loss(LossInputs) -> {term name: weighted scalar}``). See ``docs/losses.md``.

Supervised: `SupervisedLoss`, `EISupLoss`, `DALoss` (need ground truth).
From measurements only: `MCLoss`, `EILoss`, `AdversarialEILoss`, the SURE losses
(`SureGaussianLoss`, `SurePoissonLoss`, `SurePGLoss`) and `REILoss`.
"""
from .base import LOSSES, Loss, LossInputs, LossSum, total
# the order of these imports is the order of the registry (the names a configuration error lists)
from .supervised import SupervisedLoss
from .mc import MCLoss
from .ei import EILoss
from .ei_sup import EISupLoss
from .adversarial import AdversarialEILoss, Discriminator
from ._sure import SureLoss
from .sure_gaussian import SureGaussianLoss
from .sure_poisson import SurePoissonLoss
from .sure_pg import SurePGLoss
from .rei import REILoss, sure_for
from .augmentation import DALoss
from ..utils.registry import import_submodules

import_submodules(__name__, __path__)  # a loss added as one new module registers itself: no edit here


__all__ = ["LOSSES", "Loss", "LossInputs", "LossSum", "total", "SupervisedLoss", "MCLoss", "EILoss", "EISupLoss",
           "AdversarialEILoss", "Discriminator", "SureLoss", "SureGaussianLoss", "SurePoissonLoss", "SurePGLoss",
           "REILoss", "sure_for", "DALoss"]
