"""The trainer: any `equinet.losses.Loss`, any model ``model(y, physics) -> x``, any operator and data.

One step takes a global batch of ``batch_size`` items (epoch-wise random permutations seeded by ``(seed, 0, epoch)``),
splits it into ``micro_batches`` fixed slices, and for each slice ``m``: draws a CPU generator seeded by
``(seed, 1, step)`` (one slice) or ``(seed, 1, step, m)``; re-simulates ``y = physics.measure(x, generator)``
when the data are images (on-line simulation) or takes the dataset's fixed ``y``; computes ``x1 = model(y, physics)``
once; builds the `LossInputs` (the ground truth only for losses that need it); and
back-propagates the slice's share of ``equinet.losses.total(terms)``. Then one optimizer step, one scheduler step, and
one adversary update when the loss has a discriminator. Under ``torchrun`` each process takes its share of the
slices (`equinet.training.distributed`), so the run does not depend on the number of processes.

Exact resume: the batch order and every per-step generator are functions of ``(seed, step)``; the checkpoint holds
the step, the weights, the optimizers, the scheduler, the loss module and the global RNG states of every process
(`equinet.training.checkpoint`). A run killed at any time and resumed from its last checkpoint reproduces the
uninterrupted run's losses and weights bit for bit on the CPU.
"""
from __future__ import annotations

import contextlib
import math
import os
import random
import re
import sys
import time
from typing import Callable, Dict, List, Optional, Union

import numpy as np
import torch
from torch import nn

from ..interop.deepinv_models import adapt_training
from ..losses.base import Loss, LossInputs, total
from ..metrics import psnr, ssim
from ..nn.loading import load_state_dict
from ..utils.progress import Progress
from ..utils.seeding import check_seed, derived_seed
from . import distributed as D
from .checkpoint import capture_rng, config_mismatch, load_checkpoint, restore_rng, save_checkpoint
from .log import History, plot_history, write_csv
from .preflight import identifiability_preflight, preflight
from .sampling import TrainingData, batch_indices, step_generator

__all__ = ["Trainer", "preflight", "resolve_device"]

_TOTAL = "\0total"  # key of the summed loss among the term values (cannot collide with a term name)
OptimizerSpec = Union[None, torch.optim.Optimizer, Callable[[List[nn.Parameter]], torch.optim.Optimizer]]


def resolve_device(device) -> torch.device:
    """``'auto'`` -> CUDA if available else CPU; otherwise ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def _positive_int(v, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(v)


@contextlib.contextmanager
def _forked_rng(dev: torch.device):
    """Run the block with its own global RNG states (torch, CUDA, numpy, Python); the caller's are restored."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _build_optimizer(spec: OptimizerSpec, params, what: str) -> torch.optim.Optimizer:
    if spec is None:
        return torch.optim.Adam(params, lr=1e-3)
    if isinstance(spec, torch.optim.Optimizer):
        return spec
    if callable(spec):
        opt = spec(params)
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"the {what} factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
        return opt
    raise TypeError(f"{what} must be None, a torch.optim.Optimizer or a callable params -> Optimizer, "
                    f"got {type(spec).__name__}")


def _settings_text(obj) -> str:
    """``repr(obj)`` without memory addresses: the loss's settings (weights, transforms, SURE's noise parameters and
    steps, sub-losses) as they print, comparable across processes for the checkpoint's fingerprint."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj))


def _plain(v):
    """Settings as plain comparable values (tuples -> lists) for the checkpoint's fingerprint."""
    if isinstance(v, (tuple, list)):
        return [_plain(u) for u in v]
    if isinstance(v, dict):
        return {str(k): _plain(u) for k, u in v.items()}
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return repr(v)


