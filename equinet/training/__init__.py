"""Training loops for reconstruction networks (supervised now; EI/DA losses plug into :func:`fit` as ``batch_loss``)."""
from .supervised import SCHEDULES, History, fit, fit_supervised, mse_loss, resolve_device, supervised_loss  # noqa: F401

__all__ = ["fit", "fit_supervised", "supervised_loss", "mse_loss", "History", "resolve_device", "SCHEDULES"]
