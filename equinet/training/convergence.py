"""Training until convergence: a plateau rule on held-out PSNR, then a learning-rate cool-down.

The recipe (``train until converged``):

1. train at the optimiser's constant learning rate, evaluating a held-out validation split every ``val_every``
   steps;
2. the **plateau rule** holds at step ``s`` (``s >= min_steps``) when the best validation PSNR so far rose by less
   than ``tol_db`` over the last ``window`` fraction of the steps: ``best(s) - best((1 - window) s) < tol_db``;
3. then the learning rate decays to zero along a half cosine over ``cooldown · s`` more steps (rounded up to a
   multiple of ``val_every``), and training stops. The reported model is the one at the end of the cool-down.

A run whose rule has not held when a cool-down would no longer fit before its step cap cools down into the cap
(``max_steps``) and is reported as not converged.

`PlateauCooldown` is the learning-rate schedule (its state, with the cool-down's start, is saved in the trainer's
checkpoints, so a resumed run continues exactly); `UntilConverged` is the trainer's ``stop_when`` callable that
watches the validation history and starts the cool-down.

>>> import torch
>>> rule = PlateauRule(tol_db=0.1, window=0.2, min_steps=100)
>>> rule.holds([(0, 20.0), (50, 25.0), (100, 27.0), (150, 27.05), (200, 27.08)])
True
>>> rule.holds([(0, 20.0), (50, 25.0), (100, 27.0), (150, 27.5), (200, 28.0)])
False
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch

from ..utils.checks import check_positive_int

__all__ = ["PlateauRule", "PlateauCooldown", "UntilConverged"]


def _fraction(v, name: str, closed_low: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or \
            not ((0 <= v) if closed_low else (0 < v)) or not v < 1:
        raise ValueError(f"{name} must be a number in {'[0' if closed_low else '(0'}, 1), got {v!r}")
    return float(v)


@dataclass(frozen=True)
class PlateauRule:
    """The plateau rule: the best held-out PSNR so far rose by less than ``tol_db`` dB over the last ``window``
    fraction of the steps, at ``min_steps`` steps or later."""

    tol_db: float = 0.1
    window: float = 0.2
    min_steps: int = 1000

    def __post_init__(self):
        if isinstance(self.tol_db, bool) or not isinstance(self.tol_db, (int, float)) or \
                not (math.isfinite(self.tol_db) and self.tol_db > 0):
            raise ValueError(f"PlateauRule.tol_db must be a positive number of dB, got {self.tol_db!r}")
        _fraction(self.window, "PlateauRule.window")
        check_positive_int(self.min_steps, "PlateauRule.min_steps")

    def rise(self, curve: Sequence[Tuple[int, float]]) -> Optional[float]:
        """``best(s) - best((1 - window) s)`` at the curve's last step ``s`` (None before two points)."""
        if len(curve) < 2:
            return None
        s = curve[-1][0]
        best_now = max(p for _, p in curve)
        earlier = [p for t, p in curve if t <= (1.0 - self.window) * s]
        if not earlier:
            return None
        return best_now - max(earlier)

    def holds(self, curve: Sequence[Tuple[int, float]]) -> bool:
        """Whether the rule holds at the last point of ``curve`` = ``[(step, psnr), ...]`` (steps increasing)."""
        if not curve or curve[-1][0] < self.min_steps:
            return False
        r = self.rise(curve)
        return r is not None and r < self.tol_db


class PlateauCooldown(torch.optim.lr_scheduler.LRScheduler):
    """Constant learning rate until `start_cooldown` is called, then a half-cosine decay to zero over the given
    number of steps (and zero after it). Stepped once per training step, like every trainer schedule."""

    def __init__(self, optimizer: torch.optim.Optimizer, last_epoch: int = -1):
        self.cooldown_start: Optional[int] = None
        self.cooldown_steps: Optional[int] = None
        #: whether the cool-down was started by the step cap rather than by the plateau rule
        self.capped = False
        super().__init__(optimizer, last_epoch)

    def start_cooldown(self, step: int, steps: int, capped: bool = False) -> None:
        """Decay from ``step`` on, over ``steps`` steps (``capped``: because the run reaches its step cap)."""
        self.cooldown_start, self.cooldown_steps = int(step), check_positive_int(steps, "cool-down steps")
        self.capped = bool(capped)

    @property
    def cooldown_end(self) -> Optional[int]:
        if self.cooldown_start is None or self.cooldown_steps is None:
            return None
        return self.cooldown_start + self.cooldown_steps

    def get_lr(self):
        t = self.last_epoch
        if self.cooldown_start is None or self.cooldown_steps is None or t <= self.cooldown_start:
            return list(self.base_lrs)  # (start and steps are set together, by start_cooldown)
        f = min(1.0, (t - self.cooldown_start) / self.cooldown_steps)
        return [0.5 * base * (1.0 + math.cos(math.pi * f)) for base in self.base_lrs]


class UntilConverged:
    """The trainer's ``stop_when``: watches the validation PSNR; starts ``schedule``'s cool-down when ``rule``
    holds and asks to stop when the cool-down is over.

    Args:
        rule: the `PlateauRule`.
        schedule: the run's `PlateauCooldown`.
        cooldown: the cool-down's length as a fraction of the steps done when the rule held.
        val_every: the validation interval (the cool-down is rounded up to a multiple of it).
        max_steps: the run's step cap (None: none). A run whose plateau rule has not held by the last validation
            from which a cool-down of its length would still end within the cap cools down into the cap instead
            (ending at ``max_steps``), so that a capped run, too, reports annealed weights; it is not converged.
    """

    def __init__(self, rule: PlateauRule, schedule: PlateauCooldown, cooldown: float = 0.2, val_every: int = 1,
                 max_steps: Optional[int] = None):
        if not isinstance(rule, PlateauRule):
            raise TypeError(f"rule must be a PlateauRule, got {type(rule).__name__}")
        if not isinstance(schedule, PlateauCooldown):
            raise TypeError(f"schedule must be a PlateauCooldown, got {type(schedule).__name__}")
        self.rule, self.schedule = rule, schedule
        self.cooldown = _fraction(cooldown, "cooldown", closed_low=False)
        self.val_every = check_positive_int(val_every, "val_every")
        self.max_steps = None if max_steps is None else check_positive_int(max_steps, "max_steps")

    @staticmethod
    def curve(history) -> list:
        """``[(step, psnr), ...]`` of a trainer `History`'s validation records."""
        return [(int(v["step"]), float(v["psnr"])) for v in history.validation]

    @property
    def converged(self) -> bool:
        """Whether the plateau rule has held (the cool-down started by it, not by the step cap)."""
        return self.schedule.cooldown_start is not None and not getattr(self.schedule, "capped", False)

    def _length(self, step: int) -> int:
        return self.val_every * max(1, math.ceil(self.cooldown * step / self.val_every))

    def __call__(self, history) -> bool:
        curve = self.curve(history)
        if not curve:
            return False
        step = curve[-1][0]
        if self.schedule.cooldown_start is None:
            if self.rule.holds(curve):
                self.schedule.start_cooldown(step, self._length(step))
            elif self.max_steps is not None and step < self.max_steps and \
                    step + self.val_every + self._length(step + self.val_every) > self.max_steps:
                self.schedule.start_cooldown(step, self.max_steps - step, capped=True)  # the next one would not fit
            return False
        return step >= self.schedule.cooldown_end