class Trainer:
    """Train ``model`` in place by minimising ``loss`` (see the module docstring for one step).

    Args:
        model: ``model(y, physics) -> x`` (e.g. `equinet.nets.PinvReconstructor`, ``UnrolledPGD``).
        loss: an `equinet.losses.Loss` (or a `LossSum`).
        physics: the operator (moved to ``device``); a deepinv operator is used through
            `equinet.interop.from_deepinv`.
        data: images (tensor ``[N, C, H, W]`` or dataset; ``y`` re-simulated every step) or an
            `equinet.data.MeasurementDataset` (fixed ``y``; with ground truth if paired); a deepinv dataset is read
            through `equinet.interop.from_deepinv_dataset`.
        steps / epochs: number of optimizer steps, or of passes over the data (exactly one).
        batch_size: global batch (clamped to N); micro_batches: fixed slices of each batch with their own random
            streams (a multiple of the number of processes; results do not depend on that number).
        optimizer: an optimizer, or ``params -> optimizer`` (default Adam, lr 1e-3).
        scheduler: an LR scheduler, ``(optimizer, total_steps) -> LRScheduler``, or None (constant lr); stepped
            once per step.
        adversary_optimizer: same, for ``loss.discriminator`` (default Adam, lr 1e-3).
        seed: run seed (batch order, per-step generators, global RNGs).
        device: 'cpu', 'cuda', 'auto' or a torch.device (under torchrun a CUDA device becomes cuda:LOCAL_RANK).
        measure: ``(x, generator) -> y`` for on-line simulation (default ``physics.measure``).
        validation: a `equinet.data.PairedMeasurementDataset` (held-out x and fixed y) for PSNR/SSIM.
        val_every: evaluate every this many steps (and before training and at the end); val_batch_size;
            data_range: of PSNR/SSIM (None: each image's range).
        grad_clip: maximum global gradient norm of the model (None: no clipping).
        out: folder for ``log.csv``, ``curves.png`` and (by default) ``checkpoint.pt``.
        checkpoint: checkpoint path (default ``out/checkpoint.pt`` when ``out`` is given, else no checkpoint).
        checkpoint_every: steps between checkpoints (also written at the end); log_every: steps between CSV writes.
        resume: continue from an existing checkpoint of the same settings (False: start over and overwrite it).
        progress: True for a progress bar, or a shared `equinet.utils.progress.Progress` (or any object with
            ``update(n, postfix=None)``, e.g. the experiment runner's worker progress).
        callback: ``callback(step, loss)`` after every step (step counted from 1).
        fingerprint: extra settings (e.g. the parsed config) that must match for a resume.
        plots: write ``curves.png`` with the log.
        stop_when: ``stop_when(history) -> bool``, asked after every validation evaluation (and after a resume):
            True ends the run there, with a checkpoint (e.g. `equinet.training.convergence.UntilConverged`; needs
            ``validation``; single process).
        identifiability: before an unsupervised run with transformations (EI, REI, adversarial EI), print the
            `equinet.diagnostics.identifiability_report` of (physics, transformation) and warn when the rank
            condition fails (`equinet.training.preflight`).
    """

    def __init__(self, model: nn.Module, loss: Loss, physics, data, *, steps: Optional[int] = None,
                 epochs: Optional[int] = None, batch_size: int = 8, micro_batches: int = 1,
                 optimizer: OptimizerSpec = None, scheduler=None, adversary_optimizer: OptimizerSpec = None,
                 seed: int = 0, device="cpu", measure: Optional[Callable] = None, validation=None,
                 val_every: Optional[int] = None, val_batch_size: int = 32, data_range=None,
                 grad_clip: Optional[float] = None, out: Optional[str] = None, checkpoint: Optional[str] = None,
                 checkpoint_every: int = 100, log_every: int = 10, resume: bool = True,
                 progress: Union[bool, Progress] = False, callback: Optional[Callable[[int, float], None]] = None,
                 fingerprint: Optional[dict] = None, plots: bool = True, identifiability: bool = True,
                 stop_when: Optional[Callable[[History], bool]] = None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module called as model(y, physics), got {type(model).__name__}")
        if not isinstance(loss, Loss):
            raise TypeError(f"loss must be an equinet.losses.Loss, got {type(loss).__name__}")
        physics, data = adapt_training(physics, data)  # deepinv operators and datasets (equinet.interop)
        self.data = TrainingData(data)
        if loss.needs_ground_truth and not self.data.has_ground_truth:
            raise ValueError(f"{type(loss).__name__} needs ground-truth images, but the training data hold "
                             "measurements only; use an unsupervised loss (MC, EI, SURE, REI) or paired data")
        if measure is None:
            if not self.data.fixed and not callable(getattr(physics, "measure", None)):
                raise TypeError("physics must provide measure(x, generator) (an equinet.physics.LinearPhysics) "
                                "or pass measure=")
            measure = getattr(physics, "measure", None)
        n = self.data.n
        if (steps is None) == (epochs is None):
            raise ValueError("give exactly one of steps= or epochs=")
        self.batch_size = min(_positive_int(batch_size, "batch_size"), n)
        self.micro_batches = _positive_int(micro_batches, "micro_batches")
        self.total = _positive_int(steps, "steps") if steps is not None else \
            _positive_int(epochs, "epochs") * math.ceil(n / self.batch_size)
        last = n - (math.ceil(n / self.batch_size) - 1) * self.batch_size
        if min(self.batch_size, last) < self.micro_batches:
            raise ValueError(f"every batch must hold at least micro_batches={self.micro_batches} items; with "
                             f"{n} items and batch_size={self.batch_size} the last batch of an epoch has {last}")
        self.seed = check_seed(seed)
        if grad_clip is not None and (isinstance(grad_clip, bool) or not isinstance(grad_clip, (int, float))
                                      or not grad_clip > 0):
            raise ValueError(f"grad_clip must be None or > 0, got {grad_clip!r}")
        self.checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
        self.log_every = _positive_int(log_every, "log_every")
        self.val_every = None if val_every is None else _positive_int(val_every, "val_every")
        self.val_batch_size = _positive_int(val_batch_size, "val_batch_size")
        if validation is not None and not getattr(validation, "has_ground_truth", False):
            raise TypeError("validation must be an equinet.data.PairedMeasurementDataset (held-out images and their "
                            f"measurements), got {type(validation).__name__}")
        if out is not None:
            out = os.fspath(out)
            if os.path.exists(out) and not os.path.isdir(out):
                raise ValueError(f"output folder {out!r} exists and is not a folder")
        self.out = out
        self.checkpoint = checkpoint if checkpoint is not None else (
            os.path.join(out, "checkpoint.pt") if out is not None else None)
        if self.checkpoint is not None and os.path.isdir(self.checkpoint):
            raise ValueError(f"checkpoint path {self.checkpoint!r} is a folder; give a file path")

        if stop_when is not None and (not callable(stop_when) or validation is None):
            raise ValueError("stop_when must be a callable history -> bool and needs a validation set (it is asked "
                             "after each validation evaluation)")
        self.stop_when = stop_when
        self.ctx = D.setup(resolve_device(device))
        if stop_when is not None and self.ctx.distributed:
            raise ValueError("stop_when is supported in a single process only (not under torchrun)")
        if self.micro_batches % self.ctx.world_size:
            raise ValueError(f"micro_batches={self.micro_batches} must be a multiple of the number of processes "
                             f"({self.ctx.world_size}); e.g. micro_batches = {self.ctx.world_size} (the results are "
                             "then the same for any number of processes dividing it)")
        dev = self.ctx.device
        self.model, self.loss, self.physics, self.measure = model.to(dev), loss.to(dev), physics, measure
        if isinstance(physics, nn.Module):
            physics.to(dev)
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("the model has no trainable parameters")
        self.params = params
        self.optimizer = _build_optimizer(optimizer, params, "optimizer")
        self.scheduler = scheduler(self.optimizer, self.total) if callable(scheduler) and \
            not hasattr(scheduler, "step") else scheduler
        disc = loss.discriminator
        self.adversary_optimizer = None if disc is None else _build_optimizer(
            adversary_optimizer, [p for p in disc.parameters() if p.requires_grad], "adversary_optimizer")
        self.validation, self.data_range = validation, data_range
        self.grad_clip = None if grad_clip is None else float(grad_clip)
        self.resume, self.callback, self.plots = bool(resume), callback, bool(plots)
        self.identifiability = bool(identifiability)
        self.progress = progress
        self.fingerprint = dict(
            seed=self.seed, batch_size=self.batch_size, micro_batches=self.micro_batches, steps=self.total,
            n_items=n, grad_clip=self.grad_clip, loss=type(loss).__name__, loss_settings=_settings_text(loss),
            optimizer=[type(self.optimizer).__name__, _plain(self.optimizer.defaults)],
            scheduler=None if self.scheduler is None else type(self.scheduler).__name__,
            extra=_plain(fingerprint or {}))
        self.history = History()

    # ------------------------------------------------------------------------------------------ pieces
    def _local_slices(self) -> range:
        per = self.micro_batches // self.ctx.world_size
        return range(self.ctx.rank * per, (self.ctx.rank + 1) * per)

    @torch.no_grad()
    def evaluate(self, model: Optional[nn.Module] = None) -> Dict[str, float]:
        """Mean PSNR and SSIM of ``model(y, physics)`` on the validation set (eval mode, no gradients)."""
        model = self.model if model is None else model
        ds, dev = self.validation, self.ctx.device
        was = model.training
        model.eval()
        p, s = [], []
        try:
            for i in range(0, len(ds), self.val_batch_size):
                x, y = ds.batch(torch.arange(i, min(i + self.val_batch_size, len(ds))))
                u = model(y.to(dev), self.physics)
                x = x.to(dev)
                p.append(psnr(u, x, self.data_range).double().cpu())
                s.append(ssim(u, x, self.data_range).double().cpu())
        finally:
            model.train(was)
        return {"psnr": float(torch.cat(p).mean()), "ssim": float(torch.cat(s).mean())}

    def _state(self, step: int, rngs: list) -> dict:
        return {"step": step, "epoch_position": divmod(step, math.ceil(self.data.n / self.batch_size)),
                "world_size": self.ctx.world_size, "config": self.fingerprint, "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(), "loss": self.loss.state_dict(),
                "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                "adversary_optimizer": None if self.adversary_optimizer is None
                else self.adversary_optimizer.state_dict(),
                "history": self.history.state(), "rng": rngs}

    def _checkpoint_state(self, map_location) -> Optional[dict]:
        if self.checkpoint is None or not self.resume:
            return None
        state = load_checkpoint(self.checkpoint, map_location=map_location)
        if state is not None:
            diff = config_mismatch(state["config"], self.fingerprint)
            if diff:
                raise ValueError(f"checkpoint {self.checkpoint} was written with another configuration (checkpoint "
                                 f"vs now: {diff}); delete it, choose another output folder, or do not resume")
        return state

    def check_resume(self) -> Optional[int]:
        """The step the run would resume from (None: starts afresh); a clear ValueError if the checkpoint was
        written with other settings. Reads the checkpoint without changing anything."""
        state = self._checkpoint_state("cpu")
        return None if state is None else int(state["step"])

    def check(self) -> None:
        """The first step's checks, run now without training or writing anything (the command line calls it before
        it writes its first file): the first batch's measurements are finite and fit the physics and the model
        (`preflight`), and the loss gives a finite value on them. The model, the loss and every random state are
        left as they were. Raises ``ValueError``/``TypeError`` naming the problem."""
        dev = self.ctx.device
        ids = torch.tensor_split(batch_indices(self.data.n, self.batch_size, self.seed, 0), self.micro_batches)[0]
        loss_state = {k: v.clone() for k, v in self.loss.state_dict().items()}
        was = self.model.training
        with _forked_rng(dev), torch.no_grad():
            x, y = self.data.fetch(ids)
            x = None if x is None else x.to(dev)
            g = step_generator(self.seed, 0, 0, self.micro_batches)
            y = self.measure(x, g) if y is None else y.to(dev)
            preflight(self.loss, self.physics, y, self.model)
            self.model.eval()
            try:
                terms = self.loss(LossInputs(y, self.physics, self.model, self.model(y, self.physics), g,
                                             x if self.loss.needs_ground_truth else None))
            finally:
                self.model.train(was)
                self.loss.load_state_dict(loss_state)
            if self.validation is not None:  # the metrics accept the validation images (e.g. SSIM's window)
                xv, yv = self.validation.batch(torch.arange(min(1, len(self.validation))))
                was = self.model.training
                self.model.eval()
                try:
                    uv, xv = self.model(yv.to(dev), self.physics), xv.to(dev)
                finally:
                    self.model.train(was)
                psnr(uv, xv, self.data_range), ssim(uv, xv, self.data_range)
            tot = total(terms)
            if not bool(torch.isfinite(tot)):
                raise ValueError(f"the loss is not finite on the first batch ({float(tot)}: "
                                 f"{ {k: float(v) for k, v in terms.items()} }); check its weights and the data")

    def _load(self) -> Optional[list]:
        """Load the checkpoint if resuming; returns the saved RNG states (one per process) or None."""
        state = self._checkpoint_state(self.ctx.device)
        if state is None:
            return None
        load_state_dict(self.model, state["model"])  # all or nothing, whatever the model's class
        self.optimizer.load_state_dict(state["optimizer"])
        self.loss.load_state_dict(state["loss"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.adversary_optimizer is not None:
            self.adversary_optimizer.load_state_dict(state["adversary_optimizer"])
        self.history = History.from_state(state["history"])
        self.history.resumed_from = int(state["step"])
        return state["rng"]

    def _write_outputs(self) -> None:
        if self.out is None or not self.ctx.is_main:
            return
        write_csv(os.path.join(self.out, "log.csv"), self.history)
        if self.plots:
            plot_history(os.path.join(self.out, "curves.png"), self.history)

    # ------------------------------------------------------------------------------------------- loop
    def fit(self) -> History:
        """Run (or continue) the training; returns the `History` of the whole run."""
        ctx, dev = self.ctx, self.ctx.device
        if self.out is not None and ctx.is_main:
            os.makedirs(self.out, exist_ok=True)
        try:
            with _forked_rng(dev):
                return self._fit()
        finally:
            D.teardown(ctx)

    def _fit(self) -> History:
        ctx, dev = self.ctx, self.ctx.device
        saved_rng = self._load()
        start = len(self.history.loss)
        if saved_rng is None:
            torch.manual_seed(derived_seed(self.seed, 2, ctx.rank))
            np.random.seed(derived_seed(self.seed, 3, ctx.rank) % 2 ** 32)
            random.seed(derived_seed(self.seed, 4, ctx.rank))
        elif ctx.rank < len(saved_rng):
            restore_rng(saved_rng[ctx.rank], dev)
        else:  # resumed on more processes than the checkpoint had: fresh streams for the new ranks
            torch.manual_seed(derived_seed(self.seed, 2, ctx.rank, start))
            np.random.seed(derived_seed(self.seed, 3, ctx.rank, start) % 2 ** 32)
            random.seed(derived_seed(self.seed, 4, ctx.rank, start))

        net = self.model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP
            net = DDP(self.model, device_ids=[dev.index] if dev.type == "cuda" else None)
        adv = self.adversary_optimizer
        adv_proxy = None if adv is None else (
            adv if self.micro_batches == 1 else D.AveragingOptimizer(adv, ctx))

        if start == 0 and start < self.total:
            ids = batch_indices(self.data.n, self.batch_size, self.seed, 0)[:1]
            x, y = self.data.fetch(ids)
            if y is None:
                y = self.measure(x.to(dev), torch.Generator().manual_seed(0))
            preflight(self.loss, self.physics, y.to(dev), self.model)
            if self.identifiability and ctx.is_main:
                quiet = self.progress is False
                identifiability_preflight(self.loss, self.physics, tuple(self.physics.adjoint(y.to(dev)).shape[-2:]),
                                          echo=(lambda line: None) if quiet else
                                          (lambda line: print(line, file=sys.stderr)))
            if self.validation is not None and ctx.is_main:
                self.history.validation.append({"step": 0, **self.evaluate()})

        own_bar = self.progress is True and ctx.is_main
        bar = Progress(total=self.total, desc="train", unit="step") if own_bar else (
            self.progress if callable(getattr(self.progress, "update", None)) else None)
        if bar is not None and start:
            bar.update(start)
        t0 = time.perf_counter()
        self.model.train()
        self.loss.train()
        stop = start > 0 and self.stop_when is not None and bool(self.stop_when(self.history))
        try:
            for step in range(start, self.total if not stop else start):
                self._one_step(net, adv_proxy, step)
                done = step + 1
                if self.validation is not None and ctx.is_main and (
                        (self.val_every is not None and done % self.val_every == 0) or done == self.total):
                    self.history.validation.append({"step": done, **self.evaluate()})
                    stop = self.stop_when is not None and bool(self.stop_when(self.history))
                if self.checkpoint is not None and (done % self.checkpoint_every == 0 or done == self.total or stop):
                    rngs = D.all_gather_objects(capture_rng(dev), ctx)
                    if ctx.is_main:
                        save_checkpoint(self.checkpoint, self._state(done, rngs))
                    self._write_outputs()
                elif done % self.log_every == 0 and self.out is not None and ctx.is_main:
                    write_csv(os.path.join(self.out, "log.csv"), self.history)
                if bar is not None:
                    bar.update(1, postfix=f"loss={self.history.loss[-1]:.3g}")
                if self.callback is not None:
                    self.callback(done, self.history.loss[-1])
                if stop:
                    break
            if self.checkpoint is None:
                self._write_outputs()
        finally:
            if own_bar:
                bar.close()
        self.history.steps = len(self.history.loss)
        self.history.seconds = time.perf_counter() - t0
        return self.history

    def _one_step(self, net: nn.Module, adv_proxy, step: int) -> None:
        ctx, dev = self.ctx, self.ctx.device
        idx = batch_indices(self.data.n, self.batch_size, self.seed, step)
        slices = torch.tensor_split(idx, self.micro_batches)
        local = self._local_slices()
        self.optimizer.zero_grad(set_to_none=True)
        values: Dict[str, float] = {}
        kept = []
        cur_lr = float(self.optimizer.param_groups[0]["lr"])
        for j, m in enumerate(local):
            ids = slices[m]
            share = len(ids) / len(idx)
            g = step_generator(self.seed, step, m, self.micro_batches)
            x, y = self.data.fetch(ids)
            x = None if x is None else x.to(dev)
            y = self.measure(x, g) if y is None else y.to(dev)
            sync = contextlib.nullcontext() if not ctx.distributed or j == len(local) - 1 else net.no_sync()
            with sync:
                x1 = net(y, self.physics)
                inputs = LossInputs(y, self.physics, net, x1, g, x if self.loss.needs_ground_truth else None)
                terms = self.loss(inputs)
                tot = total(terms)
                if not bool(torch.isfinite(tot)):
                    raise FloatingPointError(f"non-finite loss {float(tot)} at step {step + 1} "
                                             f"({ {k: float(v) for k, v in terms.items()} }); lower lr or check the data")
                scale = share * ctx.world_size
                (tot if scale == 1.0 else tot * scale).backward()
            values[_TOTAL] = values.get(_TOTAL, 0.0) + share * float(tot.detach())
            for k, v in terms.items():
                values[k] = values.get(k, 0.0) + share * float(v.detach())
            kept.append((inputs, share))
        values = self._reduce(values)
        if self.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        self.optimizer.step()
        if not bool(torch.stack([torch.isfinite(p.detach()).all() for p in self.params]).all()):
            raise FloatingPointError(
                f"the weights became NaN or inf at step {step + 1} (learning rate {cur_lr:g}, loss before the update "
                f"{values[_TOTAL]:.4g}); lower the learning rate, set grad_clip, or check the loss weights")
        if self.scheduler is not None:
            self.scheduler.step()
        if adv_proxy is not None:
            adv_values: Dict[str, float] = {}
            for inputs, share in kept:
                if isinstance(adv_proxy, D.AveragingOptimizer):
                    adv_proxy.weight = share
                logged = self.loss.adversary_step(inputs, adv_proxy) or {}
                for k, v in logged.items():
                    adv_values[k] = adv_values.get(k, 0.0) + share * float(v)
            if isinstance(adv_proxy, D.AveragingOptimizer):
                adv_proxy.apply()
            values.update(self._reduce(adv_values))
        total_loss = values.pop(_TOTAL)
        self.history.record(total_loss, cur_lr, values)

    def _reduce(self, values: Dict[str, float]) -> Dict[str, float]:
        if not self.ctx.distributed or not values:
            return values
        keys = sorted(values)
        t = D.all_reduce_sum(torch.tensor([values[k] for k in keys], dtype=torch.float64, device=self.ctx.device),
                             self.ctx)
        return dict(zip(keys, t.tolist()))
