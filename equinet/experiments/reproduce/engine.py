"""A method-comparison table on one or more inverse problems: every (problem, method) trains the same residual U-Net
on A†y with the same budget (one runner job each), then every model is tested on every test set of its problem.
Used by the EI Table 1, MRI, low-dose CT and multi-operator reproductions; a reproduction supplies a config (fields
below) and a module-level ``build_problems(cfg) -> {name: Problem}`` (picklable, run once per worker process), and
either takes `run_method_table`'s report or writes its own from `train_and_evaluate`'s results.

Config fields read here: ``mode, seed, methods, width, scales, steps, batch_size, lr, adv_weight, workers, threads,
device`` and ``to_dict()``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ...physics.base import LinearPhysics
from ...physics.family import OperatorFamily, physics_for
from ...training import resolve_device
from ...utils.plotting import reconstruction_grid
from ...utils.progress import Progress
from ...utils.seeding import derived_seed
from ..runner import Task, prepare_output, run_jobs, seeded, thread_limit, write_table
from .common import LABELS, make_loss, mean_std, pm, psnr_per_image, reconstruct, run_dir, train_model
from .converged import check_results, method_entry, write_results

__all__ = ["Problem", "MethodTableTask", "train_and_evaluate", "run_method_table", "FIELDS"]


@dataclass
class Problem:
    """One inverse problem: operator (with its noise model), EI transform and weight, training images and their
    fixed measurements, test sets ``{name: (x, y)}``, image channels, ``metric_image(u) -> [B, 1, H, W]`` for PSNR
    (e.g. the MRI magnitude), and the paper's PSNR per method (may be empty)."""

    physics: Union[LinearPhysics, OperatorFamily]
    transform: object
    alpha: float
    x_train: torch.Tensor
    y_train: torch.Tensor
    tests: Dict[str, Tuple[torch.Tensor, torch.Tensor]]
    channels: int = 1
    metric_image: Optional[Callable] = None
    paper: Dict[str, float] = field(default_factory=dict)
    #: held-out ``(x, y)`` from the training distribution (not a test set) for the converged budget's curves;
    #: ``(x, y, operators)`` with a family as ``physics``
    validation: Optional[Tuple[torch.Tensor, ...]] = None
    #: with an `equinet.physics.OperatorFamily` as ``physics``: each item's member, per set ('train', test names)
    operators: Optional[Dict[str, torch.Tensor]] = None
    #: training steps of this problem's models (None: the config's ``steps``)
    steps: Optional[int] = None
    #: the index in the seed of the problem's initial network (None: its place among the sorted problem names)
    seed_index: Optional[int] = None
    #: also measure ``max |f(y) - A†y|`` on the test set 'test' (result key ``max_dev_pinv``; Proposition 1 of the EI
    #: paper: MC stays at A†y)
    pinv_deviation: bool = False
    #: a method's own EI weight where it is not ``alpha`` (e.g. ``{'ei_sup': 1.0}``: EI-sup's EI term is weighed
    #: against an image-domain supervised loss, EI's against a measurement-domain MC loss)
    alphas: Dict[str, float] = field(default_factory=dict)

    def alpha_for(self, method: str) -> float:
        """The EI weight of ``method`` on this problem."""
        return self.alphas.get(method, self.alpha)

    def metric(self, u: torch.Tensor) -> torch.Tensor:
        return u if self.metric_image is None else self.metric_image(u)

    def operators_of(self, split: str) -> Optional[torch.Tensor]:
        """The member index of each item of ``split`` ('train' or a test set), or None for a single operator."""
        return None if self.operators is None else self.operators[split]

    def physics_of(self, split: str):
        """The operator of the items of ``split``: the physics, or each item's member of a family."""
        return physics_for(self.physics, self.operators_of(split))

    def first(self, k: int) -> "Problem":
        """The problem trained on its first ``k`` training images only (the same test sets)."""
        ops = None if self.operators is None else {**self.operators, "train": self.operators["train"][:k]}
        return replace(self, x_train=self.x_train[:k], y_train=self.y_train[:k], operators=ops)


#: ``(problem, method)``, or ``(problem, method, k)``: trained on the first ``k`` training images (a "few images" run,
#: its own run folder ``<problem>_<method>_n<k>`` unless ``k`` is the whole training set)
Job = Union[Tuple[str, str], Tuple[str, str, int]]


def few_images(job: Job, p: Problem) -> Optional[int]:
    """``k`` of a job on fewer than all training images of ``p``, else None."""
    k = job[2] if len(job) > 2 else None
    return None if k is None or k == len(p.x_train) else k


