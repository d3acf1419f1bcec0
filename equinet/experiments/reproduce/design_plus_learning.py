"""The open question of Sec. VI of the imaging paper, measured: equivariance by design and by learning together.

On sparse-view CT and on inpainting of ellipse phantoms (a rotation-invariant set), the unrolled PGD of the
comparison (untied proximal DnCNNs that start as the identity, u_0 = A†y) is trained with {plain CNN prox (width
matched to the parameters), C8-equivariant prox} x {supervised, EI (MC + α EI with rotations by multiples of
1 degree)} at two training-set sizes, and tested on held-out phantoms and on scikit-image's photographs upright and
rotated. Does equivariance by design help EI learn from fewer measurements? The table says which way it goes.
``python -m equinet reproduce design-plus-learning``; docs/reproduce_design_plus_learning.md. ``--converged``: each
run until its held-out PSNR plateaus, merged into a results file (entries ``<problem>_n<size>/<method>_<prox>``).
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch

from ...data import EllipsePhantoms
from ...nets import NetSpec, count_parameters
from ...physics import Inpainting, Radon
from ...reconstructors import UnrolledPGD
from ...training import resolve_device
from ...transforms import Rotate
from ...utils.progress import Progress
from ...utils.seeding import derived_seed
from ..comparison.models import ZeroedProx
from ..runner import Task, prepare_output, run_jobs, seeded, thread_limit, write_table
from .common import check_fields, cli, make_loss, mean_std, method_list, pm, real_photographs, run_dir, train_model
from .converged import check_results, method_entry, write_results
from .engine import Problem, evaluate
from .labels import LABELS as ALL_LABELS

__all__ = ["DesignLearningConfig", "build_problems", "build_model", "run_design_plus_learning", "main"]

PROBLEMS = ("ct", "inpainting")
PROXES = ("cnn", "c8")
METHODS = ("sup", "ei")
#: controls, run only when named: ``sup_da`` = supervised training plus data augmentation with EI's rotations (tells
#: what EI gains from seeing every training image rotated from what its loss adds); ``mc`` = measurement consistency
#: alone (EI without its equivariance term: what that term adds, per prox)
CONTROLS = ("sup_da", "mc")
#: the converged results' methods (``<method>_<prox>``), their labels and gaps
LABELS = {f"{m}_{x}": ALL_LABELS[f"{m}_{x}"] for m in METHODS + CONTROLS for x in PROXES}
GAPS = (("C8 − CNN (EI)", "ei_c8", "ei_cnn"), ("C8 − CNN (Sup)", "sup_c8", "sup_cnn"),
        ("Sup − EI (CNN)", "sup_cnn", "ei_cnn"), ("Sup − EI (C8)", "sup_c8", "ei_c8"),
        ("Sup+DA − EI (CNN)", "sup_da_cnn", "ei_cnn"), ("Sup+DA − EI (C8)", "sup_da_c8", "ei_c8"),
        ("EI − MC (CNN)", "ei_cnn", "mc_cnn"), ("EI − MC (C8)", "ei_c8", "mc_c8"))


@dataclass(frozen=True)
class DesignLearningConfig:
    """Settings (see `quick`, `full`)."""

    mode: str = "full"
    seed: int = 0
    problems: Tuple[str, ...] = PROBLEMS
    methods: Tuple[str, ...] = METHODS
    proxes: Tuple[str, ...] = PROXES
    train_sizes: Tuple[int, ...] = (10, 90)
    n_test: int = 10
    image_size: int = 64
    ct_views: int = 50
    drop: float = 0.3
    n_iter: int = 5
    width: int = 8
    depth: int = 5
    kernel_size: int = 5
    steps: int = 5000
    batch_size: int = 4
    lr: float = 1e-3
    alpha_ct: float = 100.0
    alpha_inpainting: float = 1.0
    workers: int = 1
    threads: Optional[int] = None
    device: str = "auto"
    #: the converged budget (mode 'converged'): validation images, interval and the plateau rule (steps: the cap)
    n_val: int = 16
    val_every: int = 250
    min_steps: int = 4000
    tol_db: float = 0.1
    window: float = 0.5
    cooldown: float = 0.2

    def __post_init__(self):
        check_fields(self, ("n_test", "image_size", "ct_views", "n_iter", "width", "depth", "kernel_size", "steps",
                            "batch_size", "workers"), ("lr", "alpha_ct", "alpha_inpainting"))
        for name, chosen, known in (("problem", self.problems, PROBLEMS), ("method", self.methods, METHODS + CONTROLS),
                                    ("prox", self.proxes, PROXES)):
            for v in chosen:
                if v not in known:
                    raise ValueError(f"unknown {name} {v!r}; expected a subset of {known}")
        if not self.train_sizes or min(self.train_sizes) < 1:
            raise ValueError(f"train_sizes must be positive ints, got {self.train_sizes!r}")
        if not 0 < self.drop < 1:
            raise ValueError(f"drop must be a fraction in (0, 1), got {self.drop!r}")

    @classmethod
    def quick(cls, **kw) -> "DesignLearningConfig":
        """About 15 minutes on 2 CPU cores: 32x32, 3 iterations of 3-layer proximal nets (C8: 2 regular fields),
        1000 steps, training sizes 10 and 40."""
        return cls(**{**dict(mode="quick", image_size=32, train_sizes=(10, 40), n_iter=3, width=2, depth=3,
                             kernel_size=3, steps=1000, workers=2, threads=1, device="cpu"), **kw})

    @classmethod
    def full(cls, **kw) -> "DesignLearningConfig":
        return cls(**{"mode": "full", **kw})

    @classmethod
    def converged(cls, **kw) -> "DesignLearningConfig":
        """The quick protocol's networks and images (32x32, training sizes 10 and 40), each run until the plateau
        rule holds on held-out phantoms (cap 80000 steps), then a cool-down: 1 to 25 minutes per run on one core."""
        return cls(**{**dict(mode="converged", image_size=32, train_sizes=(10, 40), n_iter=3, width=2, depth=3,
                             kernel_size=3, steps=80000, workers=1, threads=1, device="cpu"), **kw})

    @property
    def converge(self):
        """The convergence settings in converged mode, else None."""
        return self if self.mode == "converged" else None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def prox_spec(cfg: DesignLearningConfig, prox: str) -> NetSpec:
    """The C8 reference spec, or its plain-CNN twin with the same number of parameters."""
    ref = NetSpec("C8", width=cfg.width, depth=cfg.depth, kernel_size=cfg.kernel_size)
    return ref if prox == "c8" else ref.translation_twin(match="params", net="dncnn")


def build_problems(cfg: DesignLearningConfig):
    """``{problem: Problem}`` on ellipse phantoms, with ``max(train_sizes)`` training images (smaller sizes use the
    first ones), held-out phantoms and the photographs upright and rotated."""
    n, s = cfg.image_size, cfg.seed
    ph = lambda k, key: EllipsePhantoms(k, n, seed=derived_seed(s, key) % 2 ** 31).render(range(k))  # noqa: E731
    x_train, x_test = ph(max(cfg.train_sizes), 41), ph(cfg.n_test, 42)
    x_val = ph(cfg.n_val, 47) if cfg.converge is not None else None
    photos, rotated = real_photographs(n), real_photographs(n, rotate_seed=derived_seed(s, 43) % 2 ** 31)
    out = {}
    for p in cfg.problems:
        physics = Radon(n, angles=cfg.ct_views) if p == "ct" else \
            Inpainting(n, drop=cfg.drop, seed=derived_seed(s, 44) % 2 ** 31)
        alpha = cfg.alpha_ct if p == "ct" else cfg.alpha_inpainting
        with torch.no_grad():
            out[p] = Problem(physics, Rotate(multiples=1.0), alpha, x_train, physics(x_train),
                             {t: (x, physics(x)) for t, x in
                              (("test", x_test), ("photos", photos), ("photos_rotated", rotated))},
                             validation=None if x_val is None else (x_val, physics(x_val)))
    return out


def build_model(cfg: DesignLearningConfig, problem, prox: str) -> UnrolledPGD:
    """The run's unrolled PGD with ``prox`` ('cnn' or 'c8') proximal nets, at its seeded initial weights (a finished
    run's ``checkpoint.pt`` holds the trained ones under ``'model'``)."""
    if prox not in PROXES:
        raise ValueError(f"unknown prox {prox!r}; expected one of {PROXES}")
    with seeded(derived_seed(cfg.seed, 45, PROXES.index(prox))):
        return UnrolledPGD(problem.physics, ZeroedProx("dncnn", prox_spec(cfg, prox)), n_iter=cfg.n_iter, mode="pgd",
                           tied=False, init="pinv")


