"""Trainer events and the callbacks attached to them: the CSV log, the progress bar, curve plots, an exponential
moving average of the weights and early stopping. A callback overrides any of

* ``on_fit_start(trainer)``; ``on_optimizer_step(trainer, step)`` right after each optimizer step (before any
  validation or checkpoint of that step);
* ``before_evaluation(trainer)`` / ``after_evaluation(trainer)`` around each validation (the weights it
  evaluates may be swapped in and back out);
* ``on_evaluation(trainer, step, metrics)`` after each validation (``metrics``: ``{'psnr', 'ssim'}``);
* ``on_checkpoint(trainer, step)`` after each checkpoint is written;
* ``on_step(trainer, step, loss)`` at the end of each step (``step`` counted from 1);
* ``on_fit_end(trainer)`` when the run completes (or stops early); ``close(trainer)`` whenever it stops (also on
  an error or an interruption);

and, to be restored by an exact resume, ``state_dict()`` / ``load_state_dict(state)`` (kept in the checkpoint
under the callback's ``key``). A callback that may stop the run sets ``trainer.stop_requested = True``.

>>> ema = EMA(decay=0.9)
>>> ema.key, EarlyStopping(patience=2).key
('ema', 'early_stopping')
"""
from __future__ import annotations

import math
import os
from typing import Callable, Dict, Optional

import torch

from ..utils.checks import check_positive_int
from ..utils.progress import Progress
from .log import plot_history, write_csv

__all__ = ["Callback", "StopWhen", "CSVLog", "ProgressBar", "CurvePlots", "StepFunction", "EMA",
           "EarlyStopping"]