class MethodTableTask(Task):
    """Train one (problem, method) and evaluate it on the training set and every test set."""

    def __init__(self, cfg, out: str, build_problems: Callable):
        self.cfg, self.out, self.build_problems = cfg, out, build_problems

    def prepare(self):
        return self.build_problems(self.cfg)

    def describe(self, job: Job) -> str:
        k = job[2] if len(job) > 2 else None
        few = k is not None and k != getattr(self.cfg, "n_train", None)
        return f"{job[0]} {job[1]}" + (f" ({k} images)" if few else "")

    def run(self, job: Job, problems, progress) -> dict:
        cfg, name, method = self.cfg, job[0], job[1]
        p: Problem = problems[name]
        k = few_images(job, p)
        if k is not None:
            p = p.first(k)
        dev = resolve_device(cfg.device)
        index = sorted(problems).index(name) if p.seed_index is None else p.seed_index
        with seeded(derived_seed(cfg.seed, 10, index)):  # the same initial network for every method
            model = cfg.network(channels=p.channels)
        with seeded(derived_seed(cfg.seed, 11)):
            loss = make_loss(method, p.transform, p.alpha_for(method), cfg.adv_weight)
        folder = run_dir(self.out, name, method) if k is None else run_dir(self.out, name, method, f"n{k}")
        hist = train_model(model, loss, p.physics.to(dev), p.x_train, p.y_train, steps=steps_of(cfg, p),
                           batch_size=cfg.batch_size, lr=cfg.lr, seed=derived_seed(cfg.seed, 12) % 2 ** 31,
                           device=dev, progress=progress, out=folder, ema=getattr(cfg, "ema", None),
                           converge=cfg.converge, validation=p.validation, operators=p.operators_of("train"))
        p.physics.cpu()
        res = evaluate(model.cpu(), p, method, hist.seconds, float(np.mean(hist.loss[-max(1, len(hist.loss) // 10):])))
        if cfg.converge is not None:
            res["entry"] = method_entry(name, method, res["psnr"], hist)
        return res


def steps_of(cfg, p: Problem) -> int:
    """The training steps of the models of ``p``: its own, else the config's."""
    return cfg.steps if p.steps is None else p.steps


def evaluate(model, p: Problem, method: str, seconds: float = 0.0, final_loss: Optional[float] = None) -> dict:
    """Per-image PSNR of ``model`` (None: A†y) on the training set and every test set, one reconstruction each, and
    with ``p.pinv_deviation`` ``max |f(y) - A†y|`` on the test set 'test'."""
    def f(y, split):
        A = p.physics_of(split)
        return A.pinv(y) if model is None else reconstruct(model, A, y)
    with torch.no_grad():
        res: Dict[str, Any] = {"method": method, "seconds": seconds, "final_loss": final_loss, "recon": {},
                               "psnr": {"train": psnr_per_image(p.metric(f(p.y_train, "train")),
                                                                p.metric(p.x_train)).tolist()}}
        for t, (x, y) in p.tests.items():
            u = p.metric(f(y, t))
            res["psnr"][t] = psnr_per_image(u, p.metric(x)).tolist()
            res["recon"][t] = u[0, 0].numpy().copy()
            if p.pinv_deviation and t == "test":
                res["max_dev_pinv"] = float((u - p.metric(p.physics_of(t).pinv(y))).abs().max())
    return res


FIELDS = ("problem", "method", "label", "test_set", "psnr_mean", "psnr_std", "paper_psnr", "psnr_train",
          "train_seconds", "final_loss")


def train_and_evaluate(cfg, out: str, build_problems: Callable, desc: str, progress: bool = True,
                       jobs: Optional[Callable[[Dict[str, Problem]], Sequence[Job]]] = None
                       ) -> Tuple[Dict[str, Problem], Dict[Job, dict], Dict[str, dict]]:
    """Build the problems, train every job (default: every (problem, method) but A†y, in problem order) on the
    runner's workers (run folders under ``out/runs``) and evaluate each model, and A†y of every problem when
    ``'pinv' in cfg.methods``. ``jobs(problems)``: the jobs to train instead. Returns ``(problems, {job: result},
    {problem: A†y result})`` (results of `evaluate`, with the converged budget's ``entry``)."""
    task = MethodTableTask(cfg, out, build_problems)
    with thread_limit(cfg.threads):
        problems = task.prepare()
        todo = (list(jobs(problems)) if jobs is not None
                else [(n, m) for n in problems for m in cfg.methods if m != "pinv"])
        bar = Progress(total=max(1, sum(steps_of(cfg, problems[j[0]]) for j in todo)), desc=desc, unit="step",
                       quiet=not progress)
        trained = run_jobs(task, todo, workers=cfg.workers, threads=cfg.threads, progress=bar, state=problems)
        bar.close()
        pinv = {n: evaluate(None, p, "pinv") for n, p in problems.items()} if "pinv" in cfg.methods else {}
    return problems, dict(zip(todo, trained)), pinv


def run_method_table(cfg, out: str, build_problems: Callable, title: str, progress: bool = True,
                     notes: str = "", targets: Optional[Callable] = None, results: Optional[str] = None,
                     name: str = "", gaps: Sequence[Tuple[str, str, str]] = (),
                     appendix: Optional[Callable[[List[dict]], str]] = None) -> List[dict]:
    """Run every (problem, method) and write ``table.csv/json/md`` and ``reconstructions_<problem>.png`` to ``out``.
    ``targets(results_by_problem_method_testset) -> list of (description, measured, met)`` adds the paper's targets.
    Converged mode: the methods are merged into the results file ``results`` (default ``out/results.json``) under
    ``name``, with their learning curves and the ``gaps`` ``(label, a, b)`` (`converged.write_results`).
    ``appendix(rows)``: more Markdown for the end of ``table.md``."""
    results_path = results
    if cfg.converge is not None:
        results_path = results_path or os.path.join(out, "results.json")
        check_results(results_path, name, cfg)
    out = prepare_output(out)
    t0 = time.perf_counter()
    problems, trained, pinv = train_and_evaluate(cfg, out, build_problems, title.split(":")[0], progress)
    by_job: Dict[Any, dict] = {**trained, **{(n, "pinv"): r for n, r in pinv.items()}}
    rows = []
    for n, p in problems.items():
        for m in cfg.methods:
            r = by_job[(n, m)]
            for t in p.tests:
                mu, sd = mean_std(r["psnr"][t])
                rows.append(dict(problem=n, method=m, label=LABELS[m], test_set=t, psnr_mean=mu, psnr_std=sd,
                                 paper_psnr=p.paper.get(m) if t == "test" else None,
                                 psnr_train=mean_std(r["psnr"]["train"])[0], train_seconds=r["seconds"],
                                 final_loss=r["final_loss"]))
    wall = time.perf_counter() - t0
    checks = targets(rows) if targets is not None else []
    for n, p in problems.items():
        blocks = [(t, p.metric(x)[0, 0].numpy(),
                 [(LABELS[m], np.clip(by_job[(n, m)]["recon"][t], 0, 1), by_job[(n, m)]["psnr"][t][0])
                  for m in cfg.methods]) for t, (x, _) in p.tests.items()]
        reconstruction_grid(f"{out}/reconstructions_{n}.png", blocks, title=f"{title}: test image 0 ({cfg.mode} mode)")
    sets = list(dict.fromkeys(r["test_set"] for r in rows))
    md = [f"# {title} ({cfg.mode} mode)", "", notes + f" Residual U-Net on A†y (width {cfg.width}, {cfg.scales} "
          f"scales, starts at f = A†), {cfg.steps} Adam steps of {cfg.batch_size} (lr {cfg.lr:g}, cosine), seed "
          f"{cfg.seed}; wall time {wall / 60:.1f} min. PSNR in dB (data range 1), mean ± std over images.", "",
          "| problem | method | " + " | ".join(f"PSNR {s}" for s in sets) + " | paper | PSNR train |",
          "| --- | --- |" + " ---: |" * (len(sets) + 2)]
    for n in problems:
        for m in cfg.methods:
            rs = {r["test_set"]: r for r in rows if r["problem"] == n and r["method"] == m}
            first = next(iter(rs.values()))
            paper = first["paper_psnr"] if "test" not in rs else rs["test"]["paper_psnr"]
            md.append(f"| {n} | {LABELS[m]} | " + " | ".join(pm(rs[s]["psnr_mean"], rs[s]["psnr_std"]) if s in rs
                                                            else "" for s in sets)
                      + f" | {'' if paper is None else f'{paper:.2f}'} | {pm(first['psnr_train'])} |")
    if checks:
        md += ["", "| target | measured | met |", "| --- | --- | --- |"]
        md += [f"| {d} | {v} | {'yes' if ok else 'no'} |" for d, v, ok in checks]
    if appendix is not None:
        md += ["", appendix(rows).rstrip("\n")]
    write_table(out, rows, FIELDS, cfg.to_dict(), markdown="\n".join(md) + "\n", wall_seconds=wall,
                targets=[dict(target=d, measured=v, met=ok) for d, v, ok in checks],
                per_image_psnr={f"{n}/{m}": r["psnr"] for (n, m), r in by_job.items()})
    if cfg.converge is not None:
        entries = {f"{n}/{m}": r.get("entry") or method_entry(n, m, r["psnr"]) for (n, m), r in by_job.items()}
        assert results_path is not None  # set above in converged mode
        write_results(results_path, name, cfg, entries,
                      {n: p.paper for n, p in problems.items()}, LABELS, title=f"{title} (converged)", gaps=gaps)
    return rows