Job = Tuple[str, str, str, int]


class DesignTask(Task):
    def __init__(self, cfg: DesignLearningConfig, out: str):
        self.cfg, self.out = cfg, out

    def prepare(self):
        return build_problems(self.cfg)

    def describe(self, job: Job) -> str:
        return f"{job[0]} {job[1]} {job[2]} n={job[3]}"

    def run(self, job: Job, problems, progress) -> dict:
        cfg, (name, prox, method, size) = self.cfg, job
        p = problems[name]
        dev = resolve_device(cfg.device)
        model = build_model(cfg, p, prox)
        loss = make_loss(method, p.transform, p.alpha)
        hist = train_model(model, loss, p.physics.to(dev), p.x_train[:size], p.y_train[:size], steps=cfg.steps,
                           batch_size=cfg.batch_size, lr=cfg.lr, seed=derived_seed(cfg.seed, 46) % 2 ** 31,
                           device=dev, progress=progress, out=run_dir(self.out, name, prox, method, f"n{size}"),
                           converge=cfg.converge, validation=p.validation)
        p.physics.cpu()
        res = evaluate(model.cpu(), p, method, hist.seconds)
        res.update(job=job, params=count_parameters(model))
        if cfg.converge is not None:
            res["entry"] = method_entry(f"{name}_n{size}", f"{method}_{prox}", res["psnr"], hist,
                                        params=res["params"])
        return res


