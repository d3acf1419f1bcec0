"""What the reproductions share: the residual U-Net on A†y, the six learning methods as losses, one training run
through `equinet.training.Trainer`, PSNR evaluation, real test images, the command line and small report
helpers. Each reproduction (one module) describes its jobs; `equinet.experiments.runner` runs them."""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ...data import EllipsePhantoms, data_kind, real_images
from ...data.measurements import MeasurementDataset, PairedMeasurementDataset
from ...losses import LOSSES, LossSum
from ...metrics import psnr
from ...nets import NetSpec, build
from ...physics.family import PerSampleOperators
from ...reconstructors import PinvReconstructor
from ...training import TrainConfig, Trainer
from ...utils.checks import check_nonnegative_float, check_positive_float, check_positive_int
from ...utils.cli import Parser, check_writable_file, user_input
from ...utils.config import construct, schema_of
from ...utils.lock import OutputLock
from ...utils.seeding import check_seed, derived_seed
from ..runner import prepare_output
from .labels import LABELS, METHODS  # (re-exported: the reproductions import them from here)

__all__ = ["METHODS", "LABELS", "residual_unet", "make_loss", "train_model", "reconstruct", "psnr_per_image",
           "real_photographs", "disk_mask", "cli", "report", "check_config", "BUILD_PARSER", "QUICK_MINUTES",
           "mean_std", "pm"]

#: the reproductions' U-Net architectures: 'standard' (equinet's default U-Net: max pooling, up-convolutions, a
#: 1x1 read-out, as the EI paper's and deepinv's) and 'v1' (equinet <= 0.3: average pooling, resize and
#: concatenate, a k x k read-out), kept so the quick tables published with it stay reproducible
UNET_ARCHS: Dict[str, Dict[str, Any]] = {"standard": dict(down="max", up="conv", out_kernel=1),
                                         "v1": dict(down="avg", up="resize", out_kernel=None)}


def residual_unet(width: int, scales: int, channels: int = 1, group="C1", kernel_size: int = 3,
                  bias: bool = True, arch: str = "standard", batch_norm: bool = False) -> PinvReconstructor:
    """``f(y) = A†y + U(A†y)``, the EI paper's network, with the U-Net's last convolution zeroed so that every
    method starts from ``f = A†`` (for inpainting, MC then stays at A†y exactly: its gradient is zero there).
    ``arch``: a key of `UNET_ARCHS`; ``batch_norm``: batch normalisation after every convolution but the last."""
    if arch not in UNET_ARCHS:
        raise ValueError(f"unet architecture must be one of {tuple(UNET_ARCHS)}, got {arch!r}")
    spec = NetSpec(group=group, in_channels=channels, out_channels=channels, width=width, depth=2,
                   kernel_size=kernel_size, bias=bias, batch_norm=batch_norm)
    net = build("unet", spec, scales=scales, residual=False, **UNET_ARCHS[arch]).zero_output_layer()
    return PinvReconstructor(net, residual=True, init="pinv")


def make_loss(method: str, transform, alpha: float, adv_weight: float = 0.1):
    """The training loss of ``method`` (EI paper Sec. 4): MC, EI = MC + α EI (eq. 6), EI-adv (eq. 7, LSGAN),
    Sup, EI-sup = Sup + α EI, Sup+DA = Sup + data augmentation (`equinet.losses.DALoss` with ``transform``),
    REI = SURE (for the physics' noise model) + α robust EI (re-measured with noise);
    with an operator family: MOI (`equinet.losses.MOILoss`: MC with each item's member + cross-operator
    consistency) and MOI+EI = MOI + α EI.
    ``transform`` is the group EI uses; it is ignored by MC and Sup."""
    recipes: Dict[str, list[tuple[str, Dict[str, Any]]]] = {
        "mc": [("mc", {})], "ei": [("mc", {}), ("ei", {"weight": alpha})],
        "ei_adv": [("adversarial_ei", {"weight": alpha, "weight_adv": adv_weight})], "sup": [("supervised", {})],
        "ei_sup": [("ei_sup", {"weight": alpha})], "sup_da": [("supervised", {}), ("da", {})],
        "rei": [("rei", {"weight": alpha})],
        "moi": [("moi", {})], "moi_ei": [("moi", {}), ("ei", {"weight": alpha})]}
    terms = recipes.get(method)
    if terms is None:
        raise ValueError(f"unknown method {method!r}; expected one of {tuple(recipes)}")
    built = [construct(f"method {method}", LOSSES.get(name), opts,
                       {"transform": transform} if "transform" in schema_of(LOSSES.get(name)) else {})
             for name, opts in terms]
    return built[0] if len(built) == 1 else LossSum(built)


