"""A TensorBoard log of a training run, as a trainer callback: the loss and each named term, the learning rate and
the validation metrics, under ``out/tensorboard`` (``tensorboard --logdir out``).

Optional: it needs the ``tensorboard`` package (``pip install "equinet-imaging[tensorboard]"``); without it, building
the callback says so. A resumed run continues the same log: events written after the checkpoint it resumes from (by
the killed process) are purged, so the curves hold each step once, as ``log.csv`` does.

>>> import importlib.util
>>> cb = TensorBoardLog("runs/demo", every=10) if importlib.util.find_spec("tensorboard") else None
"""
from __future__ import annotations

import math
import os
from typing import Any

from ..utils.checks import check_positive_int
from .callbacks import Callback

__all__ = ["TensorBoardLog"]


def _summary_writer():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:  # torch raises ImportError when the tensorboard package is absent
        raise ImportError("TensorBoardLog needs the 'tensorboard' package: pip install "
                          "\"equinet-imaging[tensorboard]\" (or pip install tensorboard)") from err
    return SummaryWriter


class TensorBoardLog(Callback):
    """Scalars of a run in ``out/tensorboard``: ``train/loss``, ``train/<term>`` and ``train/lr`` every ``every``
    steps, ``val/psnr`` and ``val/ssim`` at every validation (step 0 included). Main process only (the trainer
    attaches it there when ``TrainConfig.tensorboard`` is set; or pass it in ``Trainer(callbacks=[...])``)."""

    def __init__(self, out: str, every: int = 10):
        self.folder = os.path.join(out, "tensorboard")
        self.every = check_positive_int(every, "every")
        self._writer_cls = _summary_writer()
        self.writer: Any = None  # a SummaryWriter while the run is on

    def on_fit_start(self, trainer):
        start = len(trainer.history.loss)
        # purge_step drops what a killed run logged after its checkpoint (steps are 1-based in the events)
        self.writer = self._writer_cls(self.folder, purge_step=start + 1 if start else None)

    def _validation(self, v: dict) -> None:
        for k in ("psnr", "ssim"):
            if k in v and v[k] is not None and math.isfinite(v[k]):
                self.writer.add_scalar(f"val/{k}", v[k], int(v["step"]))

    def on_optimizer_step(self, trainer, step):  # before the step's validation and checkpoint (which flushes)
        if step % self.every:
            return
        h = trainer.history
        self.writer.add_scalar("train/loss", h.loss[step - 1], step)
        self.writer.add_scalar("train/lr", h.lr[step - 1], step)
        for name, values in h.terms.items():
            if math.isfinite(values[step - 1]):
                self.writer.add_scalar(f"train/{name}", values[step - 1], step)

    def on_evaluation(self, trainer, step, metrics):
        if self.writer is not None:
            self._validation(dict(metrics, step=step))

    def on_checkpoint(self, trainer, step):
        self.writer.flush()

    def close(self, trainer):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    @staticmethod
    def read(folder: str) -> dict:
        """``{tag: [(step, value), ...]}`` of the scalars in a log folder (the ``tensorboard`` package's reader)."""
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(folder, size_guidance={"scalars": 0})
        acc.Reload()
        return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}

