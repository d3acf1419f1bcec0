"""The comparison's command line (``python -m equinet compare``): every bad flag or value is one error line."""
from __future__ import annotations

import argparse
import dataclasses
import os
import textwrap
from typing import List, Optional, Sequence, Tuple

from ...nets import NETWORKS
from ...nets.activation import FUNCTIONS, LEGACY_NAMES, AliasFree
from ...utils.cli import Parser, user_input
from ...utils.lock import OutputLock
from ..runner import prepare_output
from .config import BACKENDS, MODELS, OPERATORS, ComparisonConfig
from .run import run_comparison

__all__ = ["build_parser", "config_from_args", "main"]


def _ints(text: str) -> Tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None


def _strs(text: str) -> Tuple[str, ...]:
    return tuple(v for v in text.replace(",", " ").split())


def build_parser(default_mode: str = "full", prog: Optional[str] = None) -> argparse.ArgumentParser:
    ap = Parser(prog=prog, description="Translation- vs roto-translation-equivariant unrolled PGD on "
                                             "sparse-view CT and MRI of ellipse phantoms (docs/experiments.md).")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help="32x32 images, small nets, 300 steps, 2 workers: about 3 minutes on 2 idle CPU cores")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="the full protocol (larger images and nets; hours on a CPU: for a GPU, --device auto)")
    ap.set_defaults(mode=default_mode)
    ap.add_argument("--out", default="outputs/comparison", help="output folder (default outputs/comparison)")
    ap.add_argument("--seed", type=int, default=None, help="run seed: data, initialisation, batches (default 0)")
    ap.add_argument("--device", default=None, help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    ap.add_argument("--operators", type=_strs, default=None, help=f"subset of {OPERATORS}, e.g. 'ct,mri'")
    ap.add_argument("--models", type=_strs, default=None, help=f"subset of {MODELS}")
    ap.add_argument("--train-sizes", type=_ints, default=None, help="e.g. '10,30,100,300'")
    ap.add_argument("--n-test", type=int, default=None, help="held-out test phantoms (quick 32)")
    ap.add_argument("--repeats", type=int, default=None, help="training repeats (new data draw and init)")
    ap.add_argument("--steps", type=int, default=None, help="Adam steps of every training run (quick 300)")
    ap.add_argument("--batch-size", type=int, default=None, help="images per step (quick 8)")
    ap.add_argument("--lr", type=float, default=None, help="learning rate, finite and > 0 (quick 0.002)")
    ap.add_argument("--image-size", type=int, default=None, help="phantom size in pixels, >= 11 (quick 64)")
    ap.add_argument("--n-iter", type=int, default=None, help="unrolled iterations")
    ap.add_argument("--depth", type=int, default=None, help="convolutions per proximal network (quick 4)")
    ap.add_argument("--kernel-size", type=int, default=None, help="odd kernel size of every convolution")
    ap.add_argument("--width", type=int, default=None, help="regular fields of the reference C8 network")
    ap.add_argument("--net", choices=NETWORKS.names(), default=None, help="proximal network (default dncnn)")
    ap.add_argument("--activation", choices=FUNCTIONS + tuple(LEGACY_NAMES), default=None, metavar="NAME",
                    help="pointwise nonlinearity of every proximal network, one of " + ", ".join(FUNCTIONS)
                         + " (default relu; the former '_aa'/'_aaq' forms are deprecated: use --alias-free)")
    ap.add_argument("--alias-free", choices=tuple(a.value for a in AliasFree), default=None,
                    help="evaluate the nonlinearity alias-free: radial or quincunx (default none; docs/alias_free.md)")
    ap.add_argument("--backend", choices=BACKENDS, default=None,
                    help="library that builds the equivariant proximal networks (escnn/e2cnn need the escnn "
                         "extra; DnCNN only); default equinet")
    ap.add_argument("--orientation", choices=("aligned", "uniform"), default=None,
                    help="training phantoms aligned with the axes (default) or uniformly rotated")
    ap.add_argument("--ct-angles", type=int, default=None, help="CT projection angles (default 50)")
    ap.add_argument("--ct-noise", type=float, default=None, help="CT Gaussian noise level, finite >= 0 (default 0.05)")
    ap.add_argument("--mri-acceleration", type=float, default=None,
                    help="MRI undersampling factor, finite >= 1 (default 4)")
    ap.add_argument("--mri-noise", type=float, default=None,
                    help="MRI Gaussian noise level, finite >= 0 (default 0.05)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads per process (quick mode: 1)")
    ap.add_argument("--workers", type=int, default=None,
                    help="training processes (default: quick mode min(2, CPU cores), full mode 1); the table "
                         "does not depend on it")
    ap.add_argument("--checkpoints", action="store_true", default=None,
                    help="checkpoint every training run under OUT/checkpoints and resume from there")
    ap.add_argument("--checkpoint-every", type=int, default=None,
                    help="steps between checkpoints (default: a tenth of --steps)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def config_from_args(a: argparse.Namespace) -> ComparisonConfig:
    names = {f.name for f in dataclasses.fields(ComparisonConfig)}
    overrides = {k: v for k, v in vars(a).items() if k in names and k != "mode" and v is not None}
    if a.mode == "quick" and "workers" not in overrides:
        overrides["workers"] = max(1, min(2, os.cpu_count() or 1))
    return ComparisonConfig.quick(**overrides) if a.mode == "quick" else ComparisonConfig(**overrides)


def _check_device(device: str) -> None:
    from ...training import resolve_device
    try:
        resolve_device(device)
    except RuntimeError:  # torch's own message lists every device type it was built to know
        raise ValueError(f"--device {device!r} is not a device (expected auto, cpu, cuda or cuda:N)") from None
    except ValueError as err:  # e.g. CUDA requested but not available
        raise ValueError(f"--device {device!r}: {err}") from None


def main(argv: Optional[Sequence[str]] = None, default_mode: str = "full", prog: Optional[str] = None) -> List[dict]:
    """Command line: ``python -m equinet compare [--quick|--full] [options]``. Bad options, values, devices and
    output folders raise `equinet.utils.cli.UsageError` (one line) before any work is done; the output folder is
    locked for the run (`equinet.utils.lock`)."""
    ap = build_parser(default_mode, prog)
    a = ap.parse_args(argv)
    with user_input():  # ImportError: --backend without its library
        cfg = config_from_args(a)
        _check_device(cfg.device)
        prepare_output(a.out)
    with user_input():
        lock = OutputLock(a.out, f"{ap.prog} {' '.join(map(str, argv or []))}").acquire()
    try:
        print(textwrap.fill(f"comparison ({cfg.mode} mode) -> {a.out}: " + ", ".join(
            f"{k}={v}" for k, v in cfg.to_dict().items()), 100, subsequent_indent="  "))
        try:
            return run_comparison(cfg, a.out, progress=not a.no_progress)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"stopped the comparison; checkpoints already written are kept in {a.out}") \
                from None
    finally:
        lock.release()
