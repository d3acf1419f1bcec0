"""``python -m equinet train CONFIG.toml [--resume] [--out DIR]`` (also under ``torchrun``); see docs/training.md.

Everything is checked before the first file is written: the configuration (`load_config`), the device, the output
folder, every object it builds, the checkpoint to resume, and the first step's checks (`Trainer.check`). Then the
output folder is locked (`equinet.utils.lock`: one writer per folder) for the run.
"""
from __future__ import annotations

import os
import shutil
import sys
import time

from ..utils.cli import Parser, user_input
from ..utils.io import atomic_path
from ..utils.lock import OutputLock
from .config import ConfigError, build_run, load_config

__all__ = ["main", "prepare_output", "build_parser"]


def _writable_parent(path: str) -> str:
    """The nearest existing ancestor of ``path`` (the folder in which it would be created)."""
    p = os.path.abspath(path)
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    return p


def prepare_output(out: str, resume: bool, create: bool = True) -> None:
    """Check the output folder before any training (and create it when ``create``): a path that is a file, a
    folder that cannot be written, or a folder that already holds a run (without ``--resume``) is a
    `ConfigError`."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"output folder {out!r} exists and is a file; choose another --out")
    base = _writable_parent(out)
    if not os.path.isdir(base):
        raise ConfigError(f"cannot create the output folder {out!r}: {base!r} is a file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"the output folder {out!r} is not writable" if base == os.path.abspath(out) else
                          f"cannot create the output folder {out!r}: {base!r} is not writable")
    if os.path.exists(os.path.join(out, "checkpoint.pt")) and not resume:
        raise ConfigError(f"{out!r} already holds a run (checkpoint.pt); pass --resume to continue it, or choose "
                          "another --out")
    if create:
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create the output folder {out!r}: {err.strerror}") from None


def build_parser(prog: str = "python -m equinet train") -> Parser:
    p = Parser(prog=prog, description="Train a reconstruction network from a TOML configuration (docs/training.md; "
               "examples in experiments/configs/). Under torchrun --nproc_per_node=N it trains with "
               "DistributedDataParallel; the results do not depend on N.")
    p.add_argument("config", help="the TOML configuration file")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in the output folder from its last checkpoint (same settings)")
    p.add_argument("--out", default=None,
                   help="output folder (default: the config's out, else outputs/train/<config name>)")
    return p


def main(argv=None, prog: str = "python -m equinet train") -> dict:
    """Train from ``argv`` (see the module docstring); returns the run's summary. A user error raises
    `equinet.utils.cli.UsageError` before any file is written."""
    args = build_parser(prog).parse_args(argv)
    from .trainer import Trainer, resolve_device
    rank = int(os.environ.get("RANK", "0"))
    with user_input():
        cfg = load_config(args.config)
        out = args.out or cfg["out"] or os.path.join("outputs", "train",
                                                     os.path.splitext(os.path.basename(args.config))[0])
        try:
            resolve_device(cfg["device"])
        except (RuntimeError, ValueError) as err:  # an unknown device type, or CUDA asked for but absent
            raise ConfigError(f"device = {cfg['device']!r}: {err}") from None
        if rank == 0:
            prepare_output(out, args.resume, create=False)
        run = build_run(cfg)
        trainer = Trainer(run.model, run.loss, run.physics, run.data, out=out, resume=args.resume,
                          **run.trainer_kwargs)
        trainer.check_resume()
        trainer.check()
    lock = OutputLock(out, f"{prog} {' '.join(map(str, argv or []))}".strip()) if trainer.ctx.is_main else None
    if lock is not None:
        with user_input():
            prepare_output(out, args.resume)
            lock.acquire()
    try:
        return _train(trainer, run, args, out)
    finally:
        if lock is not None:
            lock.release()


def _train(trainer, run, args, out: str) -> dict:
    main_rank = trainer.ctx.is_main
    if main_rank:
        with atomic_path(os.path.join(out, "config.toml")) as tmp:
            shutil.copyfile(args.config, tmp)
        print(f"training {type(run.loss).__name__} on {type(run.physics).__name__} with "
              f"{type(run.model).__name__}: {trainer.total} steps, {trainer.ctx.world_size} process(es), "
              f"output in {out}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        hist = trainer.fit()
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"the last checkpoint in {out} is whole; continue with --resume") from None
    seconds = time.perf_counter() - t0
    summary = {"steps": hist.steps, "final_loss": hist.loss[-1] if hist.loss else None,
               "resumed_from": hist.resumed_from, "seconds": seconds, "out": out}
    if hist.validation:
        summary.update(val_psnr_start=hist.validation[0]["psnr"], val_psnr=hist.validation[-1]["psnr"],
                       val_ssim=hist.validation[-1]["ssim"])
    if main_rank:
        parts = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()]
        print("done: " + ", ".join(parts), file=sys.stderr)
    return summary