class Callback:
    """Base class: every event does nothing; ``key`` names the callback's state in a checkpoint (None: no state)."""

    key: Optional[str] = None
    #: whether the callback may set ``trainer.stop_requested`` (the request is then shared by every process)
    can_stop: bool = False

    def on_fit_start(self, trainer) -> None: ...

    def on_optimizer_step(self, trainer, step: int) -> None: ...

    def before_evaluation(self, trainer) -> None: ...

    def after_evaluation(self, trainer) -> None: ...

    def on_evaluation(self, trainer, step: int, metrics: Dict[str, float]) -> None: ...

    def on_checkpoint(self, trainer, step: int) -> None: ...

    def on_step(self, trainer, step: int, loss: float) -> None: ...

    def on_fit_end(self, trainer) -> None: ...

    def close(self, trainer) -> None:
        """Called when the run stops, completed or not (after ``on_fit_end`` when completed)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


class CSVLog(Callback):
    """``log.csv`` in ``out`` (main process): rewritten whole at every checkpoint, every ``log_every`` steps in
    between, and at the end of a run without checkpoints."""

    def __init__(self, out: str, log_every: int):
        self.path, self.log_every = os.path.join(out, "log.csv"), check_positive_int(log_every, "log_every")
        self._written = -1

    def _write(self, trainer, step: int) -> None:
        write_csv(self.path, trainer.history)
        self._written = step

    def on_checkpoint(self, trainer, step):
        self._write(trainer, step)

    def on_step(self, trainer, step, loss):
        if step % self.log_every == 0 and self._written != step:
            self._write(trainer, step)

    def on_fit_end(self, trainer):
        if trainer.checkpoint is None:
            self._write(trainer, len(trainer.history.loss))


class CurvePlots(Callback):
    """``curves.png`` in ``out`` (main process): the loss terms and validation curves, at every checkpoint (and at the
    end of a run without checkpoints)."""

    def __init__(self, out: str, title: str = ""):  # title: "" = `equinet.training.log.history_title`
        self.path, self.title = os.path.join(out, "curves.png"), title

    def on_checkpoint(self, trainer, step):
        plot_history(self.path, trainer.history, title=self.title)

    def on_fit_end(self, trainer):
        if trainer.checkpoint is None:
            plot_history(self.path, trainer.history, title=self.title)


class ProgressBar(Callback):
    """A progress bar of the steps (its own, closed at the end), or any object with ``update(n, postfix=None)``
    (e.g. a shared `equinet.utils.progress.Progress` or the experiment runner's worker progress)."""

    def __init__(self, bar=None):
        self.bar, self.own = bar, bar is None

    def on_fit_start(self, trainer):
        if self.own:
            self.bar = Progress(total=trainer.total, desc="train", unit="step")
        start = len(trainer.history.loss)
        if start:
            self.bar.update(start)

    def on_step(self, trainer, step, loss):
        self.bar.update(1, postfix=f"loss={loss:.3g}")

    def close(self, trainer):
        if self.own and self.bar is not None:
            self.bar.close()


class StepFunction(Callback):
    """``fn(step, loss)`` at the end of every step (the trainer's ``callback=`` argument)."""

    def __init__(self, fn: Callable[[int, float], None]):
        self.fn = fn

    def on_step(self, trainer, step, loss):
        self.fn(step, loss)


class StopWhen(Callback):
    """Stop when ``fn(history)`` says so, asked after every validation and once when a run resumes (e.g.
    `equinet.training.convergence.UntilConverged`, whose state lives in the run's schedule)."""

    can_stop = True

    def __init__(self, fn: Callable):
        self.fn = fn

    def on_fit_start(self, trainer):
        if trainer.history.loss and self.fn(trainer.history):
            trainer.stop_requested = True

    def on_evaluation(self, trainer, step, metrics):
        if step > 0 and self.fn(trainer.history):  # not asked before the first step
            trainer.stop_requested = True


class EMA(Callback):
    """Exponential moving average of the model's floating-point parameters and buffers:
    ``avg <- decay · avg + (1 - decay) · w`` after every optimizer step (``avg`` starts at the initial weights).
    The validation evaluates the average (swapped in, then the training weights back), and when the run ends the
    model keeps the average (``apply_at_end``; the checkpoint keeps the training weights, so a resumed or extended
    run continues exactly). ``copy_to(module)`` loads the averages into a model of the same architecture;
    ``average`` is the state dict of averages. Saved in the checkpoint, so a resumed run continues the same
    average."""

    key = "ema"

    def __init__(self, decay: float = 0.999, apply_at_end: bool = True):
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
            raise ValueError(f"decay must be in (0, 1), got {decay!r}")
        self.decay, self.apply_at_end = float(decay), bool(apply_at_end)
        self.average: Optional[Dict[str, torch.Tensor]] = None
        self._training: Optional[Dict[str, torch.Tensor]] = None

    def before_evaluation(self, trainer):
        if self.average is not None:
            self._training = {k: v.detach().clone() for k, v in self._tracked(trainer.model).items()}
            self.copy_to(trainer.model)

    def after_evaluation(self, trainer):
        if self._training is not None:
            trainer.model.load_state_dict({**trainer.model.state_dict(), **self._training})
            self._training = None

    def on_fit_end(self, trainer):
        if self.apply_at_end and self.average is not None:
            self.copy_to(trainer.model)

    @staticmethod
    def _tracked(model) -> Dict[str, torch.Tensor]:
        return {k: v for k, v in model.state_dict().items() if torch.is_tensor(v) and v.is_floating_point()}

    def on_fit_start(self, trainer):
        if self.average is None:
            self.average = {k: v.detach().clone() for k, v in self._tracked(trainer.model).items()}

    @torch.no_grad()
    def on_optimizer_step(self, trainer, step):
        assert self.average is not None  # set by on_fit_start
        for k, v in self._tracked(trainer.model).items():
            self.average[k].mul_(self.decay).add_(v.detach(), alpha=1.0 - self.decay)

    def copy_to(self, module) -> None:
        """Load the averaged weights into ``module`` (other entries of its state dict are kept)."""
        if self.average is None:
            raise ValueError("EMA has no average yet (it starts with the training)")
        module.load_state_dict({**module.state_dict(), **self.average})

    def state_dict(self) -> dict:
        return {"decay": self.decay, "average": self.average}

    def load_state_dict(self, state: dict) -> None:
        self.decay, self.average = state["decay"], state["average"]


class EarlyStopping(Callback):
    """Stop after ``patience`` validations in a row without a validation PSNR above the best so far (by more than
    ``min_delta`` dB). Needs validation data; its record is saved in the checkpoint."""

    key = "early_stopping"
    can_stop = True

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience = check_positive_int(patience, "patience")
        self.min_delta = float(min_delta)
        self.best, self.bad, self.stopped_at = -math.inf, 0, None

    def on_fit_start(self, trainer):
        if trainer.validation is None:
            raise ValueError("EarlyStopping needs validation data (Trainer(validation=...))")
        if self.stopped_at is not None:
            trainer.stop_requested = True  # a resumed run that had already stopped stays stopped

    def on_evaluation(self, trainer, step, metrics):
        if step == 0:
            self.best = metrics["psnr"]
            return
        if metrics["psnr"] > self.best + self.min_delta:
            self.best, self.bad = metrics["psnr"], 0
        else:
            self.bad += 1
        if self.bad >= self.patience:
            self.stopped_at = step
            trainer.stop_requested = True

    def state_dict(self) -> dict:
        return {"best": self.best, "bad": self.bad, "stopped_at": self.stopped_at}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad, self.stopped_at = state["best"], state["bad"], state["stopped_at"]

