"""Fig. 3 of the EI paper: 1-D inpainting of scaled triangles with one fixed mask.

Two signal sets: ``fixed`` (``a * triangle``, centred: no invariance) and ``shifted`` (``a * roll(triangle, s)``:
invariant to all circular shifts). On each, a residual MLP ``f(y) = A†y + g(A†y)`` (fully connected, so it has no
built-in shift equivariance) is trained from the measurements only with MC, and with MC + EI (all circular shifts),
and, as the reference, with ground truth (Sup). Reported: the error on the dropped entries (the null space of A)
and the PSNR of the whole signal on held-out signals of the same set. ``python -m equinet reproduce toy-1d``;
docs/reproduce_toy_1d.md.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np
import torch
from torch import nn

from ...data import shifted_triangles
from ...physics import Inpainting
from ...reconstructors import PinvReconstructor
from ...transforms import Shift
from ...utils.io import save_figure
from ...utils.progress import Progress
from ...utils.seeding import derived_seed
from ..runner import Task, prepare_output, run_jobs, seeded, thread_limit, write_table
from .common import check_fields, cli, make_loss, reconstruct, run_dir, train_model

__all__ = ["Toy1DConfig", "run_toy_1d", "main", "SETS", "TOY_METHODS"]

SETS = ("fixed", "shifted")
TOY_METHODS = ("mc", "ei", "sup")
_LABELS = {"pinv": "A†y", "mc": "MC", "ei": "MC + EI (shifts)", "sup": "Sup"}


@dataclass(frozen=True)
class Toy1DConfig:
    """Settings (see `quick`, `full`)."""

    mode: str = "full"
    seed: int = 0
    length: int = 32
    width: float = 12.0
    drop: float = 0.4
    n_train: int = 256
    n_test: int = 256
    hidden: int = 256
    steps: int = 20000
    batch_size: int = 32
    lr: float = 1e-3
    alpha: float = 1.0
    workers: int = 1
    threads: Optional[int] = None
    device: str = "cpu"

    def __post_init__(self):
        check_fields(self, ("length", "n_train", "n_test", "hidden", "steps", "batch_size", "workers"),
                     ("width", "lr", "alpha"))
        if not 0 < self.drop < 1:
            raise ValueError(f"drop must be a fraction in (0, 1), got {self.drop!r}")
        if self.width > self.length:
            raise ValueError(f"width={self.width} must not exceed length={self.length}")

    @classmethod
    def quick(cls, **kw) -> "Toy1DConfig":
        """A few minutes on 2 CPU cores: 3000 steps of 32 signals."""
        return cls(**{**dict(mode="quick", steps=3000, workers=2, threads=1), **kw})

    @classmethod
    def full(cls, **kw) -> "Toy1DConfig":
        return cls(**{"mode": "full", **kw})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class ResidualMLP(nn.Module):
    """``[B, 1, 1, L] -> [B, 1, 1, L]``: two hidden ReLU layers of ``hidden`` units (no spatial structure)."""

    def __init__(self, length: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(length, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                  nn.ReLU(), nn.Linear(hidden, length))
        self.length = length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).reshape(x.shape[0], 1, 1, self.length)


def _signals(cfg: Toy1DConfig, which: str, key: int) -> torch.Tensor:
    n = cfg.n_train if key == 1 else cfg.n_test
    s = shifted_triangles(n, cfg.length, cfg.width, seed=derived_seed(cfg.seed, key, SETS.index(which)) % 2 ** 31,
                          shift=which == "shifted")
    return s[:, :, None, :].to(torch.get_default_dtype())  # [n, 1, 1, L]: a one-row image


class _Data:
    def __init__(self, cfg: Toy1DConfig):
        self.physics = Inpainting((1, cfg.length), drop=cfg.drop, seed=derived_seed(cfg.seed, 3) % 2 ** 31)
        self.sets = {}
        for w in SETS:
            x, xt = _signals(cfg, w, 1), _signals(cfg, w, 2)
            self.sets[w] = dict(x=x, y=self.physics(x), x_test=xt, y_test=self.physics(xt))


def metrics(u: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> Dict[str, float]:
    """Relative error on the dropped entries ``||(1-m)(u-x)|| / ||(1-m)x||`` and the whole signal's PSNR
    (peak 1), averaged over signals."""
    miss = (1 - mask)
    num = ((u - x) * miss).flatten(1).norm(dim=1)
    den = (x * miss).flatten(1).norm(dim=1).clamp_min(1e-12)
    mse = (u - x).pow(2).flatten(1).mean(dim=1)
    return {"nullspace_rel_error": float((num / den).mean()), "psnr": float((-10 * torch.log10(mse)).mean())}


class ToyTask(Task):
    def __init__(self, cfg: Toy1DConfig, out: str):
        self.cfg, self.out = cfg, out

    def prepare(self):
        return _Data(self.cfg)

    def describe(self, job):
        return f"{job[0]} {job[1]}"

    def run(self, job, data: _Data, progress) -> dict:
        cfg, (which, method) = self.cfg, job
        d = data.sets[which]
        with seeded(derived_seed(cfg.seed, 4)):  # the same initial network for every run
            model = PinvReconstructor(ResidualMLP(cfg.length, cfg.hidden))
        loss = make_loss(method, Shift(image_size=(1, cfg.length)), cfg.alpha)
        hist = train_model(model, loss, data.physics, d["x"], d["y"], steps=cfg.steps, batch_size=cfg.batch_size,
                           lr=cfg.lr, seed=derived_seed(cfg.seed, 5) % 2 ** 31, device=cfg.device,
                           progress=progress, out=run_dir(self.out, which, method))
        u = reconstruct(model.cpu(), data.physics, d["y_test"])
        return dict(set=which, method=method, seconds=hist.seconds, example=u[:3, 0, 0].numpy().copy(),
                    **metrics(u, d["x_test"], data.physics.mask))


FIELDS = ("set", "method", "label", "nullspace_rel_error", "psnr", "train_seconds")


def run_toy_1d(cfg: Toy1DConfig, out: str = "outputs/reproduce/toy-1d", progress: bool = True) -> List[dict]:
    """Run the 1-D toy; writes ``table.*`` and ``toy_1d.png`` to ``out``. Returns the rows."""
    if not isinstance(cfg, Toy1DConfig):
        raise TypeError(f"cfg must be a Toy1DConfig, got {type(cfg).__name__}")
    out = prepare_output(out)
    t0 = time.perf_counter()
    task = ToyTask(cfg, out)
    jobs = [(w, m) for w in SETS for m in TOY_METHODS]
    with thread_limit(cfg.threads):
        data = task.prepare()
        bar = Progress(total=len(jobs) * cfg.steps, desc="toy-1d", unit="step", quiet=not progress)
        res = run_jobs(task, jobs, workers=cfg.workers, threads=cfg.threads, progress=bar, state=data)
        bar.close()
    rows = []
    for w in SETS:
        d = data.sets[w]
        rows.append(dict(set=w, method="pinv", label=_LABELS["pinv"], train_seconds=0.0,
                         **metrics(data.physics.pinv(d["y_test"]), d["x_test"], data.physics.mask)))
        rows += [dict(set=r["set"], method=r["method"], label=_LABELS[r["method"]], train_seconds=r["seconds"],
                      nullspace_rel_error=r["nullspace_rel_error"], psnr=r["psnr"]) for r in res if r["set"] == w]
    wall = time.perf_counter() - t0
    _figure(cfg, out, data, res)
    md = [f"# EI paper, Fig. 3: 1-D inpainting of scaled triangles ({cfg.mode} mode)", "",
          f"length {cfg.length}, triangle base {cfg.width:g}, {cfg.drop:.0%} of the entries dropped by one mask, "
          f"{cfg.n_train} training / {cfg.n_test} test signals, residual MLP ({cfg.hidden} hidden units), "
          f"{cfg.steps} Adam steps of {cfg.batch_size}, α = {cfg.alpha:g}, seed {cfg.seed}; wall time "
          f"{wall / 60:.1f} min.", "",
          "| signal set | method | relative error on dropped entries | PSNR (dB) |", "| --- | --- | ---: | ---: |"]
    md += [f"| {r['set']} | {r['label']} | {r['nullspace_rel_error']:.3f} | {r['psnr']:.2f} |" for r in rows]
    write_table(out, rows, FIELDS, cfg.to_dict(), markdown="\n".join(md) + "\n", wall_seconds=wall,
                mask=data.physics.mask.flatten().tolist())
    return rows


def _figure(cfg: Toy1DConfig, out: str, data: _Data, res: List[dict]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    mask = data.physics.mask.flatten().numpy()
    idx = np.arange(cfg.length)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
    styles = {"mc": ("tab:green", "--"), "ei": ("tab:red", "-"), "sup": ("tab:gray", ":")}
    for ax, w in zip(axes, SETS):
        x = data.sets[w]["x_test"][0, 0, 0].numpy()
        ax.plot(idx, x, "k-", lw=2, label="ground truth")
        ax.plot(idx[mask > 0], x[mask > 0], "bo", ms=4, label="measured entries")
        for r in res:
            if r["set"] == w:
                c, ls = styles[r["method"]]
                ax.plot(idx, r["example"][0], color=c, ls=ls, label=_LABELS[r["method"]])
        for j in idx[mask == 0]:
            ax.axvspan(j - 0.5, j + 0.5, color="0.92", lw=0)
        ax.set_title(f"{w} triangles ({'shift invariant' if w == 'shifted' else 'no invariance'})", fontsize=9)
        ax.set_xlabel("index (grey: dropped entries)")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, f"{out}/toy_1d.png", dpi=110)
    plt.close(fig)


def main(argv=None, prog=None):
    """``python -m equinet reproduce toy-1d [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("toy-1d", "EI paper Fig. 3: 1-D inpainting with and without shift invariance.", Toy1DConfig,
               run_toy_1d, argv, prog)
