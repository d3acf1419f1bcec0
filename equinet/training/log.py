"""The record of a training run: per-step losses (every term by name), validation metrics, a CSV file and plots.

The CSV and the figures are rewritten atomically from the whole `History`, so after a resume they hold
exactly the steps of the checkpoint followed by the new ones (no duplicated rows from a killed run).
"""
from __future__ import annotations

import csv
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from ..utils.io import atomic_path, save_figure

__all__ = ["History", "RunClock", "write_csv", "plot_history", "history_title", "read_csv"]


@dataclass
class History:
    """Per-step record: ``loss[t]`` is the total training loss of step ``t`` (over the global batch),
    ``terms[name][t]`` each named term, ``lr[t]`` the learning rate used; ``validation`` lists
    ``{'step', 'psnr', 'ssim'}`` of the held-out set (step 0 = before training)."""

    loss: List[float] = field(default_factory=list)
    lr: List[float] = field(default_factory=list)
    terms: Dict[str, List[float]] = field(default_factory=dict)
    validation: List[Dict[str, float]] = field(default_factory=list)
    steps: int = 0
    resumed_from: Optional[int] = None
    #: wall and CPU seconds of the training, summed over the processes that resumed it (kept in the checkpoint;
    #: not part of the deterministic result)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    #: set by the reproductions' training helper: whether the plateau rule stopped the run (None: no rule)
    converged: Optional[bool] = None

    def record(self, loss: float, lr: float, terms: Dict[str, float]) -> None:
        t = len(self.loss)
        for k in terms:
            self.terms.setdefault(k, [math.nan] * t)
        for k, v in self.terms.items():
            v.append(terms.get(k, math.nan))
        self.loss.append(loss)
        self.lr.append(lr)
        self.steps = len(self.loss)

    def to_dict(self) -> dict:
        return asdict(self)

    def state(self) -> dict:
        """What a checkpoint keeps (plain lists and dicts)."""
        return {"loss": list(self.loss), "lr": list(self.lr), "terms": {k: list(v) for k, v in self.terms.items()},
                "validation": [dict(v) for v in self.validation], "seconds": self.seconds,
                "cpu_seconds": self.cpu_seconds}

    @classmethod
    def from_state(cls, state: dict) -> "History":
        h = cls(loss=list(state["loss"]), lr=list(state["lr"]),
                terms={k: list(v) for k, v in state.get("terms", {}).items()},
                validation=[dict(v) for v in state.get("validation", [])])
        h.steps = len(h.loss)
        h.seconds, h.cpu_seconds = float(state.get("seconds", 0.0)), float(state.get("cpu_seconds", 0.0))
        return h


class RunClock:
    """Wall and CPU seconds of a run across resumes: those its `History` held when this process took it over, plus
    this process's since then (`stamp` writes the sums into the history, e.g. before a checkpoint)."""

    def __init__(self, history: History):
        self.base = (history.seconds, history.cpu_seconds)
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def stamp(self, history: History) -> None:
        history.seconds = self.base[0] + time.perf_counter() - self.t0
        history.cpu_seconds = self.base[1] + time.process_time() - self.c0


def write_csv(path: str, history: History) -> None:
    """One row per step: ``step, lr, loss, <terms...>, val_psnr, val_ssim`` (validation cells empty between
    evaluations; step 0 holds the evaluation before training). Floats are written with ``repr`` (exact)."""
    names = sorted(history.terms)
    val = {int(v["step"]): v for v in history.validation}
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["step", "lr", "loss", *names, "val_psnr", "val_ssim"])
            if 0 in val:
                w.writerow([0, "", "", *[""] * len(names), repr(val[0]["psnr"]), repr(val[0]["ssim"])])
            for t in range(len(history.loss)):
                v = val.get(t + 1)
                w.writerow([t + 1, repr(history.lr[t]), repr(history.loss[t]),
                            *[repr(history.terms[k][t]) for k in names],
                            "" if v is None else repr(v["psnr"]), "" if v is None else repr(v["ssim"])])


def read_csv(path: str) -> List[Dict[str, str]]:
    """The rows of a training CSV as dicts of strings."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


_TERM_NAMES = {"mc": "measurement consistency", "ei": "equivariant imaging", "sup": "supervised",
               "sure": "SURE", "rei": "robust EI", "adv": "adversarial"}


def history_title(history: History) -> str:
    """A title naming what was trained: ``'Training: measurement consistency + equivariant imaging (300 steps)'``.

    >>> h = History(); h.record(1.0, 1e-3, {"mc": 0.5, "ei": 0.5}); history_title(h)
    'Training: measurement consistency + equivariant imaging (1 step)'
    """
    terms = [_TERM_NAMES.get(k, k) for k in history.terms] or ["loss"]
    n = len(history.loss)
    return f"Training: {' + '.join(terms)} ({n} step{'s' if n != 1 else ''})"


def plot_history(path: str, history: History, title: str = "") -> None:
    """Loss curves (total and each term, log scale) and validation PSNR, in one figure written atomically; the title
    defaults to `history_title`. Without validation metrics the right panel says so instead of staying empty."""
    from ..utils.plotting import pyplot
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = range(1, len(history.loss) + 1)
    ax = axes[0]
    positive = all(v > 0 for v in history.loss if math.isfinite(v))
    ax.plot(steps, history.loss, color="k", lw=1.2, label="total")
    for name in sorted(history.terms):
        vals = history.terms[name]
        if len(history.terms) > 1:
            ax.plot(steps, vals, lw=0.9, label=_TERM_NAMES.get(name, name))
        positive = positive and all(v > 0 for v in vals if math.isfinite(v))
    if positive and history.loss:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("training loss", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[1]
    if history.validation:
        ax.plot([v["step"] for v in history.validation], [v["psnr"] for v in history.validation], "o-", ms=3,
                color="tab:red")
        ax.grid(alpha=0.3)
    else:
        ax.text(0.5, 0.5, "no validation set\n(pass validation data to the trainer)", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="0.4")
    ax.set_xlabel("step")
    ax.set_ylabel("validation PSNR (dB)")
    ax.set_title("validation PSNR", fontsize=9)
    fig.suptitle(title or history_title(history), fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
