"""The trainer: any `equinet.losses.Loss`, any model ``model(y, physics) -> x``, any operator and data.

One step takes a global batch of ``batch_size`` items (epoch-wise permutations seeded by ``(seed, 0, epoch)``),
splits it into ``micro_batches`` fixed slices, and for each slice ``m`` with its generator ``(seed, 1, step[, m])``:
`Trainer.get_batch` (re-simulates ``y = physics.measure(x, generator)`` for image data, else the fixed ``y``),
`Trainer.forward` (``x1 = model(y, physics)``), `Trainer.compute_loss` on the `LossInputs` and back-propagation of
the slice's share; then `Trainer.optimize` and the adversary's update. Under ``torchrun`` each process takes its
share of the slices (`equinet.training.distributed`). Logs, plots, EMA... are callbacks (`equinet.training.callbacks`).

Multiple operators: with an `equinet.physics.OperatorFamily` as the physics, each item is measured, reconstructed
and scored with its own member (`Trainer.physics_of`: the dataset's operator indices, or ``i mod g`` for image
item ``i``).

Exact resume: batch order and generators are functions of ``(seed, step)``; the checkpoint holds everything else
(`equinet.training.checkpoint`): a killed and resumed run reproduces the uninterrupted one bit for bit on the CPU.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Callable, Dict, Optional, Sequence

import torch
from torch import nn

from ..interop.deepinv_models import adapt_training
from ..losses.base import Loss, LossInputs, total
from . import checkpoint as C
from . import distributed as D
from .callback_defaults import default_callbacks
from .callbacks import Callback, StopWhen
from .distributed import resolve_device
from .evaluation import evaluate
from .log import History, RunClock
from .operators import family_of, operators_of
from .precision import Precision
from .preflight import check_weights_finite, first_batch_preflights, preflight, run_first_step_check
from .sampling import TrainingData, batch_indices, step_generator
from .train_config import OptimizerSpec, TrainConfig, build_optimizer

__all__ = ["Trainer", "TrainConfig", "preflight", "resolve_device"]

_TOTAL = "\0total"  # key of the summed loss among the term values (cannot collide with a term name)


class Trainer:
    """Train ``model`` in place by minimising ``loss`` (see the module docstring for one step).

    Args:
        model: ``model(y, physics) -> x`` (e.g. `equinet.reconstructors.PinvReconstructor`, ``UnrolledPGD``).
        loss: an `equinet.losses.Loss` (or a `LossSum`). physics: the operator (moved to the device; a deepinv
            operator is used through `equinet.interop.from_deepinv`), or an `equinet.physics.OperatorFamily` (each
            item with its own member: a measurement dataset must carry the operator indices).
        data: images (tensor ``[N, C, H, W]`` or dataset; ``y`` re-simulated every step) or an
            `equinet.data.MeasurementDataset` (fixed ``y``; with ground truth if paired; a deepinv dataset is read
            through `equinet.interop.from_deepinv_dataset`).
        config: a `TrainConfig`; keyword ``settings`` (``steps=``, ``batch_size=``, ...) override its fields.
        optimizer / scheduler / adversary_optimizer: override the configured ones: an optimizer or ``params ->
            optimizer``; a scheduler or ``(optimizer, total_steps) -> scheduler`` (stepped once per step).
        measure: ``(x, generator) -> y`` for on-line simulation (default ``physics.measure``). validation: a
            `equinet.data.PairedMeasurementDataset` (held-out x and fixed y) for PSNR/SSIM (EMA: of the average).
        out: folder for ``log.csv``, ``curves.png`` and (by default) ``checkpoint.pt``; checkpoint: its path.
        resume: continue from an existing checkpoint of the same settings (False: start over and overwrite it).
        progress: True for a progress bar, or a shared bar (any object with ``update(n, postfix=None)``).
        callback: ``callback(step, loss)`` after every step; callbacks: more `Callback` objects; fingerprint:
            settings that must match for a resume.
        stop_when: ``stop_when(history) -> bool`` after every validation and on resuming: True ends the run with a
            checkpoint (`equinet.training.callbacks.StopWhen`; needs ``validation``; single process).
    """

    def __init__(self, model: nn.Module, loss: Loss, physics, data, config: Optional[TrainConfig] = None, *,
                 optimizer: OptimizerSpec = None, scheduler=None, adversary_optimizer: OptimizerSpec = None,
                 measure: Optional[Callable] = None, validation=None, out: Optional[str] = None,
                 checkpoint: Optional[str] = None, resume: bool = True, progress=False,
                 callback: Optional[Callable[[int, float], None]] = None, callbacks: Sequence[Callback] = (),
                 fingerprint: Optional[dict] = None, stop_when: Optional[Callable] = None, **settings):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module called as model(y, physics), got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be an equinet.losses.Loss, got {type(loss).__name__}")
        physics, data = adapt_training(physics, data)  # deepinv operators and datasets (equinet.interop)
        self.data = TrainingData(data)
        cfg = self.config = TrainConfig(**settings) if config is None else dataclasses.replace(config, **settings)
        if loss.needs_ground_truth and not self.data.has_ground_truth:
            raise ValueError(f"{type(loss).__name__} needs ground-truth images, but the training data hold "
                             "measurements only; use an unsupervised loss (MC, EI, SURE, REI) or paired data")
        self.family = family_of(physics, data if self.data.fixed else None, validation, measure)
        if measure is None and not self.data.fixed and self.family is None and \
                not callable(getattr(physics, "measure", None)):
            raise TypeError("physics must provide measure(x, generator) (an equinet.physics.LinearPhysics) "
                            "or pass measure=")
        self.seed, self.batch_size, self.micro_batches = cfg.seed, cfg.batch_plan(self.data.n), cfg.micro_batches
        self.total = cfg.total_steps(self.data.n)
        if validation is not None and not getattr(validation, "has_ground_truth", False):
            raise TypeError("validation must be an equinet.data.PairedMeasurementDataset (held-out images and their "
                            f"measurements), got {type(validation).__name__}")
        self.out, self.checkpoint = C.run_paths(out, checkpoint)
        if stop_when is not None and (not callable(stop_when) or validation is None):
            raise ValueError("stop_when must be a callable history -> bool and needs a validation set (it is asked "
                             "after each validation evaluation)")
        self.ctx = D.setup(resolve_device(cfg.device))
        self.precision = Precision(cfg.precision, self.ctx.device)  # autocast and fp16's gradient scaler
        if stop_when is not None and self.ctx.distributed:
            raise ValueError("stop_when is supported in a single process only (not under torchrun)")
        D.check_micro_batches(self.micro_batches, self.ctx)
        self.model, self.loss, self.physics = model.to(self.ctx.device), loss.to(self.ctx.device), physics
        self.measure: Optional[Callable] = measure if measure is not None else getattr(physics, "measure", None)
        _ = physics.to(self.ctx.device) if isinstance(physics, nn.Module) else None
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.optimizer = build_optimizer(optimizer, self.params, cfg.make_optimizer, "optimizer")
        scheduler = cfg.make_scheduler if scheduler is None else scheduler
        self.scheduler = scheduler(self.optimizer, self.total) if callable(scheduler) and \
            not hasattr(scheduler, "step") else scheduler
        self.adversary_optimizer = None if loss.discriminator is None else build_optimizer(
            adversary_optimizer, [p for p in loss.discriminator.parameters() if p.requires_grad],
            cfg.make_adversary_optimizer, "adversary_optimizer")
        self.validation, self.resume, self.progress, self.stop_requested = validation, bool(resume), progress, False
        self.grad_clip = None if cfg.grad_clip is None else float(cfg.grad_clip)
        self.callbacks = default_callbacks(cfg, self.out if self.ctx.is_main else None, type(loss).__name__,
                                           progress if self.ctx.is_main or progress is not True else False,
                                           callback) + list(callbacks) + \
            ([StopWhen(stop_when)] if stop_when is not None else [])
        self.fingerprint = C.trainer_fingerprint(self, fingerprint)  # what a resumed run must share
        self.history = History()

    def _emit(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(self, *args)

    # ------------------------------------------------------------------------------------------ pieces
    def evaluate(self, model: Optional[nn.Module] = None) -> Dict[str, float]:
        """Mean PSNR and SSIM of ``model(y, physics)`` on the validation set (eval mode, no gradients, autocast)."""
        return evaluate(self.model if model is None else model, self.physics, self.validation,
                        self.config.val_batch_size, self.config.data_range, self.ctx.device, self.precision.autocast)

    def _validate(self, step: int) -> None:
        if self.validation is not None and self.ctx.is_main:
            self._emit("before_evaluation")
            try:
                metrics = self.evaluate()
            finally:
                self._emit("after_evaluation")
            self.history.validation.append({"step": step, **metrics})
            self._emit("on_evaluation", step, metrics)

    def _checkpoint_state(self, map_location) -> Optional[dict]:
        path = self.checkpoint if self.resume else None
        return None if path is None else C.checked_checkpoint(path, self.fingerprint, map_location)

    def check_resume(self) -> Optional[int]:
        """The step the run would resume from (None: afresh); a ValueError if the checkpoint has other settings."""
        state = self._checkpoint_state("cpu")
        return None if state is None else int(state["step"])

    check = run_first_step_check  # the first step's checks, without training or writing anything

    def _load(self) -> Optional[list]:  # the saved RNG states (one per process), or None without a checkpoint
        state = self._checkpoint_state(self.ctx.device)
        return None if state is None else C.restore_trainer(self, state)

    # ------------------------------------------------------------------------------------------- loop
    def fit(self) -> History:
        """Run (or continue) the training; returns the `History` of the whole run."""
        if self.out is not None and self.ctx.is_main:
            os.makedirs(self.out, exist_ok=True)
        try:
            with C.forked_rng(self.ctx.device):
                return self._fit()
        finally:
            D.teardown(self.ctx)

    def _fit(self) -> History:
        ctx, dev = self.ctx, self.ctx.device
        saved_rng = self._load()
        start = len(self.history.loss)
        C.seed_process(self.seed, self.ctx.rank, saved_rng, start, dev)
        net = self.model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP
            net = DDP(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)
        adv = self.adversary_optimizer
        adv_proxy = None if adv is None else adv if self.micro_batches == 1 else D.AveragingOptimizer(adv, ctx)
        if start == 0 and start < self.total:
            first_batch_preflights(self)
        self._emit("on_fit_start")
        if start == 0 and start < self.total:
            self._validate(0)
        clock, cfg = RunClock(self.history), self.config  # wall and CPU time, summed across resumes
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
                    rngs = D.all_gather_objects(C.capture_rng(dev), ctx)
                    if ctx.is_main:
                        clock.stamp(self.history)
                        C.save_checkpoint(self.checkpoint, C.trainer_state(self, done, rngs))
                        self._emit("on_checkpoint", done)
                self._emit("on_step", done, self.history.loss[-1])
                if stop:
                    break
            self._emit("on_fit_end")
        finally:
            self._emit("close")
        self.history.steps = len(self.history.loss)
        clock.stamp(self.history)
        return self.history

    def _stop(self) -> bool:  # whether a callback asked to stop (agreed by every process when one may stop)
        if self.ctx.distributed and any(cb.can_stop for cb in self.callbacks):
            flag = torch.tensor([float(self.stop_requested)], dtype=torch.float64, device=self.ctx.device)
            self.stop_requested = bool(D.all_reduce_sum(flag, self.ctx).item() > 0)
        return self.stop_requested

    # ----------------------------------------------------------------------------- the step, in parts
    def physics_of(self, ids: torch.Tensor):
        """The operator of the items ``ids`` (with an `equinet.physics.OperatorFamily`: each one's own member)."""
        return operators_of(self.family, self.physics, self.data, ids)

    def get_batch(self, step: int, ids: torch.Tensor, generator: torch.Generator):
        """``(x or None, y)`` of the items ``ids`` on the device (``y`` simulated with ``generator`` if not fixed)."""
        x, y = self.data.fetch(ids)
        x = None if x is None else x.to(self.ctx.device)
        if y is not None:
            return x, y.to(self.ctx.device)
        return x, (self.measure or self.physics_of(ids).measure)(x, generator)

    def forward(self, net: nn.Module, y: torch.Tensor, physics=None) -> torch.Tensor:
        """The reconstruction ``x1 = net(y, physics)`` the loss sees (default physics: the trainer's)."""
        return net(y, self.physics if physics is None else physics)

    def compute_loss(self, inputs: LossInputs) -> Dict[str, torch.Tensor]:
        """The loss terms of one slice (refused if their sum is not finite)."""
        terms = self.loss(inputs)
        tot = total(terms)
        if not bool(torch.isfinite(tot)):
            raise FloatingPointError(f"non-finite loss {float(tot)} ({ {k: float(v) for k, v in terms.items()} }); "
                                     "lower lr or check the data")
        return terms

    def optimize(self, step: int) -> None:
        """Gradient clipping, the optimizer step (fp16: skipped on overflow) and the scheduler step (`Precision`)."""
        self.precision.step(self.optimizer, self.params, self.grad_clip, grad_factor=self.ctx.world_size)
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
            physics = self.physics_of(slices[m])
            sync = contextlib.nullcontext() if not ctx.distributed or j == len(local) - 1 else \
                net.no_sync()  # type: ignore[operator]
            with sync:
                with self.precision.autocast():  # forward and loss (fp32: no autocast)
                    x1 = self.forward(net, y) if physics is self.physics else self.forward(net, y, physics)
                    inputs = LossInputs(y, physics, net, x1, g, x if self.loss.needs_ground_truth else None)
                    try:
                        terms = self.compute_loss(inputs)
                    except FloatingPointError as err:
                        raise FloatingPointError(f"step {step + 1}: {err}") from None
                tot = total(terms)  # the slice's share; DDP's mean over processes is undone in optimize
                self.precision.backward(tot if share == 1.0 else tot * share)
            for k, v in [(_TOTAL, tot)] + list(terms.items()):
                values[k] = values.get(k, 0.0) + share * float(v.detach())
            kept.append((inputs.in_float32(), share))  # the adversary trains in float32
        values = D.reduce_values(values, ctx)
        self.optimize(step)
        check_weights_finite(self.params, step, cur_lr, values[_TOTAL])
        if adv_proxy is not None:
            adv_values: Dict[str, float] = {}
            for inputs, share in kept:
                if isinstance(adv_proxy, D.AveragingOptimizer):
                    adv_proxy.weight = share
                for k, a in (self.loss.adversary_step(inputs, adv_proxy) or {}).items():
                    adv_values[k] = adv_values.get(k, 0.0) + share * float(a)
            if isinstance(adv_proxy, D.AveragingOptimizer):
                adv_proxy.apply()
            values.update(D.reduce_values(adv_values, ctx))
        self.history.record(values.pop(_TOTAL), cur_lr, values)

