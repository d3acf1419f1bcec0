"""The callbacks a `TrainConfig` asks for, built for one process of a run (`default_callbacks`)."""
from __future__ import annotations

from typing import Callable, Optional

from .callbacks import EMA, CSVLog, CurvePlots, EarlyStopping, ProgressBar, StepFunction
from .tensorboard import TensorBoardLog

__all__ = ["default_callbacks"]


def default_callbacks(config, out: Optional[str], title: str, progress=False,
                      callback: Optional[Callable[[int, float], None]] = None) -> list:
    """The callbacks a `TrainConfig` asks for: EMA and early stopping, the CSV log and curve plots in ``out`` (None:
    none, e.g. on the other processes), a progress bar (``progress``: True or a shared bar) and ``callback``."""
    cbs: list = [EMA(config.ema)] if config.ema is not None else []
    cbs += [EarlyStopping(config.early_stopping)] if config.early_stopping is not None else []
    if out is not None:
        cbs.append(CSVLog(out, config.log_every))
        cbs += [CurvePlots(out)] if config.plots else []
        cbs += [TensorBoardLog(out, config.log_every)] if config.tensorboard else []
    if progress is True or callable(getattr(progress, "update", None)):
        cbs.append(ProgressBar(None if progress is True else progress))
    return cbs + ([StepFunction(callback)] if callback is not None else [])
