"""Training losses for equivariance by learning (one module per loss) and their calling convention
(:mod:`equinet.losses.base`)."""
from .base import Loss, LossInputs, LossSum, total

__all__ = ["Loss", "LossInputs", "LossSum", "total"]
