"""Training losses for equivariance by learning, one module per loss, all with the calling convention of
`equinet.losses.base` (``loss(LossInputs) -> {term name: weighted scalar}``). See ``docs/losses.md``.

Supervised: `SupervisedLoss`, `EISupLoss`, `DALoss` (need ground truth).
From measurements only: `MCLoss`, `EILoss`, `AdversarialEILoss`, the SURE losses
(`SureGaussianLoss`, `SurePoissonLoss`, `SurePGLoss`) and `REILoss`; from measurements of several operators (an
`equinet.physics.OperatorFamily`): `MOILoss`.

>>> import torch
>>> from equinet.losses import EILoss, LossInputs, LossSum, MCLoss, total
>>> from equinet.physics import Inpainting
>>> from equinet.transforms import Rot90
>>> A = Inpainting(8, drop=0.3, seed=0)
>>> model = lambda y, physics: physics.pinv(y)
>>> y = A(torch.rand(2, 1, 8, 8))
>>> loss = LossSum([MCLoss(), EILoss(Rot90(), weight=0.5)])
>>> terms = loss(LossInputs(y, A, model, model(y, A), torch.Generator().manual_seed(0)))
>>> sorted(terms), float(terms["mc"])          # A A†y = y for inpainting: MC is zero
(['ei', 'mc'], 0.0)
"""
# The order of these imports is the order of the registry (the names a configuration error lists).
# isort: off
from .base import LOSSES, Loss, LossInputs, LossSum, total
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
from .moi import MOILoss
from ..utils.registry import import_submodules
# isort: on

import_submodules(__name__, __path__)  # a loss added as one new module registers itself: no edit here


__all__ = ["LOSSES", "Loss", "LossInputs", "LossSum", "total", "SupervisedLoss", "MCLoss", "EILoss", "EISupLoss",
           "AdversarialEILoss", "Discriminator", "SureLoss", "SureGaussianLoss", "SurePoissonLoss", "SurePGLoss",
           "REILoss", "sure_for", "DALoss", "MOILoss"]
