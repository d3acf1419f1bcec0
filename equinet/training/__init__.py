"""Training of reconstruction networks with any `equinet.losses` loss: the `Trainer` (exact resume,
multi-process with torchrun), TOML run configurations, and the supervised shortcut `fit_supervised`.
See ``docs/training.md``."""
from .callbacks import EMA, Callback, CSVLog, CurvePlots, EarlyStopping, ProgressBar  # noqa: F401
from .log import History, plot_history, read_csv, write_csv  # noqa: F401
from .precision import PRECISIONS, Precision  # noqa: F401
from .sampling import TrainingData, batch_indices, step_generator  # noqa: F401
from .schedules import SCHEDULES, CosineSchedule, make_schedule  # noqa: F401
from .supervised import fit_supervised, mse_loss  # noqa: F401
from .train_config import TrainConfig  # noqa: F401
from .trainer import Trainer, preflight, resolve_device  # noqa: F401

__all__ = ["Trainer", "TrainConfig", "Callback", "EMA", "EarlyStopping", "CSVLog", "CurvePlots", "ProgressBar",
           "History", "fit_supervised", "mse_loss", "resolve_device", "preflight", "batch_indices",
           "step_generator", "TrainingData", "Precision", "PRECISIONS",
           "SCHEDULES", "CosineSchedule", "make_schedule", "write_csv", "read_csv", "plot_history"]