FIELDS = ("problem", "prox", "method", "train_size", "params", "test_set", "psnr_mean", "psnr_std", "train_seconds")


def run_design_plus_learning(cfg: DesignLearningConfig, out: str = "outputs/reproduce/design-plus-learning",
                             progress: bool = True, results: Optional[str] = None) -> List[dict]:
    """Run every (problem, prox, method, size); writes ``table.*``. Returns the rows. Converged mode: the runs are
    also merged into the results file ``results`` (default ``out/results.json``) with their learning curves."""
    if not isinstance(cfg, DesignLearningConfig):
        raise TypeError(f"cfg must be a DesignLearningConfig, got {type(cfg).__name__}")
    if cfg.converge is not None:
        results = results or os.path.join(out, "results.json")
        check_results(results, "design-plus-learning", cfg)
    out = prepare_output(out)
    t0 = time.perf_counter()
    task = DesignTask(cfg, out)
    jobs = [(p, x, m, n) for p in cfg.problems for n in cfg.train_sizes for m in cfg.methods for x in cfg.proxes]
    with thread_limit(cfg.threads):
        problems = task.prepare()
        bar = Progress(total=len(jobs) * cfg.steps, desc="design-plus-learning", unit="step", quiet=not progress)
        res = run_jobs(task, jobs, workers=cfg.workers, threads=cfg.threads, progress=bar, state=problems)
        bar.close()
    rows = []
    for r in res:
        name, prox, method, size = r["job"]
        for t in problems[name].tests:
            mu, sd = mean_std(r["psnr"][t])
            rows.append(dict(problem=name, prox=prox, method=method, train_size=size, params=r["params"], test_set=t,
                             psnr_mean=mu, psnr_std=sd, train_seconds=r["seconds"]))
    wall = time.perf_counter() - t0
    sets = ("test", "photos", "photos_rotated")
    md = [f"# Equivariance by design + by learning ({cfg.mode} mode)", "",
          f"{cfg.image_size}x{cfg.image_size} ellipse phantoms; unrolled PGD, {cfg.n_iter} untied proximal DnCNNs "
          f"({cfg.depth} convolutions, C8 width {cfg.width}, CNN matched in parameters), u_0 = A†y; {cfg.steps} Adam "
          f"steps of {cfg.batch_size}; EI = MC + α EI with rotations (α {cfg.alpha_ct:g} CT, {cfg.alpha_inpainting:g} "
          f"inpainting); seed {cfg.seed}; wall time {wall / 60:.1f} min. PSNR (dB), mean ± std over images.", "",
          "| problem | train size | method | prox | params | " + " | ".join(f"PSNR {s}" for s in sets) + " |",
          "| --- | ---: | --- | --- | ---: |" + " ---: |" * len(sets)]
    for r in res:
        name, prox, method, size = r["job"]
        md.append(f"| {name} | {size} | {method} | {prox} | {r['params']} | "
                  + " | ".join(pm(*mean_std(r["psnr"][s])) for s in sets) + " |")
    gains = []
    for p in cfg.problems:
        for n in cfg.train_sizes:
            for m in cfg.methods:
                v = {r["job"][1]: np.asarray(r["psnr"]["test"]) for r in res if r["job"][0] == p and
                     r["job"][2] == m and r["job"][3] == n}
                if len(v) < 2:
                    continue
                d = v["c8"] - v["cnn"]
                gains.append(dict(problem=p, train_size=n, method=m, c8_minus_cnn=float(d.mean()),
                                  se=float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0))
    md += ["", "| problem | train size | method | PSNR C8 − CNN (held-out, mean ± s.e. over images) |",
           "| --- | ---: | --- | ---: |"]
    md += [f"| {g['problem']} | {g['train_size']} | {g['method']} | {g['c8_minus_cnn']:+.2f} ± {g['se']:.2f} |"
           for g in gains]
    write_table(out, rows, FIELDS, cfg.to_dict(), markdown="\n".join(md) + "\n", wall_seconds=wall, gains=gains,
                per_image_psnr={"/".join(map(str, r["job"])): r["psnr"] for r in res})
    if cfg.converge is not None:
        assert results is not None  # set above in converged mode
        write_results(results, "design-plus-learning", cfg, {f"{e['problem']}/{e['method']}": e
                                                             for e in (r["entry"] for r in res)}, {}, LABELS,
                      title="Design + learning (converged)", gaps=GAPS)
    return rows


def main(argv=None, prog=None):
    """``python -m equinet reproduce design-plus-learning [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("design-plus-learning", "Sec. VI: {CNN, C8} proximal nets x {supervised, EI} at two training sizes.",
               DesignLearningConfig, run_design_plus_learning, argv, prog, extra=_flags)


def _sizes(text: str) -> Tuple[int, ...]:
    import argparse
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated training-set sizes, e.g. '10,40', "
                                         f"got {text!r}") from None


def _flags(ap) -> None:
    ap.add_argument("--problems", type=method_list, default=None, help=f"subset of {PROBLEMS}, e.g. 'ct'")
    ap.add_argument("--methods", type=method_list, default=None,
                    help=f"subset of {METHODS}, e.g. 'ei'; also the controls 'sup_da' (supervised training with EI's "
                         "rotations as data augmentation) and 'mc' (EI without its equivariance term)")
    ap.add_argument("--proxes", type=method_list, default=None, help=f"subset of {PROXES}, e.g. 'c8'")
    ap.add_argument("--train-sizes", type=_sizes, default=None,
                    help="training-set sizes, e.g. '10,40' (quick and converged default 10,40; full 10,90)")
