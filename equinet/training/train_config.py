"""`TrainConfig`: every setting of a training run in one typed, validated object (the TOML's ``[train]`` table, the
`Trainer`'s keywords and the experiments' runs all build one; its defaults are the only defaults).

>>> cfg = TrainConfig(steps=100, lr=5e-4, schedule="cosine")
>>> cfg.batch_size, cfg.optimizer, cfg.total_steps(n_items=20)
(8, 'adam', 100)
>>> TrainConfig(epochs=2, batch_size=6).total_steps(n_items=20)   # 4 batches per epoch
8
>>> TrainConfig(steps=10, lr=0)
Traceback (most recent call last):
...
ValueError: lr must be a finite number > 0, got 0
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple, Union

import torch

from ..utils.checks import check_bool, check_number, check_positive_int
from ..utils.seeding import check_seed
from .precision import check_precision

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULE_NAMES", "build_optimizer"]

#: an optimizer, or a factory ``params -> optimizer`` (None: the configured one)
OptimizerSpec = Union[None, torch.optim.Optimizer, Callable[[List[torch.nn.Parameter]], torch.optim.Optimizer]]

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULE_NAMES = ("constant", "cosine")


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name} = {value!r} is unknown; expected one of {', '.join(map(repr, choices))}")


def _betas(name: str, value) -> Tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(_real(b) and 0 <= b < 1 for b in value):
        raise ValueError(f"{name} must be two numbers in [0, 1), got {value!r}")
    return float(value[0]), float(value[1])


@dataclass(frozen=True)
class TrainConfig:
    """What a training run does (see `equinet.training.Trainer`).

    Args:
        steps / epochs: optimizer steps, or passes over the data (exactly one).
        batch_size: global batch (clamped to the number of items); micro_batches: fixed slices of each batch with
            their own random streams (a multiple of the number of processes).
        seed: batch order, per-step generators and global RNGs; device: 'cpu', 'cuda', 'auto', ...
        optimizer: 'adam', 'adamw' or 'sgd' with ``lr``, ``weight_decay``, ``momentum`` (sgd), ``betas`` (Adam;
            None: torch's (0.9, 0.999)); schedule: 'constant' or 'cosine' (down to ``min_lr``).
        grad_clip: maximum global gradient norm (None: no clipping).
        adversary_lr, adversary_betas: Adam of a loss's discriminator (adversarial EI).
        checkpoint_every, log_every: steps between checkpoints / CSV writes; val_every: steps between
            validations (also before training and at the end); val_batch_size; data_range of PSNR/SSIM (None:
            each image's range).
        plots: write ``curves.png`` with the log; identifiability: the rank-condition pre-flight of unsupervised
            runs with transformations.
        ema: decay of an exponential moving average of the weights, which the validation evaluates and the model
            holds at the end (`equinet.training.callbacks.EMA`; None: off).
        early_stopping: stop after this many validations without a better PSNR (needs validation data; None: off).
        precision: 'fp32', or mixed precision (`equinet.training.precision`): 'bf16' (bfloat16 autocast) or
            'fp16' (float16 autocast and a gradient scaler); the weights stay float32.
        tensorboard: also log the scalars (every ``log_every`` steps, and the validations) for TensorBoard under
            ``out/tensorboard`` (`equinet.training.tensorboard.TensorBoardLog`; needs the ``tensorboard`` package).
    """

    steps: Optional[int] = None
    epochs: Optional[int] = None
    batch_size: int = 8
    micro_batches: int = 1
    seed: int = 0
    device: str = "cpu"
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    betas: Optional[Tuple[float, float]] = None
    schedule: str = "constant"
    min_lr: float = 0.0
    grad_clip: Optional[float] = None
    adversary_lr: float = 1e-4
    adversary_betas: Tuple[float, float] = (0.5, 0.999)
    checkpoint_every: int = 100
    log_every: int = 10
    val_every: Optional[int] = None
    val_batch_size: int = 32
    data_range: Optional[float] = None
    plots: bool = True
    identifiability: bool = True
    ema: Optional[float] = None
    early_stopping: Optional[int] = None
    precision: str = "fp32"
    tensorboard: bool = False

    def __post_init__(self):
        if (self.steps is None) == (self.epochs is None):
            raise ValueError("exactly one of steps or epochs must be given")
        for name in ("steps", "epochs", "val_every", "early_stopping"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        for name in ("batch_size", "micro_batches", "checkpoint_every", "log_every", "val_batch_size"):
            check_positive_int(getattr(self, name), name)
        check_seed(self.seed)
        if not isinstance(self.device, (str, torch.device)):
            raise TypeError(f"device must be a string such as 'cpu', 'cuda' or 'auto', got {self.device!r}")
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULE_NAMES)
        check_precision(self.precision)
        for name in ("lr", "adversary_lr"):
            check_number(getattr(self, name), name, 0, strict_minimum=True)
        for name in ("weight_decay", "min_lr", "momentum"):
            check_number(getattr(self, name), name, 0)
        for name in ("grad_clip", "data_range"):
            if getattr(self, name) is not None:
                check_number(getattr(self, name), name, 0, strict_minimum=True)
        if self.betas is not None:
            object.__setattr__(self, "betas", _betas("betas", self.betas))
        object.__setattr__(self, "adversary_betas", _betas("adversary_betas", self.adversary_betas))
        if self.ema is not None and not (_real(self.ema) and 0 < self.ema < 1):
            raise ValueError(f"ema must be None or a decay in (0, 1), got {self.ema!r}")
        check_bool(self.plots, "plots")
        check_bool(self.identifiability, "identifiability")
        check_bool(self.tensorboard, "tensorboard")

    def batch_plan(self, n_items: int) -> int:
        """The batch size on ``n_items`` items (clamped to it), checked to leave ``micro_batches`` items in every
        batch of an epoch."""
        b = min(self.batch_size, n_items)
        last = n_items - (math.ceil(n_items / b) - 1) * b
        if min(b, last) < self.micro_batches:
            raise ValueError(f"every batch must hold at least micro_batches={self.micro_batches} items; with "
                             f"{n_items} items and batch_size={b} the last batch of an epoch has {last}")
        return b

    def total_steps(self, n_items: int) -> int:
        """The number of optimizer steps on ``n_items`` training items."""
        if self.steps is not None:
            return self.steps
        return self.epochs * math.ceil(n_items / min(self.batch_size, n_items))  # type: ignore[operator]

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        """The configured optimizer of ``params``."""
        if self.optimizer == "sgd":
            return torch.optim.SGD(params, lr=float(self.lr), momentum=float(self.momentum),
                                   weight_decay=float(self.weight_decay))
        cls = torch.optim.Adam if self.optimizer == "adam" else torch.optim.AdamW
        return cls(params, lr=float(self.lr), betas=self.betas or (0.9, 0.999), weight_decay=float(self.weight_decay))

    def make_adversary_optimizer(self, params) -> torch.optim.Optimizer:
        """Adam with ``adversary_lr`` and ``adversary_betas`` for a loss's discriminator."""
        return torch.optim.Adam(params, lr=float(self.adversary_lr), betas=self.adversary_betas)

    def make_scheduler(self, optimizer: torch.optim.Optimizer, total: int):
        """The configured learning-rate schedule (None for 'constant')."""
        from .schedules import make_schedule
        return make_schedule(self.schedule, optimizer, total, float(self.min_lr))


def build_optimizer(spec: OptimizerSpec, params, default: Callable, what: str) -> torch.optim.Optimizer:
    """``spec`` itself, ``spec(params)``, or ``default(params)`` when ``spec`` is None (a TypeError naming ``what``
    for anything else)."""
    opt = default(params) if spec is None else spec if isinstance(spec, torch.optim.Optimizer) else \
        spec(params) if callable(spec) else None
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"{what} must be None, a torch.optim.Optimizer or a callable params -> Optimizer (returning "
                        f"one), got {type(spec).__name__}")
    return opt
