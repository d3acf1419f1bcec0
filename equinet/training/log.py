"""The record of a training run: per-step losses (every term by name), validation metrics, a CSV file and plots.

The CSV and the figures are rewritten atomically from the whole `History`, so after a resume they hold
exactly the steps of the checkpoint followed by the new ones (no duplicated rows from a killed run).
"""
from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from ..utils.io import atomic_path, save_figure

__all__ = ["History", "write_csv", "plot_history", "read_csv"]


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
    seconds: float = 0.0  # wall time spent in this process (not part of the deterministic result)

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
                "validation": [dict(v) for v in self.validation]}

    @classmethod
    def from_state(cls, state: dict) -> "History":
        h = cls(loss=list(state["loss"]), lr=list(state["lr"]),
                terms={k: list(v) for k, v in state.get("terms", {}).items()},
                validation=[dict(v) for v in state.get("validation", [])])
        h.steps = len(h.loss)
        return h


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


def plot_history(path: str, history: History, title: str = "") -> None:
    """Loss curves (total and each term, log scale) and validation PSNR, in one figure written atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = range(1, len(history.loss) + 1)
    ax = axes[0]
    positive = all(v > 0 for v in history.loss if math.isfinite(v))
    ax.plot(steps, history.loss, color="k", lw=1.2, label="total")
    for name in sorted(history.terms):
        vals = history.terms[name]
        if len(history.terms) > 1:
            ax.plot(steps, vals, lw=0.9, label=name)
        positive = positive and all(v > 0 for v in vals if math.isfinite(v))
    if positive and history.loss:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    ax = axes[1]
    if history.validation:
        ax.plot([v["step"] for v in history.validation], [v["psnr"] for v in history.validation], "o-", ms=3)
    ax.set_xlabel("step")
    ax.set_ylabel("validation PSNR (dB)")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