def train_model(model, loss, physics, x: torch.Tensor, y: torch.Tensor, *, steps: int, batch_size: int, lr: float,
                seed: int, device="cpu", progress=None, out: Optional[str] = None, grad_clip: Optional[float] = None,
                converge=None, validation: Optional[tuple] = None, operators: Optional[torch.Tensor] = None,
                ema: Optional[float] = None):
    """Train ``model`` in place with ``loss`` for ``steps`` Adam steps (cosine learning-rate decay) on the fixed
    measurements ``y``; the ground truth ``x`` is handed to the trainer only when the loss needs it (the discriminator
    of EI-adv: Adam, lr 1e-3). Returns the trainer's history (``seconds``, ``cpu_seconds``: summed across resumes),
    with ``converged`` (bool or None) set. ``out``: the run's folder (log.csv, checkpoint.pt; an interrupted run
    resumes there; no per-run plots, which would dominate short runs). ``ema``: the decay of an exponential moving
    average of the weights, which the validation evaluates and the model holds at the end (None: off).

    ``converge`` (a config with ``val_every, min_steps, tol_db, window, cooldown``) and ``validation`` = held-out
    ``(x, y)``: train at constant lr until the plateau rule holds, then cool down (`equinet.training.convergence`);
    ``steps`` is then the cap. ``operators``: with an `equinet.physics.OperatorFamily` as ``physics``, the member that
    measured each item."""
    data = PairedMeasurementDataset(x, y, operators) if loss.needs_ground_truth else MeasurementDataset(y, operators)
    from ...training.convergence import PlateauCooldown, PlateauRule, UntilConverged
    config = TrainConfig(steps=steps, batch_size=batch_size, lr=lr, schedule="cosine", seed=seed, device=device,
                         grad_clip=grad_clip, checkpoint_every=max(1, steps // 5), log_every=max(1, steps // 20),
                         plots=False, adversary_lr=1e-3, adversary_betas=(0.9, 0.999), ema=ema)
    kw: dict = {}
    stop = None
    if converge is not None:
        if validation is None:
            raise ValueError("a converged run needs a validation split (held-out x, y)")
        stop = []
        rule = PlateauRule(converge.tol_db, converge.window, converge.min_steps)

        def schedule(o, n):
            s = PlateauCooldown(o)
            stop.append(UntilConverged(rule, s, converge.cooldown, converge.val_every, max_steps=steps))
            return s
        config = dataclasses.replace(config, val_every=converge.val_every, data_range=1.0,
                                     checkpoint_every=converge.val_every)
        # the rule is part of what a resumed run must share (the trainer refuses a checkpoint of another rule)
        kw = dict(scheduler=schedule, validation=PairedMeasurementDataset(*validation),
                  stop_when=lambda h: stop[0](h),
                  fingerprint=dict(plateau=dict(tol_db=converge.tol_db, window=converge.window,
                                                min_steps=converge.min_steps, cooldown=converge.cooldown)))
    # a shared bar goes to the trainer's ProgressBar callback (per step, and a resumed run's steps at the start)
    trainer = Trainer(model, loss, physics, data, config, out=out, progress=False if progress is None else progress,
                      **kw)
    hist = trainer.fit()  # its seconds and cpu_seconds are summed over the processes that resumed the run
    hist.converged = None if stop is None else stop[0].converged
    return hist


@torch.no_grad()
def reconstruct(model, physics, y: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """``model(y, physics)`` in evaluation mode, in batches, on the model's device; returned on the CPU (per-sample
    operators of a family are sliced with their batch)."""
    dev = next(model.parameters()).device
    was = model.training
    model.eval()
    part = (lambda i: physics.family.select(physics.operators[i:i + batch])) \
        if isinstance(physics, PerSampleOperators) else (lambda i: physics)  # noqa: E731
    try:
        return torch.cat([model(y[i:i + batch].to(dev), part(i)).cpu() for i in range(0, y.shape[0], batch)])
    finally:
        model.train(was)


def psnr_per_image(u: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    """PSNR (dB, data range 1: every image here lies in [0, 1]) of each reconstruction."""
    return psnr(u.double(), x.double(), 1.0).numpy()


def disk_mask(n: int) -> torch.Tensor:
    """The disk of radius ``n/2 - 1`` pixels about the array centre (the support ``Radon(circle=True)`` assumes)."""
    c = (n - 1) / 2.0
    i = torch.arange(n, dtype=torch.float64) - c
    return ((i[:, None] ** 2 + i[None, :] ** 2) <= (n / 2.0 - 1.0) ** 2).to(torch.get_default_dtype())


def real_photographs(n: int, rotate_seed: Optional[int] = None, disk: bool = True) -> torch.Tensor:
    """Every photograph bundled with scikit-image (``equinet.data.GRAY_IMAGES + RGB_IMAGES``, grayscale), centre
    square, resized to ``n x n`` (antialiased), times the disk mask when ``disk``: ``[10, 1, n, n]`` in [0, 1].
    ``rotate_seed``: rotate each by an angle drawn uniformly in [0, 360) degrees (bilinear) before masking."""
    from ...data import GRAY_IMAGES, RGB_IMAGES, load_image
    imgs = []
    for name in GRAY_IMAGES + RGB_IMAGES:
        a = load_image(name)
        h, w = a.shape[-2:]
        s = min(h, w)
        a = a[:, (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
        imgs.append(F.interpolate(a[None].float(), size=(n, n), mode="bilinear", antialias=True,
                                  align_corners=False)[0])
    x = torch.stack(imgs).clamp(0, 1).to(torch.get_default_dtype())
    if rotate_seed is not None:
        from ...transforms import Rotate
        T = Rotate(interpolation="bilinear")
        x = T.apply(x, T.sample(x.shape[0], torch.Generator().manual_seed(rotate_seed))).clamp(0, 1)
    return x * disk_mask(n) if disk else x


def mean_std(v) -> tuple:
    v = np.asarray(v, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def pm(mean: Optional[float], std: Optional[float] = None, digits: int = 2) -> str:
    """``'m ± s'`` (or ``''`` for a missing value)."""
    if mean is None or (isinstance(mean, float) and not math.isfinite(mean)):
        return "" if mean is None else str(mean)
    return f"{mean:.{digits}f}" + ("" if std is None else f" ± {std:.{digits}f}")


# ------------------------------------------------------------------------------------------------ command line
#: wall time of ``--quick`` with the default 2 workers on 2 idle CPU cores, as measured (docs/reproduce_*.md)
QUICK_MINUTES = {"toy-1d": "2-3", "bias-free": "3-4", "mri-ei": "4", "lowdose-ct-rei": "5",
                 "design-plus-learning": "2-3", "ei-table1": "7-10", "multi-operator": "5-10",
                 "pnp-equivariance": "6"}
#: ``main(BUILD_PARSER)`` returns a reproduction's parser without running anything (for help and tests)
BUILD_PARSER = object()


def cli(name: str, description: str, config_cls, run: Callable, argv=None,
        prog: Optional[str] = None, extra: Optional[Callable[[argparse.ArgumentParser], None]] = None):
    """The command line every reproduction shares: ``[--quick | --full] [--out DIR] [--seed S] [--steps N]
    [--workers W] [--threads T] [--device D] [--no-progress]``. ``config_cls`` has ``quick(**kw)`` and
    ``full(**kw)`` class methods; ``run(cfg, out, progress)`` does the work. Bad values raise
    `equinet.utils.cli.UsageError` (one line) before any work; the output folder is locked for the run; at the
    end the table is printed (fitted to the terminal) with the files written."""
    ap = Parser(prog=prog or f"python -m equinet reproduce {name}", description=description)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="mode", action="store_const", const="quick",
                      help=f"the small protocol (default): about {QUICK_MINUTES.get(name, '?')} min on 2 idle CPU "
                           "cores")
    if hasattr(config_cls, "converged"):
        mode.add_argument("--converged", dest="mode", action="store_const", const="converged",
                          help="every method until held-out PSNR plateaus, then a cool-down (5 min to 2 h per method "
                               "and core; --methods picks some, --results collects them across runs)")
    mode.add_argument("--full", dest="mode", action="store_const", const="full",
                      help="the paper-sized protocol (hours on a CPU; for a GPU: --device auto)")
    ap.set_defaults(mode="quick")
    if hasattr(config_cls, "converged"):
        ap.add_argument("--results", default=None, metavar="FILE",
                        help="with --converged: merge the trained methods into this JSON results file and draw its "
                             "learning curves next to it (default OUT/results.json)")
    ap.add_argument("--out", default=f"outputs/reproduce/{name}", help="output folder")
    ap.add_argument("--seed", type=int, default=None, help="run seed, >= 0 (default 0)")
    fields = {f.name for f in dataclasses.fields(config_cls)}  # a flag is offered only where it applies
    if "steps" in fields:
        ap.add_argument("--steps", type=int, default=None, help="training steps of every model")
    if "batch_size" in fields:
        ap.add_argument("--batch-size", type=int, default=None, help="training images per step")
    if "lr" in fields:
        ap.add_argument("--lr", type=float, default=None, help="Adam's learning rate")
    if "ema" in fields:
        ap.add_argument("--ema", type=float, default=None, metavar="DECAY",
                        help="evaluate an exponential moving average of the weights with this decay, e.g. 0.999 "
                             "(default: the last weights)")
    if "workers" in fields:
        ap.add_argument("--workers", type=int, default=None, help="training processes (quick default: 2)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per process")
    if "device" in fields:
        ap.add_argument("--device", default=None, help="cpu, cuda, cuda:N or auto (CUDA if available)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    if extra is not None:
        extra(ap)
    if argv is BUILD_PARSER:
        return ap
    a = ap.parse_args(argv)
    names = {f.name for f in dataclasses.fields(config_cls)}
    overrides = {k: v for k, v in vars(a).items() if k in names and k != "mode" and v is not None}
    with user_input():
        if a.seed is not None:
            check_seed(a.seed, "--seed")
        cfg = getattr(config_cls, a.mode)(**overrides)
        check_config(cfg)
        if getattr(cfg, "device", None) is not None:
            _check_device(cfg.device)
        prepare_output(a.out)
        kw = {}
        if cfg.mode == "converged":
            kw["results"] = a.results or os.path.join(a.out, "results.json")
            check_writable_file(kw["results"], "--results")
    with user_input():
        lock = OutputLock(a.out, f"{ap.prog} {' '.join(map(str, argv or []))}").acquire()
    before = _files(a.out)
    try:
        print(f"reproduce {name} ({cfg.mode} mode) -> {a.out}")
        try:
            result = run(cfg, a.out, progress=not a.no_progress, **kw)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"stopped {name}; per-run checkpoints are kept under {a.out}/runs and an "
                                    "unchanged rerun resumes from them") from None
    finally:
        lock.release()
    report(a.out, before)
    return result


def check_config(cfg) -> None:
    """Checks every reproduction's settings share, by field name, before any work: numbers finite (and >= 0),
    integer sizes >= 0 (positive where a count of steps, images or layers), the U-Net's scales bounded, and the
    images, measurements and CT matrices within memory (`equinet.utils.checks.check_memory`)."""
    from ...nets.proximal import MAX_UNET_SCALES
    from ...utils.checks import check_at_most, check_memory, check_number
    name = type(cfg).__name__
    d = dataclasses.asdict(cfg)
    for k, v in d.items():
        if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)):
            check_number(v, f"{name}.{k}", 0)
        if isinstance(v, (tuple, list)) and all(isinstance(u, (int, float)) and not isinstance(u, bool) for u in v):
            for u in v:
                check_number(u, f"{name}.{k}", 0)
    for k in ("steps", "steps_ct", "batch_size", "depth", "n_iter", "length", "patch", "test_size",
              "image_size", "views", "ct_views", "channels", "hidden", "kernel_size"):
        if d.get(k) is not None:
            check_positive_int(d[k], f"{name}.{k}")
    if d.get("lr") is not None:
        check_number(d["lr"], f"{name}.lr", 0, strict_minimum=True)
    if d.get("threads") is not None:
        check_at_most(d["threads"], f"{name}.threads", 1024)
    if d.get("ema") is not None and not 0 < d["ema"] < 1:
        raise ValueError(f"{name}.ema must be a decay in (0, 1), e.g. 0.999, got {d['ema']!r}")
    if d.get("scales") is not None:
        check_at_most(d["scales"], f"{name}.scales", MAX_UNET_SCALES)
    side = d.get("image_size") or d.get("patch") or d.get("length") or 1
    pixels = side * side if d.get("length") is None else side
    images = sum(int(d.get(k) or 0) for k in ("n_train", "n_test", "n_few")) + max(d.get("train_sizes") or [0])
    check_memory(8.0 * pixels, f"one image of {name}.image_size = {side}")
    check_memory(32.0 * max(1, images) * pixels, f"{images} images of {side} pixels a side ({name})")
    for k in ("views", "ct_views"):
        if d.get(k):
            check_memory(48.0 * d[k] * pixels, f"CT with {name}.{k} = {d[k]} views of {side}x{side} images")


def _check_device(device) -> None:
    from ...training import resolve_device
    try:
        resolve_device(device)
    except RuntimeError:  # torch's own message lists every device type it knows
        raise ValueError(f"--device {device!r} is not a device (expected auto, cpu, cuda or cuda:N)") from None
    except ValueError as err:
        raise ValueError(f"--device {device!r}: {err}") from None


def _files(out: str) -> dict:
    """Modification times of the result files of ``out`` (per-run folders left out)."""
    found = {}
    for f in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        p = os.path.join(out, f)
        if os.path.isfile(p) and not f.startswith("."):
            found[p] = os.path.getmtime(p)
    return found


def report(out: str, before: Optional[dict] = None, width: Optional[int] = None) -> None:
    """Print the result table of ``out/table.md`` fitted to the terminal, then one ``wrote PATH`` line per file
    written (or rewritten) since ``before`` (`_files`)."""
    from ...utils.table import fit_table, markdown_rows
    md = os.path.join(out, "table.md")
    if os.path.isfile(md):
        with open(md, encoding="utf-8") as f:
            rows = markdown_rows(f.read())
        if rows:
            print()
            print(fit_table(rows, width))
            print()
    before = before or {}
    for p, t in _files(out).items():
        if before.get(p) != t:
            print(f"wrote {p}")


@dataclass(frozen=True)
class UNetRunConfig:
    """Settings shared by the reproductions that train the paper's residual U-Net on A†y (EI Table 1, MRI with EI,
    low-dose CT with REI): the full protocol by default (128x128, 90 training / 10 test images, 20000 steps)."""

    mode: str = "full"
    seed: int = 0
    image_size: int = 128
    n_train: int = 90
    n_test: int = 10
    steps: int = 20000
    batch_size: int = 4
    lr: float = 5e-4
    width: int = 32
    scales: int = 3
    #: the U-Net: a key of `UNET_ARCHS` and batch normalisation (the EI paper's network: 'standard' with it)
    unet: str = "standard"
    batch_norm: bool = True
    adv_weight: float = 0.1
    #: decay of an exponential moving average of the weights, evaluated instead of the last weights (None: off)
    ema: Optional[float] = None
    workers: int = 1
    threads: Optional[int] = None
    device: str = "auto"
    #: the converged budget (mode 'converged'; `equinet.experiments.reproduce.converged`): validation images, the
    #: validation interval, and the plateau rule (``steps`` is then the cap)
    n_val: int = 16
    val_every: int = 250
    min_steps: int = 4000
    tol_db: float = 0.1
    window: float = 0.5
    cooldown: float = 0.2
    #: real images (``--data PATH``: LoDoPaB-CT, fastMRI or an image folder) instead of the synthetic ones
    data: Optional[str] = None

    @property
    def converge(self):
        """The convergence settings in converged mode, else None."""
        return self if self.mode == "converged" else None

    @classmethod
    def converged(cls, **kw):
        """Each method until the plateau rule holds on a held-out split (64x64, the quick protocol's operators, the
        standard U-Net with batch norm), then a cool-down: 5 minutes to 2 hours per method on one CPU core."""
        from .converged import CONVERGED
        return cls(**{**CONVERGED, **kw})

    @classmethod
    def quick(cls, **kw):
        """About 10-15 minutes on 2 CPU cores: 64x64 images, a width-16 two-scale U-Net ('v1', no batch norm: the
        network its published tables were measured with), 800 steps of 4 images."""
        base = dict(mode="quick", image_size=64, steps=800, batch_size=4, lr=1e-3, width=16, scales=2, workers=2,
                    threads=1, device="cpu", unet="v1", batch_norm=False)
        return cls(**{**base, **kw})

    @classmethod
    def full(cls, **kw):
        """The paper-sized protocol (for a GPU)."""
        return cls(**{"mode": "full", **kw})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def network(self, channels: int = 1) -> PinvReconstructor:
        """The residual U-Net on A†y of these settings (`residual_unet`)."""
        return residual_unet(self.width, self.scales, channels=channels, arch=self.unet, batch_norm=self.batch_norm)


def check_methods(cfg, known: Sequence[str], scales: bool = True) -> None:
    """``cfg.methods`` is a subset of ``known``; with ``scales``, ``cfg.image_size`` halves ``cfg.scales`` times."""
    for m in cfg.methods:
        if m not in known:
            raise ValueError(f"unknown method {m!r}; expected a subset of {tuple(known)}")
    if scales and cfg.image_size % 2 ** cfg.scales:
        raise ValueError(f"image_size={cfg.image_size} must be divisible by 2**scales={2 ** cfg.scales}")
    if getattr(cfg, "unet", "standard") not in UNET_ARCHS:
        raise ValueError(f"unet must be one of {tuple(UNET_ARCHS)}, got {cfg.unet!r}")
    if not isinstance(getattr(cfg, "batch_norm", False), bool):
        raise ValueError(f"batch_norm must be a bool, got {cfg.batch_norm!r}")


def check_fields(cfg, positive_ints: Sequence[str] = (), positive_floats: Sequence[str] = (),
                 nonnegative_floats: Sequence[str] = ()) -> None:
    """Refuse non-positive / non-numeric configuration values with a message naming the field
    (`equinet.utils.checks`)."""
    where = type(cfg).__name__
    for f in positive_ints:
        check_positive_int(getattr(cfg, f), f"{where}.{f}")
    for f in positive_floats:
        check_positive_float(getattr(cfg, f), f"{where}.{f}")
    for f in nonnegative_floats:
        check_nonnegative_float(getattr(cfg, f), f"{where}.{f}")
    if getattr(cfg, "data", None) is not None:
        data_kind(cfg.data)  # --data: a LoDoPaB-CT, fastMRI or image folder, else a DataFormatError (a ValueError)


def images_for(cfg, k: int, key: int, split: str) -> torch.Tensor:
    """``k`` training or test images ``[k, 1, n, n]``: ellipse phantoms seeded by ``(cfg.seed, key)``, or with
    ``cfg.data`` (``--data PATH``) ``k`` real images of ``split`` ('train' / 'test') resized to ``cfg.image_size``
    (`equinet.data.real_images`: LoDoPaB-CT ground truth, fastMRI magnitudes or a folder of images)."""
    seed = derived_seed(cfg.seed, key) % 2 ** 31
    if getattr(cfg, "data", None) is None:
        return EllipsePhantoms(k, cfg.image_size, seed=seed).render(range(k))
    return real_images(cfg.data, k, cfg.image_size, split, seed=seed)


def data_flag(ap: argparse.ArgumentParser) -> None:
    """``--data PATH``: real images in place of the synthetic training and test images (docs/data.md)."""
    ap.add_argument("--data", metavar="PATH", default=None,
                    help="real images instead of phantoms: a LoDoPaB-CT folder, fastMRI .h5 volumes or a folder of "
                         "PNG/TIFF images (train and test splits; docs/data.md)")


def method_list(text: str) -> tuple:
    """A ``--methods``/``--problems`` value: names separated by commas or spaces, e.g. ``'pinv,ei,sup'``."""
    return tuple(text.replace(",", " ").split())


def data_and_methods_flags(known: Sequence[str]) -> Callable[[argparse.ArgumentParser], None]:
    """`data_flag` and ``--methods`` (a subset of ``known``; a converged table fills in one or two at a time)."""
    def add(ap: argparse.ArgumentParser) -> None:
        data_flag(ap)
        ap.add_argument("--methods", type=method_list, default=None,
                        help=f"subset of {tuple(known)}, e.g. '{','.join(known[:2])}'")
    return add


def run_dir(out: str, *parts: str) -> str:
    """``out/runs/part1_part2...``: the folder of one training run (log.csv, checkpoint.pt)."""
    return os.path.join(out, "runs", "_".join(str(p) for p in parts))


def stats_row(p: np.ndarray) -> Dict[str, float]:
    m, s = mean_std(p)
    return {"mean": m, "std": s}
