"""Supervised training of reconstruction networks ``u = model(y, physics)`` on (image, measurement) pairs.

:func:`fit` is the generic loop (Adam, optional cosine schedule, seeded batches, atomic checkpoints, resume);
it only needs a ``batch_loss(model, x, generator) -> scalar`` and knows nothing about physics. :func:`fit_supervised`
plugs in the supervised loss ``loss(model(y, physics), x)`` with ``y = physics.measure(x, generator)``. Other
losses (equivariant imaging, data augmentation) are other ``batch_loss`` functions for the same loop.

Determinism: the batch order of epoch ``e`` and the measurement noise of step ``t`` are drawn from generators
seeded by ``(seed, e)`` and ``(seed, t)``, and the global torch RNG (used by dropout-like layers) is forked and
seeded inside the loop and saved in checkpoints. With the same seed, initial weights and data, two runs (and a
run interrupted and resumed from its checkpoint) give bitwise identical weights on the CPU; on CUDA, up to
PyTorch's non-deterministic kernels.
"""
from __future__ import annotations

import math
import numbers
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Union

import numpy as np
import torch
from torch import nn

from ..utils.io import atomic_path
from ..utils.progress import Progress

__all__ = ["History", "fit", "fit_supervised", "supervised_loss", "mse_loss", "resolve_device", "SCHEDULES"]

SCHEDULES = (None, "constant", "cosine")
_FORMAT = "equinet.training.fit/1"

BatchLoss = Callable[[nn.Module, torch.Tensor, torch.Generator], torch.Tensor]


@dataclass
class History:
    """Per-step record of a training run (``loss[t]`` is the mini-batch loss of step ``t``)."""

    loss: List[float] = field(default_factory=list)
    lr: List[float] = field(default_factory=list)
    steps: int = 0
    resumed_from: Optional[int] = None
    seconds: float = 0.0  # wall time spent in this process (not part of the deterministic result)

    def to_dict(self) -> dict:
        return asdict(self)


