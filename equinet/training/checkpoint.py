"""Training checkpoints: one file, written atomically, that holds everything a run needs to continue bit for bit.

A checkpoint stores the step reached (which fixes the position in the data: the batch order of every epoch and
the generators of every step are functions of ``(seed, step)``), the model, the optimizers (the adversary's too),
the LR scheduler, the gradient scaler of fp16 runs, the loss module (its discriminator), the history, and the
random states that are *not* derived from the step: the global torch CPU and CUDA generators of every process,
numpy's and Python's global generators.
"""
from __future__ import annotations

import contextlib
import os
import random
import re
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from ..utils.cli import UsageError
from ..utils.io import torch_save
from ..utils.seeding import derived_seed

__all__ = ["FORMAT", "save_checkpoint", "load_checkpoint", "capture_rng", "restore_rng", "config_mismatch",
           "forked_rng", "settings_text", "plain", "trainer_state", "checked_checkpoint", "restore_trainer",
           "seed_process"]

FORMAT = "equinet.training.trainer/1"


def capture_rng(device: torch.device) -> Dict[str, Any]:
    """The global random states of this process (torch CPU, CUDA of ``device``, numpy, Python)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached": float(cached)},
             "python": _python_state_to_tensor(random.getstate())}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: Dict[str, Any], device: torch.device) -> None:
    """Restore what `capture_rng` saved."""
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    random.setstate(_python_state_from_tensor(state["python"]))


def _python_state_to_tensor(st):
    version, internal, gauss = st
    return {"version": int(version), "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss": None if gauss is None else float(gauss)}


def _python_state_from_tensor(d):
    return d["version"], tuple(int(v) for v in d["internal"].tolist()), d["gauss"]


def save_checkpoint(path: str, state: Dict[str, Any]) -> None:
    """Write ``state`` (with the format tag) to ``path`` atomically: a crash leaves the previous checkpoint."""
    torch_save({"format": FORMAT, **state}, path)


def load_checkpoint(path: str, map_location=None) -> Optional[Dict[str, Any]]:
    """The checkpoint at ``path`` (None if there is none); a clear error for a file that is not one."""
    if not os.path.exists(path):
        return None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a truncated or foreign file
        raise ValueError(f"{path} is not a readable equinet training checkpoint ({err})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not an equinet training checkpoint (format {FORMAT!r})")
    return state


def config_mismatch(saved: Dict[str, Any], now: Dict[str, Any]) -> Dict[str, Any]:
    """``{key: (saved, now)}`` for every setting that differs between a checkpoint and the current run."""
    keys = sorted(set(saved) | set(now))
    return {k: (saved.get(k), now.get(k)) for k in keys if saved.get(k) != now.get(k)}


@contextlib.contextmanager
def forked_rng(dev: torch.device):
    """Run the block with its own global RNG states (torch, CUDA, numpy, Python); the caller's are restored."""
    np_state, py_state = np.random.get_state(), random.getstate()
    devices = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def settings_text(obj) -> str:
    """``repr(obj)`` without memory addresses: the loss's settings (weights, transforms, SURE's noise parameters and
    steps, sub-losses) as they print, comparable across processes for the checkpoint's fingerprint."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj))


def plain(v):
    """Settings as plain comparable values (tuples -> lists) for the checkpoint's fingerprint."""
    if isinstance(v, (tuple, list)):
        return [plain(u) for u in v]
    if isinstance(v, dict):
        return {str(k): plain(u) for k, u in v.items()}
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return repr(v)


def run_paths(out, checkpoint) -> Tuple[Optional[str], Optional[str]]:
    """``(out, checkpoint)`` of a run: the output folder (None: none) and the checkpoint file (default
    ``out/checkpoint.pt``); a clear error for a folder that is a file, or a checkpoint path that is a folder."""
    if out is not None and os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"output folder {out!r} exists and is not a folder")
    out = None if out is None else os.fspath(out)
    checkpoint = checkpoint if checkpoint is not None else (None if out is None else os.path.join(out, "checkpoint.pt"))
    if checkpoint is not None and os.path.isdir(checkpoint):
        raise ValueError(f"checkpoint path {checkpoint!r} is a folder; give a file path")
    return out, checkpoint


