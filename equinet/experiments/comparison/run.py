"""The comparison's orchestration: baselines, one training job per (operator, model, size, repeat) through the
shared runner (`equinet.experiments.runner`), then the table and figures."""
from __future__ import annotations

import os
import textwrap
import time
from typing import Dict, List, Tuple

import numpy as np
import torch

from ...training import fit_supervised, resolve_device
from ...utils.progress import Progress
from ...utils.seeding import derived_seed
from ..runner import Task, prepare_output, run_jobs, seeded, thread_limit, write_table
from .config import TEST_SETS, ComparisonConfig
from .data import ComparisonData
from .models import build_model
from .operators import to_metric_images
from .report import (
    CSV_FIELDS,
    METRICS_NOTE,
    markdown_header,
    markdown_table,
    matching_note,
    plot_psnr_vs_size,
    plot_reconstructions,
    terminal_table,
)
from .statistics import image_metrics, summarise

__all__ = ["run_comparison", "jobs", "resolve_workers", "TrainTask", "reconstruct"]

Job = Tuple[str, str, int, int]


def jobs(cfg: ComparisonConfig) -> List[Job]:
    """Every training run ``(operator, model, train_size, repeat)``, in the order of the table."""
    trained = [m for m in cfg.models if m != "pinv"]
    return [(op, key, size, r) for op in cfg.operators for r in range(cfg.repeats) for size in cfg.train_sizes
            for key in trained]


def resolve_workers(cfg: ComparisonConfig) -> int:
    """The number of training processes: ``cfg.workers`` (``None``: 1). The command line's quick mode defaults to
    one per CPU core, up to 2. Workers are spawned processes, so a script that runs the comparison with
    ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard."""
    return 1 if cfg.workers is None else cfg.workers


