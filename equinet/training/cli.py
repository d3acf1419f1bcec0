"""``python -m equinet train CONFIG.toml [--resume] [--out DIR]`` (also under ``torchrun``); see docs/training.md."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

from ..utils.io import atomic_path
from .config import ConfigError, build_run, load_config

__all__ = ["main", "prepare_output"]


def prepare_output(out: str, resume: bool) -> None:
    """Create and check the output folder before any training: a path that is a file, a folder that cannot be
    written, or a folder that already holds a run (without ``--resume``) is a `ConfigError`."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"output folder {out!r} exists and is a file; choose another --out")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"cannot create the output folder {out!r}: {err}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"the output folder {out!r} is not writable")
    if os.path.exists(os.path.join(out, "checkpoint.pt")) and not resume:
        raise ConfigError(f"{out!r} already holds a run (checkpoint.pt); pass --resume to continue it, or choose "
                          "another --out")


def main(argv=None, prog: str = "python -m equinet train") -> dict:
    p = argparse.ArgumentParser(prog=prog, description="Train a reconstruction network from a TOML config "
                                "(docs/training.md). Under torchrun it trains with DistributedDataParallel.")
    p.add_argument("config", help="the TOML configuration (examples in experiments/configs/)")
    p.add_argument("--resume", action="store_true", help="continue the run in the output folder from its checkpoint")
    p.add_argument("--out", default=None, help="output folder (default: the config's out, else outputs/train/<name>)")
    args = p.parse_args(argv)
    from .trainer import Trainer, resolve_device
    try:
        cfg = load_config(args.config)
        out = args.out or cfg["out"] or os.path.join("outputs", "train",
                                                     os.path.splitext(os.path.basename(args.config))[0])
        try:
            resolve_device(cfg["device"])
        except (RuntimeError, ValueError) as err:  # an unknown device type, or CUDA asked for but absent
            raise ConfigError(f"device = {cfg['device']!r}: {err}") from None
        rank = int(os.environ.get("RANK", "0"))
        if rank == 0:
            prepare_output(out, args.resume)
        run = build_run(cfg)
        trainer = Trainer(run.model, run.loss, run.physics, run.data, out=out, resume=args.resume,
                          **run.trainer_kwargs)
        try:
            trainer.check_resume()
        except ValueError as err:
            raise ConfigError(str(err)) from None
    except ConfigError as err:
        raise SystemExit(f"error: {err}") from None
    main_rank = trainer.ctx.is_main
    if main_rank:
        with atomic_path(os.path.join(out, "config.toml")) as tmp:
            shutil.copyfile(args.config, tmp)
        print(f"training {type(run.loss).__name__} on {type(run.physics).__name__} with "
              f"{type(run.model).__name__}: {trainer.total} steps, {trainer.ctx.world_size} process(es), "
              f"output in {out}", file=sys.stderr)
    t0 = time.perf_counter()
    hist = trainer.fit()
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