def mse_loss(u: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all entries."""
    return torch.mean((u - x) ** 2)


def resolve_device(device) -> torch.device:
    """``'auto'`` -> CUDA if available else CPU; otherwise ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def _derived_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived from ``(seed, *keys)`` (independent streams for batches and noise)."""
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(v)


def _n_items(images) -> int:
    if isinstance(images, torch.Tensor):
        if images.dim() != 4:
            raise ValueError(f"images must be a tensor [N, C, H, W], got shape {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"images must be floating point, got {images.dtype}")
        return images.shape[0]
    if hasattr(images, "__len__") and hasattr(images, "__getitem__"):
        return len(images)
    raise TypeError(f"images must be a tensor [N, C, H, W] or a dataset of [C, H, W] tensors, got {type(images).__name__}")


def _gather(images, idx: torch.Tensor) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        return images[idx]
    return torch.stack([torch.as_tensor(images[int(i)]) for i in idx])


def _batch_indices(n: int, batch_size: int, seed: int, step: int) -> torch.Tensor:
    """Indices of step ``step``: epoch-wise random permutations, the last batch of an epoch may be smaller."""
    per_epoch = math.ceil(n / batch_size)
    epoch, j = divmod(step, per_epoch)
    g = torch.Generator().manual_seed(_derived_seed(seed, 0, epoch))
    perm = torch.randperm(n, generator=g)
    return perm[j * batch_size:(j + 1) * batch_size]


def _lr_at(step: int, total: int, lr: float, schedule: Optional[str], min_lr: float) -> float:
    if schedule in (None, "constant"):
        return lr
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * step / total))


def _save_checkpoint(path: str, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def fit(model: nn.Module, batch_loss: BatchLoss, images, *, steps: Optional[int] = None,
        epochs: Optional[int] = None, batch_size: int = 8, lr: float = 1e-3, seed: int = 0,
        schedule: Optional[str] = None, min_lr: float = 0.0, weight_decay: float = 0.0,
        grad_clip: Optional[float] = None, device="cpu", progress: Union[bool, Progress] = False,
        checkpoint: Optional[str] = None, checkpoint_every: int = 100, resume: bool = True,
        callback: Optional[Callable[[int, float], None]] = None) -> History:
    """Train ``model`` in place by minimising ``batch_loss(model, x, generator)`` over mini-batches of ``images``.

    Args:
        model: the network (moved to ``device``).
        batch_loss: ``(model, x, generator) -> scalar`` on a batch ``x`` of ground-truth images on ``device``;
            ``generator`` is a CPU ``torch.Generator`` seeded for this step (for noise, random transforms).
        images: tensor ``[N, C, H, W]`` or a dataset of ``[C, H, W]`` tensors.
        steps / epochs: number of optimiser steps, or of passes over the data (exactly one of them).
        batch_size: images per step (clamped to N); lr: Adam learning rate.
        seed: seeds the batch order, the per-step generators and the global torch RNG inside the loop.
        schedule: None/'constant' or 'cosine' (from ``lr`` to ``min_lr`` over the run).
        weight_decay: Adam's L2 penalty; grad_clip: max global gradient norm (None = no clipping).
        device: 'cpu', 'cuda', 'auto' or a torch.device.
        progress: True for a bar of this run on stderr, or a shared :class:`Progress` advanced by one per step.
        checkpoint: path of a checkpoint written atomically every ``checkpoint_every`` steps and at the end;
            with ``resume`` an existing checkpoint of the same configuration is loaded and training continues
            from its step (a finished one returns its history without training).
        callback: ``callback(step, loss)`` after every step (step counted from 1).

    Returns:
        the :class:`History` (loss and learning rate per step, including the steps before a resume).
    """
    n = _n_items(images)
    if n == 0:
        raise ValueError("images is empty")
    if (steps is None) == (epochs is None):
        raise ValueError("give exactly one of steps= or epochs=")
    batch_size = min(_positive_int(batch_size, "batch_size"), n)
    total = _positive_int(steps, "steps") if steps is not None else \
        _positive_int(epochs, "epochs") * math.ceil(n / batch_size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    seed = int(seed)
    for name, v in (("lr", lr), ("min_lr", min_lr), ("weight_decay", weight_decay)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
    if lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if grad_clip is not None and not (isinstance(grad_clip, numbers.Real) and grad_clip > 0):
        raise ValueError(f"grad_clip must be None or > 0, got {grad_clip!r}")
    checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
    if not callable(batch_loss):
        raise TypeError("batch_loss must be callable (model, x, generator) -> scalar loss")
    dev = resolve_device(device)
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    config = dict(seed=seed, batch_size=batch_size, lr=float(lr), steps=total, schedule=schedule,
                  min_lr=float(min_lr), weight_decay=float(weight_decay), n_images=n,
                  grad_clip=None if grad_clip is None else float(grad_clip))

    history = History()
    start = 0
    saved_rng = None
    if checkpoint is not None and resume and os.path.exists(checkpoint):
        state = torch.load(checkpoint, map_location=dev, weights_only=True)
        if state.get("format") != _FORMAT:
            raise ValueError(f"{checkpoint} is not an equinet training checkpoint")
        diff = {k: (state["config"].get(k), v) for k, v in config.items() if state["config"].get(k) != v}
        if diff:
            raise ValueError(f"checkpoint {checkpoint} was written with another configuration "
                             f"(checkpoint vs now: {diff}); delete it or pass resume=False")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
        history.loss, history.lr = list(state["history"]["loss"]), list(state["history"]["lr"])
        history.resumed_from = start
        saved_rng = state["rng"]

    own_bar = progress is True
    bar = Progress(total=total, desc="train", unit="step") if own_bar else (progress or None)
    if bar is not None and start:
        bar.update(start)  # the resumed steps count as done
    fork_devices = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    was_training = model.training
    t0 = time.perf_counter()

    def make_state(step):
        rng = {"cpu": torch.get_rng_state()}
        if dev.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(dev)
        return {"format": _FORMAT, "step": step, "config": config, "model": model.state_dict(),
                "optimizer": opt.state_dict(), "history": {"loss": history.loss, "lr": history.lr}, "rng": rng}

    try:
        with torch.random.fork_rng(devices=fork_devices):
            if saved_rng is None:
                torch.manual_seed(_derived_seed(seed, 2))
            else:
                torch.set_rng_state(saved_rng["cpu"])
                if dev.type == "cuda" and "cuda" in saved_rng:
                    torch.cuda.set_rng_state(saved_rng["cuda"], dev)
            model.train()
            for step in range(start, total):
                cur_lr = _lr_at(step, total, float(lr), schedule, float(min_lr))
                for group in opt.param_groups:
                    group["lr"] = cur_lr
                idx = _batch_indices(n, batch_size, seed, step)
                x = _gather(images, idx).to(dev)
                g = torch.Generator().manual_seed(_derived_seed(seed, 1, step))
                loss = batch_loss(model, x, g)
                if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
                    raise TypeError("batch_loss must return a scalar tensor")
                if not bool(torch.isfinite(loss)):
                    raise FloatingPointError(f"non-finite loss {float(loss)} at step {step + 1}; lower lr or check the data")
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, float(grad_clip))
                opt.step()
                value = float(loss.detach())
                history.loss.append(value)
                history.lr.append(cur_lr)
                done = step + 1
                if checkpoint is not None and (done % checkpoint_every == 0 or done == total):
                    _save_checkpoint(checkpoint, make_state(done))
                if bar is not None:
                    bar.update(1, postfix=f"loss={value:.3g}")
                if callback is not None:
                    callback(done, value)
    finally:
        model.train(was_training)
        if own_bar:
            bar.close()
    history.steps = len(history.loss)
    history.seconds = time.perf_counter() - t0
    return history


def supervised_loss(physics, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = mse_loss,
                    measure: Optional[Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = None) -> BatchLoss:
    """The supervised ``batch_loss``: ``loss(model(measure(x, g), physics), x)``, ``measure`` defaulting to
    ``physics.measure`` (noisy measurements drawn with the step's generator)."""
    if measure is None:
        measure = physics.measure

    def batch_loss(model, x, generator):
        y = measure(x, generator)
        return loss(model(y, physics), x)

    return batch_loss


def fit_supervised(model: nn.Module, physics, images, *, loss: Callable = mse_loss,
                   measure: Optional[Callable] = None, steps: Optional[int] = None, epochs: Optional[int] = None,
                   batch_size: int = 8, lr: float = 1e-3, seed: int = 0, device="cpu",
                   progress: Union[bool, Progress] = False, checkpoint: Optional[str] = None,
                   **kwargs) -> History:
    """Supervised training of a reconstruction network ``u = model(y, physics)`` on ground-truth ``images``.

    Each step draws a batch, simulates ``y = physics.measure(x, generator)`` (fresh seeded noise every step, or a
    custom ``measure(x, generator)``) and takes an Adam step on ``loss(u, x)`` (MSE by default). ``physics`` is
    moved to ``device``. Remaining keyword arguments (``schedule='cosine'``, ``checkpoint_every``, ``resume``,
    ``weight_decay``, ``grad_clip``, ``callback``, ...) are those of :func:`fit`.
    """
    if not callable(getattr(physics, "measure", None)) and measure is None:
        raise TypeError("physics must provide measure(x, generator) (an equinet.physics.LinearPhysics) "
                        "or pass measure=")
    dev = resolve_device(device)
    if isinstance(physics, nn.Module):
        physics.to(dev)
    return fit(model, supervised_loss(physics, loss, measure), images, steps=steps, epochs=epochs,
               batch_size=batch_size, lr=lr, seed=seed, device=dev, progress=progress, checkpoint=checkpoint,
               **kwargs)
