"""``python -m equinet estimate CONFIG.toml``: will a training run fit, and how long will it take?

Builds the run of a TOML configuration exactly as ``train`` does (nothing is written), then reports the number of
trainable parameters and the memory of the weights with their gradients and optimizer state, the activation memory
of one training step (the bytes of the distinct tensors autograd saves for the backward pass of one micro-batch,
model and loss together: what a larger batch or image multiplies), and the measured time of a few probe steps
(after one warm-up step), extrapolated to the configured number of steps.
"""
from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from typing import Dict, Optional

import torch

from .config import ConfigError, build_run, load_config

__all__ = ["estimate", "format_estimate", "main"]


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024.0
    return f"{n:.1f} TiB"


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


class _SavedTensors:
    """Bytes of the distinct storages autograd saves for backward (a `saved_tensors_hooks` pack hook)."""

    def __init__(self):
        self.current: Dict[tuple, int] = {}
        self.per_step = []

    def pack(self, t):
        try:
            st = t.untyped_storage()
            self.current[(st.data_ptr(), str(t.device))] = st.nbytes()
        except (RuntimeError, NotImplementedError):  # sparse or storage-less tensors: their own size
            self.current[(id(t), str(t.device))] = t.numel() * t.element_size()
        return t

    def step_done(self):
        self.per_step.append(sum(self.current.values()))
        self.current = {}


def estimate(config: str, probe_steps: int = 3, device: Optional[str] = None) -> dict:
    """Parameters, memory and measured step time of the run of ``config`` (see the module docstring); a dict with
    ``parameters``, ``weights_bytes`` (weights + gradients + optimizer state), ``activation_bytes`` (per step, largest
    over the probe), ``step_seconds`` (median probe step), ``steps``, ``total_seconds``, ``batch_size``,
    ``micro_batches``, ``device``. Writes nothing."""
    from .trainer import Trainer
    if isinstance(probe_steps, bool) or not isinstance(probe_steps, int) or probe_steps < 1:
        raise ConfigError(f"probe steps must be a positive int, got {probe_steps!r}")
    cfg = load_config(config)
    if device is not None:
        cfg["device"] = device
    run = build_run(cfg)
    kw = dict(run.trainer_kwargs)
    train = kw.pop("config")
    steps_full, epochs = train.steps, train.epochs
    kw.update(config=dataclasses.replace(train, steps=1 + probe_steps, epochs=None, val_every=None, plots=False,
                                         identifiability=False), validation=None, progress=False)
    saved, times = _SavedTensors(), []

    def tick(step, loss):
        saved.step_done()
        times.append(time.perf_counter())

    trainer = Trainer(run.model, run.loss, run.physics, run.data, out=None, callback=tick, **kw)
    total = steps_full if steps_full is not None else \
        epochs * -(-trainer.data.n // trainer.batch_size)
    params = sum(p.numel() for p in trainer.params)
    state_per_param = {"Adam": 2, "AdamW": 2, "SGD": 1}.get(type(trainer.optimizer).__name__, 2)
    weight_bytes = sum(p.numel() * p.element_size() for p in trainer.params) * (2 + state_per_param)
    start = time.perf_counter()
    with torch.autograd.graph.saved_tensors_hooks(saved.pack, lambda t: t):
        trainer.fit()
    marks = [start] + times
    durations = [b - a for a, b in zip(marks[1:-1], marks[2:])] or [marks[1] - marks[0]]
    step = statistics.median(durations)
    return dict(parameters=params, weights_bytes=weight_bytes, activation_bytes=max(saved.per_step),
                step_seconds=step, steps=total, total_seconds=step * total, batch_size=trainer.batch_size,
                micro_batches=trainer.micro_batches, device=str(trainer.ctx.device), probe_steps=probe_steps,
                threads=torch.get_num_threads())


def format_estimate(e: dict) -> str:
    """The report of `estimate`, one line per quantity."""
    per = e["batch_size"] // e["micro_batches"]
    return "\n".join([
        f"parameters: {e['parameters']:,} trainable; weights + gradients + optimizer state "
        f"{_bytes(e['weights_bytes'])}",
        f"activation memory per step: {_bytes(e['activation_bytes'])} (tensors saved for backward, one micro-batch "
        f"of {per} item{'s' if per != 1 else ''}; it grows with the batch and the image size)",
        f"step time: {e['step_seconds'] * 1e3:.1f} ms (median of {e['probe_steps']} probe steps after a warm-up, "
        f"{e['device']}, {e['threads']} threads) -> about {_duration(e['total_seconds'])} for {e['steps']} steps",
    ])


def build_parser(prog: str = "python -m equinet estimate"):
    from ..utils.cli import Parser
    p = Parser(prog=prog, description="Parameters, activation memory per step and measured step time of the "
               "training run of a TOML config (nothing is written).")
    p.add_argument("config", help="the TOML configuration (as for train)")
    p.add_argument("--probe-steps", type=int, default=3, help="timed training steps after one warm-up")
    p.add_argument("--device", default=None, help="override the config's device")
    return p


def main(argv=None, prog: str = "python -m equinet estimate") -> dict:
    """Print the estimate of ``argv``'s config; a bad config or flag raises `equinet.utils.cli.UsageError`."""
    from ..utils.cli import user_input
    args = build_parser(prog).parse_args(argv)
    with user_input():  # the configuration, every object it builds, the device
        e = estimate(args.config, args.probe_steps, args.device)
    print(format_estimate(e), file=sys.stdout)
    return e