def trainer_fingerprint(trainer, extra_settings: Optional[dict]) -> Dict[str, Any]:
    """The settings a checkpoint records and a resume must share: seed, batch plan, steps, items, clipping, the loss
    and its settings, optimizer, schedule, ``extra_settings``, EMA / early stopping / reduced precision when used
    (fp32 is left out, as before precision existed, so older checkpoints still resume) and an operator family."""
    cfg, loss = trainer.config, trainer.loss
    extra = {k: getattr(cfg, k) for k in ("ema", "early_stopping", "precision")
             if getattr(cfg, k) not in (None, "fp32")}
    fp = dict(seed=trainer.seed, batch_size=trainer.batch_size, micro_batches=trainer.micro_batches,
              steps=trainer.total, n_items=trainer.data.n, grad_clip=trainer.grad_clip, loss=type(loss).__name__,
              loss_settings=settings_text(loss),
              optimizer=[type(trainer.optimizer).__name__, plain(trainer.optimizer.defaults)],
              scheduler=None if trainer.scheduler is None else type(trainer.scheduler).__name__,
              extra=plain(extra_settings or {}), **plain(extra))
    if trainer.family is not None:  # a checkpoint of one family is not resumed with another
        fp["operator_family"] = trainer.family.fingerprint()
    return fp


def trainer_state(trainer, step: int, rngs: list) -> Dict[str, Any]:
    """What a `Trainer`'s checkpoint at ``step`` holds (``rngs``: the global RNG states of every process)."""
    opt = lambda o: None if o is None else o.state_dict()  # noqa: E731
    return {"step": step, "epoch_position": divmod(step, -(-trainer.data.n // trainer.batch_size)),
            "world_size": trainer.ctx.world_size, "config": trainer.fingerprint, "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict(), "loss": trainer.loss.state_dict(),
            "scheduler": opt(trainer.scheduler), "adversary_optimizer": opt(trainer.adversary_optimizer),
            "history": trainer.history.state(), "rng": rngs, "precision": trainer.precision.state_dict(),
            "callbacks": {cb.key: cb.state_dict() for cb in trainer.callbacks if cb.key}}


def checked_checkpoint(path: str, fingerprint: Dict[str, Any], map_location=None) -> Optional[Dict[str, Any]]:
    """The checkpoint at ``path`` (None if there is none), refused with a clear `equinet.utils.cli.UsageError` (a
    ValueError) if it was written with settings other than ``fingerprint``."""
    state = load_checkpoint(path, map_location=map_location)
    diff = None if state is None else config_mismatch(state["config"], fingerprint)
    if diff:  # the user's folder, not a bug: a command prints this as its one-line error (a ValueError)
        raise UsageError(f"checkpoint {path} was written with another configuration (checkpoint vs now: {diff}); "
                         "delete it, choose another output folder, or do not resume")
    return state


def restore_trainer(trainer, state: Dict[str, Any]) -> list:
    """Load a checkpoint's weights, optimizers, scheduler, gradient scaler, loss, callbacks and history into
    ``trainer``; returns the saved RNG states (one per process)."""
    from ..nn.loading import load_state_dict
    from .log import History
    load_state_dict(trainer.model, state["model"])  # all or nothing, whatever the model's class
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.loss.load_state_dict(state["loss"])
    for obj, key in ((trainer.scheduler, "scheduler"), (trainer.adversary_optimizer, "adversary_optimizer")):
        if obj is not None:
            obj.load_state_dict(state[key])
    trainer.precision.load_state_dict(state.get("precision", {}))  # fp16's scaler (absent: fp32 checkpoints)
    for cb in trainer.callbacks:
        if cb.key and cb.key in state.get("callbacks", {}):
            cb.load_state_dict(state["callbacks"][cb.key])
    trainer.history = History.from_state(state["history"])
    trainer.history.resumed_from = int(state["step"])
    return state["rng"]


def seed_process(seed: int, rank: int, saved_rng: Optional[list], start: int, device: torch.device) -> None:
    """The global RNG states of process ``rank``: restored from a checkpoint's ``saved_rng``, else derived from
    ``(seed, rank)`` (and ``start`` for a rank the checkpoint did not have: resumed on more processes)."""
    if saved_rng is not None and rank < len(saved_rng):
        return restore_rng(saved_rng[rank], device)
    extra = () if saved_rng is None else (start,)
    torch.manual_seed(derived_seed(seed, 2, rank, *extra))
    np.random.seed(derived_seed(seed, 3, rank, *extra) % 2 ** 32)
    random.seed(derived_seed(seed, 4, rank, *extra))
