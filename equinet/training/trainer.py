"""The trainer: any `equinet.losses.Loss`, any model ``model(y, physics) -> x``, any operator and data.

One step takes a global batch of ``batch_size`` items (epoch-wise random permutations seeded by ``(seed, 0, epoch)``),
splits it into ``micro_batches`` fixed slices, and for each slice ``m``: draws a CPU generator seeded by
``(seed, 1, step)`` (one slice) or ``(seed, 1, step, m)`` and gets the batch (`Trainer.get_batch`: re-simulates
``y = physics.measure(x, generator)`` when the data are images, or takes the dataset's fixed ``y``); computes
``x1 = model(y, physics)`` once (`Trainer.forward`); builds the `LossInputs` (the ground truth only for losses that
need it) and back-propagates the slice's share of ``equinet.losses.total(terms)`` (`Trainer.compute_loss`). Then
`Trainer.optimize`: one optimizer step, one scheduler step, and one adversary update when the loss has a
discriminator. Under ``torchrun`` each process takes its share of the slices (`equinet.training.distributed`), so the
run does not depend on the number of processes. The CSV log, progress bar, curve plots, EMA and early stopping are
callbacks on the trainer's events (`equinet.training.callbacks`); subclasses may override the four step parts.

Exact resume: the batch order and every per-step generator are functions of ``(seed, step)``; the checkpoint holds
the step, the weights, the optimizers, the scheduler, the loss module, the callbacks' states and the global RNG
states of every process (`equinet.training.checkpoint`). A run killed at any time and resumed from its last
checkpoint reproduces the uninterrupted run's losses and weights bit for bit on the CPU.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from ..losses.base import Loss, LossInputs, total
from ..metrics import psnr, ssim
from ..utils.seeding import derived_seed
from . import distributed as D
from .callbacks import EMA, Callback, CSVLog, CurvePlots, EarlyStopping, ProgressBar, StepFunction
from .checkpoint import (capture_rng, config_mismatch, forked_rng, load_checkpoint, plain, restore_rng,
                         save_checkpoint, settings_text)
from .distributed import resolve_device
from .log import History
from .preflight import identifiability_preflight, preflight
from .sampling import TrainingData, batch_indices, step_generator
from .train_config import TrainConfig

__all__ = ["Trainer", "TrainConfig", "preflight", "resolve_device"]

_TOTAL = "\0total"  # key of the summed loss among the term values (cannot collide with a term name)
OptimizerSpec = Union[None, torch.optim.Optimizer, Callable[[List[nn.Parameter]], torch.optim.Optimizer]]


def _build_optimizer(spec: OptimizerSpec, params, default: Callable, what: str) -> torch.optim.Optimizer:
    opt = default(params) if spec is None else spec if isinstance(spec, torch.optim.Optimizer) else \
        spec(params) if callable(spec) else None
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"{what} must be None, a torch.optim.Optimizer or a callable params -> Optimizer (returning "
                        f"one), got {type(spec).__name__}")
    return opt


class Trainer:
    """Train ``model`` in place by minimising ``loss`` (see the module docstring for one step).

    Args:
        model: ``model(y, physics) -> x`` (e.g. `equinet.reconstructors.PinvReconstructor`, ``UnrolledPGD``).
        loss: an `equinet.losses.Loss` (or a `LossSum`). physics: the operator (moved to the device).
        data: images (tensor ``[N, C, H, W]`` or dataset; ``y`` re-simulated every step) or an
            `equinet.data.MeasurementDataset` (fixed ``y``; with ground truth if paired).
        config: a `TrainConfig` (steps or epochs, batch, optimizer, schedule, seed, device, cadences, EMA, early
            stopping); keyword ``settings`` (``steps=``, ``batch_size=``, ...) override its fields.
        optimizer / scheduler / adversary_optimizer: override the configured ones: an optimizer or ``params ->
            optimizer``; a scheduler or ``(optimizer, total_steps) -> scheduler`` (stepped once per step).
        measure: ``(x, generator) -> y`` for on-line simulation (default ``physics.measure``).
        validation: a `equinet.data.PairedMeasurementDataset` (held-out x and fixed y) for PSNR/SSIM.
        out: folder for ``log.csv``, ``curves.png`` and (by default) ``checkpoint.pt``; checkpoint: its path.
        resume: continue from an existing checkpoint of the same settings (False: start over and overwrite it).
        progress: True for a progress bar, or a shared bar (any object with ``update(n, postfix=None)``).
        callback: ``callback(step, loss)`` after every step; callbacks: more `Callback` objects.
        fingerprint: extra settings (e.g. the parsed config) that must match for a resume.
    """

    def __init__(self, model: nn.Module, loss: Loss, physics, data, config: Optional[TrainConfig] = None, *,
                 optimizer: OptimizerSpec = None, scheduler=None, adversary_optimizer: OptimizerSpec = None,
                 measure: Optional[Callable] = None, validation=None, out: Optional[str] = None,
                 checkpoint: Optional[str] = None, resume: bool = True, progress=False,
                 callback: Optional[Callable[[int, float], None]] = None, callbacks: Sequence[Callback] = (),
                 fingerprint: Optional[dict] = None, **settings):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module called as model(y, physics), got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be an equinet.losses.Loss, got {type(loss).__name__}")
        self.data = TrainingData(data)
        cfg = self.config = TrainConfig(**settings) if config is None else dataclasses.replace(config, **settings)
        if loss.needs_ground_truth and not self.data.has_ground_truth:
            raise ValueError(f"{type(loss).__name__} needs ground-truth images, but the training data hold "
                             "measurements only; use an unsupervised loss (MC, EI, SURE, REI) or paired data")
        if measure is None and not self.data.fixed and not callable(getattr(physics, "measure", None)):
            raise TypeError("physics must provide measure(x, generator) (an equinet.physics.LinearPhysics) "
                            "or pass measure=")
        n = self.data.n
        self.seed, self.batch_size, self.micro_batches = cfg.seed, min(cfg.batch_size, n), cfg.micro_batches
        self.total = cfg.total_steps(n)
        last = n - (math.ceil(n / self.batch_size) - 1) * self.batch_size
        if min(self.batch_size, last) < self.micro_batches:
            raise ValueError(f"every batch must hold at least micro_batches={self.micro_batches} items; with "
                             f"{n} items and batch_size={self.batch_size} the last batch of an epoch has {last}")
        if validation is not None and not getattr(validation, "has_ground_truth", False):
            raise TypeError("validation must be an equinet.data.PairedMeasurementDataset (held-out images and their "
                            f"measurements), got {type(validation).__name__}")
        if out is not None and os.path.exists(out) and not os.path.isdir(out):
            raise ValueError(f"output folder {out!r} exists and is not a folder")
        self.out = None if out is None else os.fspath(out)
        self.checkpoint = checkpoint if checkpoint is not None else (
            os.path.join(self.out, "checkpoint.pt") if self.out is not None else None)
        if self.checkpoint is not None and os.path.isdir(self.checkpoint):
            raise ValueError(f"checkpoint path {self.checkpoint!r} is a folder; give a file path")
        self.ctx = D.setup(resolve_device(cfg.device))
        if self.micro_batches % self.ctx.world_size:
            raise ValueError(f"micro_batches={self.micro_batches} must be a multiple of the number of processes "
                             f"({self.ctx.world_size}); e.g. micro_batches = {self.ctx.world_size} (the results are "
                             "then the same for any number of processes dividing it)")
        dev = self.ctx.device
        self.model, self.loss, self.physics = model.to(dev), loss.to(dev), physics
        self.measure = measure if measure is not None else getattr(physics, "measure", None)
        if isinstance(physics, nn.Module):
            physics.to(dev)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.optimizer = _build_optimizer(optimizer, self.params, cfg.make_optimizer, "optimizer")
        scheduler = cfg.make_scheduler if scheduler is None else scheduler
        self.scheduler = scheduler(self.optimizer, self.total) if callable(scheduler) and \
            not hasattr(scheduler, "step") else scheduler
        disc = loss.discriminator
        self.adversary_optimizer = None if disc is None else _build_optimizer(
            adversary_optimizer, [p for p in disc.parameters() if p.requires_grad], cfg.make_adversary_optimizer,
            "adversary_optimizer")
        self.validation, self.resume, self.progress = validation, bool(resume), progress
        self.grad_clip = None if cfg.grad_clip is None else float(cfg.grad_clip)
        self.callbacks = self._default_callbacks(progress, callback) + list(callbacks)
        self.stop_requested = False
        extra = {k: getattr(cfg, k) for k in ("ema", "early_stopping") if getattr(cfg, k) is not None}
        self.fingerprint = dict(
            seed=self.seed, batch_size=self.batch_size, micro_batches=self.micro_batches, steps=self.total,
            n_items=n, grad_clip=self.grad_clip, loss=type(loss).__name__, loss_settings=settings_text(loss),
            optimizer=[type(self.optimizer).__name__, plain(self.optimizer.defaults)],
            scheduler=None if self.scheduler is None else type(self.scheduler).__name__,
            extra=plain(fingerprint or {}), **plain(extra))
        self.history = History()

    def _default_callbacks(self, progress, callback) -> List[Callback]:
        cfg, main = self.config, self.ctx.is_main
        cbs: List[Callback] = [EMA(cfg.ema)] if cfg.ema is not None else []
        cbs += [EarlyStopping(cfg.early_stopping)] if cfg.early_stopping is not None else []
        if self.out is not None and main:
            cbs.append(CSVLog(self.out, cfg.log_every))
            cbs += [CurvePlots(self.out, type(self.loss).__name__)] if cfg.plots else []
        if (progress is True and main) or callable(getattr(progress, "update", None)):
            cbs.append(ProgressBar(None if progress is True else progress))
        return cbs + ([StepFunction(callback)] if callback is not None else [])

    def _emit(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(self, *args)

    # ------------------------------------------------------------------------------------------ pieces
    @torch.no_grad()
    def evaluate(self, model: Optional[nn.Module] = None) -> Dict[str, float]:
        """Mean PSNR and SSIM of ``model(y, physics)`` on the validation set (eval mode, no gradients)."""
        model, ds, dev, bs, rng = self.model if model is None else model, self.validation, self.ctx.device, \
            self.config.val_batch_size, self.config.data_range
        was, p, s = model.training, [], []
        model.eval()
        try:
            for i in range(0, len(ds), bs):
                x, y = ds.batch(torch.arange(i, min(i + bs, len(ds))))
                u, x = model(y.to(dev), self.physics), x.to(dev)
                p.append(psnr(u, x, rng).double().cpu())
                s.append(ssim(u, x, rng).double().cpu())
        finally:
            model.train(was)
        return {"psnr": float(torch.cat(p).mean()), "ssim": float(torch.cat(s).mean())}

    def _validate(self, step: int) -> None:
        if self.validation is not None and self.ctx.is_main:
            metrics = self.evaluate()
            self.history.validation.append({"step": step, **metrics})
            self._emit("on_evaluation", step, metrics)

    def _state(self, step: int, rngs: list) -> dict:
        opt = lambda o: None if o is None else o.state_dict()  # noqa: E731
        return {"step": step, "epoch_position": divmod(step, math.ceil(self.data.n / self.batch_size)),
                "world_size": self.ctx.world_size, "config": self.fingerprint, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "loss": self.loss.state_dict(),
                "scheduler": opt(self.scheduler), "adversary_optimizer": opt(self.adversary_optimizer),
                "history": self.history.state(), "rng": rngs,
                "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks if cb.key}}

    def _checkpoint_state(self, map_location) -> Optional[dict]:
        if self.checkpoint is None or not self.resume:
            return None
        state = load_checkpoint(self.checkpoint, map_location=map_location)
        diff = None if state is None else config_mismatch(state["config"], self.fingerprint)
        if diff:
            raise ValueError(f"checkpoint {self.checkpoint} was written with another configuration (checkpoint "
                             f"vs now: {diff}); delete it, choose another output folder, or do not resume")
        return state

    def check_resume(self) -> Optional[int]:
        """The step the run would resume from (None: starts afresh); a clear ValueError if the checkpoint was
        written with other settings. Reads the checkpoint without changing anything."""
        state = self._checkpoint_state("cpu")
        return None if state is None else int(state["step"])

    def _load(self) -> Optional[list]:
        """Load the checkpoint if resuming; returns the saved RNG states (one per process) or None."""
        state = self._checkpoint_state(self.ctx.device)
        if state is None:
            return None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss.load_state_dict(state["loss"])
        for obj, key in ((self.scheduler, "scheduler"), (self.adversary_optimizer, "adversary_optimizer")):
            if obj is not None:
                obj.load_state_dict(state[key])
        for cb in self.callbacks:
            if cb.key and cb.key in state.get("callbacks", {}):
                cb.load_state_dict(state["callbacks"][cb.key])
        self.history = History.from_state(state["history"])
        self.history.resumed_from = int(state["step"])
        return state["rng"]

    def _seed_processes(self, saved_rng: Optional[list], start: int) -> None:
        ctx = self.ctx
        if saved_rng is not None and ctx.rank < len(saved_rng):
            return restore_rng(saved_rng[ctx.rank], ctx.device)
        extra = () if saved_rng is None else (start,)  # more processes than the checkpoint had: fresh streams
        torch.manual_seed(derived_seed(self.seed, 2, ctx.rank, *extra))
        np.random.seed(derived_seed(self.seed, 3, ctx.rank, *extra) % 2 ** 32)
        random.seed(derived_seed(self.seed, 4, ctx.rank, *extra))

    def _preflight(self) -> None:
        x, y = self.data.fetch(batch_indices(self.data.n, self.batch_size, self.seed, 0)[:1])
        dev = self.ctx.device
        y = self.measure(x.to(dev), torch.Generator().manual_seed(0)) if y is None else y
        preflight(self.loss, self.physics, y.to(dev), self.model)
        if self.config.identifiability and self.ctx.is_main:
            echo = (lambda line: None) if self.progress is False else (lambda line: print(line, file=sys.stderr))
            identifiability_preflight(self.loss, self.physics, tuple(self.physics.adjoint(y.to(dev)).shape[-2:]),
                                      echo=echo)

    # ------------------------------------------------------------------------------------------- loop
    def fit(self) -> History:
        """Run (or continue) the training; returns the `History` of the whole run."""
        if self.out is not None and self.ctx.is_main:
            os.makedirs(self.out, exist_ok=True)
        try:
            with forked_rng(self.ctx.device):
                return self._fit()
        finally:
            D.teardown(self.ctx)

    def _fit(self) -> History:
        ctx, dev = self.ctx, self.ctx.device
        saved_rng = self._load()
        start = len(self.history.loss)
        self._seed_processes(saved_rng, start)
        net = self.model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP
            net = DDP(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)
        adv = self.adversary_optimizer
        adv_proxy = None if adv is None else adv if self.micro_batches == 1 else D.AveragingOptimizer(adv, ctx)
        if start == 0 and start < self.total:
            self._preflight()
        self._emit("on_fit_start")
        if start == 0 and start < self.total:
            self._validate(0)
        t0, cfg = time.perf_counter(), self.config
        self.model.train()
        self.loss.train()
        try:
            for step in range(start, start if self._stop() else self.total):
                self.train_step(net, adv_proxy, step)
                done = step + 1
                self._emit("on_optimizer_step", done)
                if (cfg.val_every is not None and done % cfg.val_every == 0) or done == self.total:
                    self._validate(done)
                stop = self._stop()
                if self.checkpoint is not None and (done % cfg.checkpoint_every == 0 or done == self.total or stop):
                    rngs = D.all_gather_objects(capture_rng(dev), ctx)
                    if ctx.is_main:
                        save_checkpoint(self.checkpoint, self._state(done, rngs))
                        self._emit("on_checkpoint", done)
                self._emit("on_step", done, self.history.loss[-1])
                if stop:
                    break
            self._emit("on_fit_end")
        finally:
            self._emit("close")
        self.history.steps = len(self.history.loss)
        self.history.seconds = time.perf_counter() - t0
        return self.history

    def _stop(self) -> bool:
        """Whether a callback asked to stop (agreed by every process when one may stop)."""
        if self.ctx.distributed and any(cb.can_stop for cb in self.callbacks):
            flag = torch.tensor([float(self.stop_requested)], dtype=torch.float64, device=self.ctx.device)
            self.stop_requested = bool(D.all_reduce_sum(flag, self.ctx).item() > 0)
        return self.stop_requested

    # ----------------------------------------------------------------------------- the step, in parts
    def get_batch(self, step: int, ids: torch.Tensor, generator: torch.Generator):
        """``(x or None, y)`` of the items ``ids`` on the device (``y`` simulated with ``generator`` if not fixed)."""
        x, y = self.data.fetch(ids)
        x = None if x is None else x.to(self.ctx.device)
        return x, (self.measure(x, generator) if y is None else y.to(self.ctx.device))

    def forward(self, net: nn.Module, y: torch.Tensor) -> torch.Tensor:
        """The reconstruction ``x1 = net(y, physics)`` the loss sees."""
        return net(y, self.physics)

    def compute_loss(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        """The loss terms of one slice (refused if their sum is not finite)."""
        terms = self.loss(inputs)
        tot = total(terms)
        if not bool(torch.isfinite(tot)):
            raise FloatingPointError(f"non-finite loss {float(tot)} ({ {k: float(v) for k, v in terms.items()} }); "
                                     "lower lr or check the data")
        return terms

    def optimize(self, step: int) -> None:
        """Gradient clipping, the optimizer step and the scheduler step (the gradients are accumulated)."""
        if self.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()

    def train_step(self, net: nn.Module, adv_proxy, step: int) -> None:
        """One step (0-based ``step``): every local slice's forward and backward, `optimize`, the adversary."""
        ctx = self.ctx
        idx = batch_indices(self.data.n, self.batch_size, self.seed, step)
        slices, per = torch.tensor_split(idx, self.micro_batches), self.micro_batches // ctx.world_size
        local = range(ctx.rank * per, (ctx.rank + 1) * per)
        self.optimizer.zero_grad(set_to_none=True)
        values: Dict[str, float] = {}
        kept = []
        cur_lr = float(self.optimizer.param_groups[0]["lr"])
        for j, m in enumerate(local):
            share = len(slices[m]) / len(idx)
            g = step_generator(self.seed, step, m, self.micro_batches)
            x, y = self.get_batch(step, slices[m], g)
            sync = contextlib.nullcontext() if not ctx.distributed or j == len(local) - 1 else net.no_sync()
            with sync:
                x1 = self.forward(net, y)
                inputs = LossInputs(y, self.physics, net, x1, g, x if self.loss.needs_ground_truth else None)
                try:
                    terms = self.compute_loss(inputs)
                except FloatingPointError as err:
                    raise FloatingPointError(f"step {step + 1}: {err}") from None
                tot, scale = total(terms), share * ctx.world_size
                (tot if scale == 1.0 else tot * scale).backward()
            for k, v in [(_TOTAL, tot)] + list(terms.items()):
                values[k] = values.get(k, 0.0) + share * float(v.detach())
            kept.append((inputs, share))
        values = self._reduce(values)
        self.optimize(step)
        if adv_proxy is not None:
            adv_values: Dict[str, float] = {}
            for inputs, share in kept:
                if isinstance(adv_proxy, D.AveragingOptimizer):
                    adv_proxy.weight = share
                for k, v in (self.loss.adversary_step(inputs, adv_proxy) or {}).items():
                    adv_values[k] = adv_values.get(k, 0.0) + share * float(v)
            if isinstance(adv_proxy, D.AveragingOptimizer):
                adv_proxy.apply()
            values.update(self._reduce(adv_values))
        self.history.record(values.pop(_TOTAL), cur_lr, values)

    def _reduce(self, values: Dict[str, float]) -> Dict[str, float]:
        if not self.ctx.distributed or not values:
            return values
        keys = sorted(values)
        t = D.all_reduce_sum(torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.ctx.device),
                             self.ctx)
        return dict(zip(keys, t.tolist()))