@torch.no_grad()
def reconstruct(model, physics, y: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """``model(y, physics)`` in evaluation mode, in batches of ``batch`` measurements."""
    was = model.training
    model.eval()
    try:
        return torch.cat([model(y[i:i + batch], physics) for i in range(0, y.shape[0], batch)])
    finally:
        model.train(was)


class TrainTask(Task):
    """Train one model and evaluate it on both test sets. A job's result depends on ``cfg`` and the job only (not
    on the process, nor on which other jobs ran), so serial and parallel runs give the same table."""

    def __init__(self, cfg: ComparisonConfig, out: str):
        self.cfg, self.out = cfg, out

    def prepare(self) -> ComparisonData:
        return ComparisonData(self.cfg, resolve_device(self.cfg.device))

    def describe(self, job: Job) -> str:
        op, key, size, r = job
        return f"{op} {key} n={size} rep={r}"

    def run(self, job: Job, data: ComparisonData, progress) -> dict:
        cfg, dev = self.cfg, data.dev
        op_name, key, size, r = job
        physics, ch, _, _, ys = data.operator(op_name)
        spec = data.specs(op_name)[key]
        with seeded(derived_seed(cfg.seed, 40, r)):  # the initialisation, without touching the caller's RNG
            model = build_model(cfg, spec, physics, ch).to(dev)
        res = dict(job=tuple(job), group=spec.G.name, params=sum(p.numel() for p in model.prox.parameters()),
                   channels=spec.width * spec.hidden_rep.size, metrics={}, figure={})
        ckpt = os.path.join(self.out, "checkpoints", f"{op_name}_{key}_n{size}_r{r}.pt") if cfg.checkpoints else None
        hist = fit_supervised(model, physics, data.pool(op_name, r)[:size], steps=cfg.steps,
                              batch_size=cfg.batch_size, lr=cfg.lr, schedule=cfg.schedule,
                              seed=derived_seed(cfg.seed, 50, r, size) % 2**31, device=dev, progress=progress,
                              checkpoint=ckpt, checkpoint_every=cfg.checkpoint_every or max(1, cfg.steps // 10))
        tail = hist.loss[-max(1, len(hist.loss) // 10):]
        res["seconds"], res["loss"] = hist.seconds, float(np.mean(tail))
        for t in TEST_SETS:
            u = to_metric_images(reconstruct(model, physics, ys[t]), ch).cpu()
            res["metrics"][t] = image_metrics(u, data.tests[t])
            res["figure"][t] = (u[cfg.figure_index, 0].numpy().copy(), float(res["metrics"][t][0][cfg.figure_index]))
        return res


def run_comparison(cfg: ComparisonConfig, out: str = "outputs/comparison", progress: bool = True,
                   log=print) -> List[dict]:
    """Run the comparison and write ``table.csv``, ``table.json``, ``table.md``, ``psnr_vs_train_size.png`` and
    ``reconstructions_<operator>.png`` to ``out`` (created and checked first). Returns the table rows (see
    `CSV_FIELDS`). Ctrl-C stops the run (and its workers) and keeps the checkpoints already written."""
    if not isinstance(cfg, ComparisonConfig):
        raise TypeError(f"cfg must be a ComparisonConfig, got {type(cfg).__name__}")
    out = prepare_output(out)
    with thread_limit(cfg.threads):
        return _run(cfg, out, progress, log or (lambda *a, **k: None))


def _baselines(cfg, data, bar, per_image, info, figs, descriptions) -> None:
    """The pseudo-inverse rows and figure panels, and the operator descriptions."""
    for op_name in cfg.operators:
        physics, ch, sigma, desc, ys = data.operator(op_name)
        descriptions[op_name] = desc
        bar.write(textwrap.fill(f"[{op_name}] {desc}", 100, subsequent_indent="      "))
        figs[op_name] = dict(gt={t: data.tests[t][cfg.figure_index, 0].numpy() for t in TEST_SETS},
                             recons={t: {} for t in TEST_SETS}, psnrs={t: {} for t in TEST_SETS})
        for t in TEST_SETS:
            u = to_metric_images(physics.pinv(ys[t]), ch).cpu()
            p, s = image_metrics(u, data.tests[t])
            per_image[(op_name, "pinv", 0, t)] = {"psnr": [p], "ssim": [s]}
            figs[op_name]["recons"][t]["pinv"] = u[cfg.figure_index, 0].numpy()
            figs[op_name]["psnrs"][t]["pinv"] = float(p[cfg.figure_index])
        info[(op_name, "pinv")] = dict(group="-", params=0, channels=0)
        bar.update(1)


def _collect(cfg, results, per_image, info, figs) -> None:
    """Merge the training results (in job order, whatever order the workers finished in)."""
    max_train = max(cfg.train_sizes)
    for res in results:
        op_name, key, size, r = res["job"]
        info[(op_name, key)] = dict(group=res["group"], params=res["params"], channels=res["channels"])
        slot = info.setdefault((op_name, key, size), {"seconds": [], "loss": []})
        slot["seconds"].append(res["seconds"])
        slot["loss"].append(res["loss"])
        for t in TEST_SETS:
            p, s = res["metrics"][t]
            d = per_image.setdefault((op_name, key, size, t), {"psnr": [], "ssim": []})
            d["psnr"].append(p)
            d["ssim"].append(s)
            if r == 0 and size == max_train:
                figs[op_name]["recons"][t][key], figs[op_name]["psnrs"][t][key] = res["figure"][t]


def _run(cfg: ComparisonConfig, out: str, progress: bool, log) -> List[dict]:
    t_start = time.perf_counter()
    task = TrainTask(cfg, out)
    todo = jobs(cfg)
    workers = min(resolve_workers(cfg), max(1, len(todo)))
    data = task.prepare()
    per_image: Dict[tuple, Dict[str, list]] = {}
    info: Dict[tuple, dict] = {}
    figs: Dict[str, dict] = {}
    descriptions: Dict[str, str] = {}
    bar = Progress(total=len(cfg.operators) + len(todo) * cfg.steps, desc="comparison", unit="step",
                   quiet=not progress)
    try:
        _baselines(cfg, data, bar, per_image, info, figs, descriptions)
        if workers > 1:
            bar.write(f"training {len(todo)} models in {workers} worker processes")
        results = run_jobs(task, todo, workers=workers, threads=cfg.threads, progress=bar, state=data)
    finally:
        bar.close()
    _collect(cfg, results, per_image, info, figs)

    rows = summarise(per_image)
    for row in rows:
        row.update(info[(row["operator"], row["model"])])
        extra = info.get((row["operator"], row["model"], row["train_size"]))
        row["train_seconds"] = float(np.mean(extra["seconds"])) if extra else 0.0
        row["final_train_loss"] = float(np.mean(extra["loss"])) if extra else None
    wall = time.perf_counter() - t_start
    threads = torch.get_num_threads()
    header = markdown_header(cfg, wall, data.dev, workers, threads, descriptions, rows)
    write_table(out, rows, CSV_FIELDS, cfg.to_dict(), markdown=header + markdown_table(rows), wall_seconds=wall,
                operators=descriptions, device=str(data.dev), threads=threads, workers=workers, metrics=METRICS_NOTE)
    plot_psnr_vs_size(os.path.join(out, "psnr_vs_train_size.png"), rows, cfg)
    max_train = max(cfg.train_sizes)
    for op_name, d in figs.items():
        plot_reconstructions(os.path.join(out, f"reconstructions_{op_name}.png"), op_name, d["gt"], d["recons"],
                             d["psnrs"], f"{descriptions[op_name].split(';')[0]} — test image {cfg.figure_index}, "
                                         f"models trained on {max_train} images")
    log(terminal_table(rows) + textwrap.fill(matching_note(rows), 100))
    log(textwrap.fill(f"wrote {out}/table.csv, table.json, table.md, psnr_vs_train_size.png, "
                      + ", ".join(f"reconstructions_{o}.png" for o in figs) + f" in {wall:.1f} s", 100,
                      subsequent_indent="  "))
    return rows
