"""The converged budget of the learning reproductions (``--converged``): every method trains until the plateau rule
of `equinet.training.convergence` holds on a held-out validation split (not the test set), then cools down; its
learning curve, steps, wall time and CPU time are recorded.

Results accumulate in one small JSON file (``--results FILE``, e.g. ``docs/results/ei-table1.json``): each run of
the command adds or replaces the entries of the (problem, method) pairs it trained and keeps the others, so a table
fills in across sittings (one or two methods per sitting). From that file alone come the table (`markdown`), the
gaps to the paper and one learning-curve figure per problem (`curves_figure`: PSNR vs steps, log-x, every method,
the paper's values dashed).

>>> doc = {"name": "demo", "entries": {"ct/sup": {"problem": "ct", "method": "sup", "psnr": {"test": [30.0, 0.5]},
...        "curve": [[0, 20.0], [100, 29.0]], "steps": 100, "converged": True, "train_seconds": 60.0,
...        "cpu_seconds": 120.0}}, "paper": {"ct": {"sup": 38.17}}}
>>> print(markdown(doc, labels={"sup": "Sup"}).splitlines()[2])
| ct | Sup | 30.00 ± 0.50 | 38.17 | 100 | yes | 1.0 | 0.03 |
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ...utils.io import exclusive, save_figure, write_json
from ..runner import json_safe, versions
from .labels import LABELS
from .recipes import recipe_labels, recipes_figure, recipes_markdown, steps_to_within

__all__ = ["CONVERGED", "RECIPE", "method_entry", "merge_results", "reads", "preset_recipe", "recipe_column",
           "load_results", "check_results", "markdown", "gap_rows", "curves_figure", "write_results",
           "steps_to_within", "recipes_markdown"]

#: the converged budget's settings (64 x 64, the quick protocol's operators): steps is the cap
CONVERGED = dict(mode="converged", image_size=64, steps=40000, batch_size=4, lr=1e-3, width=16, scales=2,
                 workers=2, threads=1, device="cpu", val_every=250, n_val=16, min_steps=4000, tol_db=0.1,
                 window=0.5, cooldown=0.2)


def method_entry(problem: str, method: str, psnr: Dict[str, Sequence[float]], hist=None, **extra) -> dict:
    """One (problem, method) entry: mean ± std PSNR per test set, the validation curve ``[[step, psnr], ...]``,
    steps, whether the plateau rule held, wall and CPU seconds of the training (``hist``: the history returned by
    `equinet.experiments.reproduce.common.train_model`; None for a method without training, such as A†y)."""
    stats = {t: [float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0] for t, v in psnr.items()}
    if hist is None:
        return dict(problem=problem, method=method, psnr=stats, curve=[], steps=0, converged=True,
                    train_seconds=0.0, cpu_seconds=0.0, **extra)
    curve = [[int(v["step"]), round(float(v["psnr"]), 4)] for v in hist.validation]
    return dict(problem=problem, method=method, psnr=stats, curve=curve, steps=int(hist.steps),
                converged=bool(getattr(hist, "converged", False)), train_seconds=float(hist.seconds),
                cpu_seconds=float(getattr(hist, "cpu_seconds", 0.0)), **extra)


def load_results(path: str) -> Optional[dict]:
    """The results document at ``path`` (None if there is none); a clear error for a file that is not one."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as err:
        raise ValueError(f"results file {path!r} is not a readable JSON results file ({err})") from err
    if not isinstance(doc, dict) or not isinstance(doc.get("entries"), dict):
        raise ValueError(f"results file {path!r} has no 'entries' object: not a converged-results file")
    return doc


#: settings that select what a run trains (which methods, problems or family sizes) or how it is scheduled: runs that
#: differ only in these merge into one results file
_FREE = ("methods", "problems", "masks", "proxes", "train_sizes", "workers", "threads", "device", "few_methods",
         "n_few")


#: the training recipe and the methods' weights: each entry records its own (``entry['settings']``), so one method can
#: be re-run with another recipe or weight without invalidating the others; the table names them where entries differ
RECIPE = ("batch_size", "lr", "ema", "n_trans", "adv_weight", "alpha", "alpha_ct", "alpha_inpainting",
          "alpha_ei_sup_ct", "rotation_interpolation")


def _settings(config) -> Tuple[dict, dict]:
    """``(settings, defaults)`` of a config: a dataclass instance (its fields' defaults known) or a plain dict."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        defaults = {f.name: f.default for f in dataclasses.fields(config) if f.default is not dataclasses.MISSING}
        return json_safe(dataclasses.asdict(config)), json_safe(defaults)
    return json_safe(dict(config)), {}


def merge_results(doc: Optional[dict], name: str, config, entries: Dict[str, dict], paper: dict) -> dict:
    """``doc`` with ``entries`` added (replacing those of the same keys); refuses to merge runs of other settings.
    ``config``: the run's settings (a config dataclass, or a dict). A setting the file does not record (one added to
    the configs after the file was written) matches when the run has it at the dataclass's default."""
    settings, defaults = _settings(config)
    fixed = {k: v for k, v in settings.items() if k not in _FREE and k not in RECIPE}
    recipe = {k: v for k, v in settings.items() if k in RECIPE}
    if doc is None:
        doc = dict(name=name, config=fixed, entries={})
    elif doc.get("name") != name:
        raise ValueError(f"the results file holds {doc.get('name')!r}, not {name!r}")
    else:
        doc = _recipes_into_entries(doc, {k: v for k, v in defaults.items() if k in recipe})
        old = doc["config"]
        diff = {k: (old.get(k), v) for k, v in fixed.items()
                if old.get(k) != v and not (k not in old and k in defaults and defaults[k] == v)}
        if diff:
            raise ValueError(f"the results file was written with other settings (file vs now: {diff}); use "
                             f"another --results file")
    new = {k: dict(e, settings=recipe) for k, e in json_safe(entries).items()}
    doc = dict(doc, entries=dict(doc["entries"], **new), paper=json_safe(paper), versions=versions(),
               config={k: v for k, v in doc["config"].items() if k not in _FREE}, preset=preset_recipe(config))
    doc["core_hours"] = round(sum(e["cpu_seconds"] for e in doc["entries"].values()) / 3600.0, 3)
    return doc


def _recipes_into_entries(doc: dict, defaults: dict) -> dict:
    """A file written before entries recorded their recipe: the file's recipe settings (and, for one it does not
    record, the dataclass default) move into every entry without its own; a setting that became a recipe setting
    later moves from the file's settings into every entry."""
    moved = {k: v for k, v in doc["config"].items() if k in RECIPE}
    entries = {k: dict(e, settings={**moved, **e["settings"]}) if "settings" in e else
               dict(e, settings={**defaults, **moved}) for k, e in doc["entries"].items()}
    return dict(doc, entries=entries, config={k: v for k, v in doc["config"].items() if k not in RECIPE})


#: recipe settings that only some methods read (a method ``m`` or ``m_<variant>``); the others read all of `RECIPE`
READ_BY = {"adv_weight": ("ei_adv",), "rotation_interpolation": ("ei", "ei_adv", "ei_sup", "sup_da"),
           "alpha_ei_sup_ct": ("ei_sup",),
           **{k: ("ei", "ei_adv", "ei_sup", "rei", "moi_ei")
              for k in ("n_trans", "alpha", "alpha_ct", "alpha_inpainting")}}
#: recipe settings that only some problems read (a problem ``p`` or ``p_<variant>``): rotations are CT's transform
READ_ON = {"rotation_interpolation": ("ct",), "alpha_ct": ("ct",), "alpha_inpainting": ("inpainting",),
           "alpha_ei_sup_ct": ("ct",)}


def _named(name: str, names) -> bool:
    return any(name == m or name.startswith(m + "_") for m in names)


def reads(method: str, key: str, problem: Optional[str] = None) -> bool:
    """Whether ``method`` (e.g. ``'ei'``, ``'ei_c8'``) on ``problem`` (None: any) reads the recipe setting ``key``.

    >>> reads("sup", "lr"), reads("sup", "n_trans"), reads("ei_c8", "n_trans"), reads("ei", "adv_weight")
    (True, False, True, False)
    >>> reads("ei", "rotation_interpolation", "ct"), reads("ei", "rotation_interpolation", "inpainting")
    (True, False)
    """
    return (key not in READ_BY or _named(method, READ_BY[key])) and \
        (problem is None or key not in READ_ON or _named(problem, READ_ON[key]))


def preset_recipe(config) -> dict:
    """The recipe (`RECIPE` settings) of the converged preset of ``config``'s class (empty for a plain dict)."""
    make = getattr(type(config), "converged", None)
    return {} if make is None else {k: v for k, v in _settings(make())[0].items() if k in RECIPE}


def recipe_column(entries: Sequence[dict], preset: Optional[dict] = None) -> Dict[int, str]:
    """``{index: text}``: for each trained entry, the recipe settings its method reads that differ from the
    converged preset's ``preset`` (for a setting the preset does not name: from the most common value among the
    entries reading it), e.g. ``'ema –'``; empty when no entry differs."""
    trained = [i for i, e in enumerate(entries) if e.get("steps")]
    value = lambda i, k: json.dumps(entries[i].get("settings", {}).get(k))  # noqa: E731
    ref = {}
    for k in RECIPE:
        vals = [value(i, k) for i in trained if reads(entries[i]["method"], k, entries[i]["problem"])
                and k in entries[i].get("settings", {})]
        ref[k] = json.dumps(preset[k]) if preset and k in preset else max(set(vals), key=vals.count) if vals else None
    fmt = lambda v: f"{v:g}" if isinstance(v, float) else "–" if v is None else str(v)  # noqa: E731
    out = {i: ", ".join(f"{k} {fmt(json.loads(value(i, k)))}" for k in RECIPE
                        if reads(entries[i]["method"], k, entries[i]["problem"]) and k in entries[i].get("settings", {})
                        and value(i, k) != ref[k]) for i in trained}
    return out if any(out.values()) else {}


def check_results(path: str, name: str, config) -> None:
    """Refuse, before any training, a results file that holds another reproduction or other settings."""
    merge_results(load_results(path), name, config, {}, {})


def gap_rows(doc: dict, gaps: Iterable[Tuple[str, str, str]], test_set: str = "test") -> List[dict]:
    """Measured vs paper gaps ``(name, a, b)`` = PSNR(a) − PSNR(b) for every problem holding both methods."""
    out = []
    problems = dict.fromkeys(e["problem"] for e in doc["entries"].values())
    for p in problems:
        v = {e["method"]: e["psnr"][test_set][0] for e in doc["entries"].values() if e["problem"] == p}
        paper = doc.get("paper", {}).get(p, {})
        for name, a, b in gaps:
            if a in v and b in v:
                pa = paper[a] - paper[b] if a in paper and b in paper else None
                out.append(dict(problem=p, gap=name, measured=round(v[a] - v[b], 3),
                                paper=None if pa is None else round(pa, 3)))
    return out


def _ordered(doc: dict, labels: Dict[str, str]) -> List[dict]:
    """Entries by problem (first appearance), then in the order of ``labels`` (unknown methods last)."""
    es = list(doc["entries"].values())
    probs = list(dict.fromkeys(e["problem"] for e in es))
    rank = {m: i for i, m in enumerate(labels)}
    return sorted(es, key=lambda e: (probs.index(e["problem"]), rank.get(e["method"], len(rank)), e["method"]))


def markdown(doc: dict, labels: Dict[str, str], test_set: str = "test") -> str:
    """The table of a results document: PSNR (mean ± std over test images), paper, steps, converged, core-hours."""
    es = _ordered(doc, labels)
    recipe = recipe_column(es, doc.get("preset"))
    extra = (" recipe |", " --- |") if recipe else ("", "")
    paper = doc.get("paper", {})
    quoted = any(paper.get(e["problem"], {}).get(e["method"]) is not None for e in es)  # else no paper column
    lines = ["| problem | method | PSNR |" + (" paper |" if quoted else "") + " steps | converged | wall min | "
             "core-hours |" + extra[0],
             "| --- | --- | ---: |" + (" ---: |" if quoted else "") + " ---: | --- | ---: | ---: |" + extra[1]]
    for i, e in enumerate(es):
        p, m = e["problem"], e["method"]
        mu, sd = e["psnr"][test_set]
        pv = paper.get(p, {}).get(m)
        cell = (f" {'' if pv is None else f'{pv:.2f}'} |" if quoted else "")
        lines.append(f"| {p} | {labels.get(m, m)} | {mu:.2f} ± {sd:.2f} |{cell} "
                     f"{e['steps']} | {'yes' if e['converged'] else 'no'} | {e['train_seconds'] / 60:.1f} | "
                     f"{e['cpu_seconds'] / 3600:.2f} |" + (f" {recipe.get(i, '')} |" if recipe else ""))
    return "\n".join(lines) + "\n"


def curves_figure(path: str, doc: dict, problem: str, labels: Dict[str, str], title: str = "") -> bool:
    """Held-out PSNR vs training steps (log-x) of every method of ``problem``, the paper's values dashed in the
    method's colour; saved atomically. Returns False (nothing written) when the problem has no curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    entries = [e for e in doc["entries"].values() if e["problem"] == problem and len(e["curve"]) > 1]
    if not entries:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    paper = doc.get("paper", {}).get(problem, {})
    lo = []
    for i, e in enumerate(entries):
        c = np.asarray([pt for pt in e["curve"] if pt[0] > 0], dtype=float)
        colour = f"C{i}"
        ax.plot(c[:, 0], c[:, 1], color=colour, lw=1.6, label=labels.get(e["method"], e["method"]))
        lo.append(float(np.percentile(c[:, 1], 5)))
        if e["method"] in paper:
            ax.axhline(paper[e["method"]], color=colour, ls="--", lw=1.0, alpha=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    shown = [v for m, v in paper.items() if m in {e["method"] for e in entries}]
    top = max([max(pt[1] for pt in e["curve"]) for e in entries] + shown)
    ax.set_ylim(min(lo + shown) - 0.5, top + 0.8)
    ax.set_xlabel("training steps")
    ax.set_ylabel("held-out PSNR (dB)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="lower right", fontsize=8, ncol=2, title="dashed: paper" if shown else None, title_fontsize=7)
    ax.set_title(title or f"Learning curves: {problem}")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
    return True


def write_results(path: str, name: str, config, entries: Dict[str, dict], paper: dict,
                  labels: Dict[str, str], title: str = "", gaps: Sequence[Tuple[str, str, str]] = (),
                  echo: Callable[[str], None] = print) -> dict:
    """Merge ``entries`` into the results file ``path`` (atomically; with the `gap_rows` of ``gaps``) and redraw
    its per-problem curve figures (``<path without .json>_<problem>.png``). Returns the merged document."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with exclusive(path):  # runs in parallel processes may finish together: one read-merge-write at a time
        doc = merge_results(load_results(path), name, config, entries, paper)
        doc["gaps"] = gap_rows(doc, gaps)
        write_json(path, doc, indent=1)
    echo(f"wrote {path}")
    stem = path[:-5] if path.endswith(".json") else path
    for p in dict.fromkeys(e["problem"] for e in doc["entries"].values()):
        if curves_figure(f"{stem}_{p}.png", doc, p, labels, title=f"{title}: {p}" if title else ""):
            echo(f"wrote {stem}_{p}.png")
    return doc



def report(doc: dict, labels: Optional[Dict[str, str]] = None) -> str:
    """The table and the gaps of a results document, as Markdown (what the reproduction pages quote)."""
    labels = labels or LABELS
    lines = [markdown(doc, labels)]
    if doc.get("gaps"):
        quoted = any(g["paper"] is not None for g in doc["gaps"])  # else no paper column
        lines += ["| problem | gap | measured |" + (" paper |" if quoted else ""),
                  "| --- | --- | ---: |" + (" ---: |" if quoted else "")]
        lines += [f"| {g['problem']} | {g['gap']} | {g['measured']:+.2f} |"
                  + (f" {'' if g['paper'] is None else format(g['paper'], '+.2f')} |" if quoted else "")
                  for g in doc["gaps"]]
        lines.append("")
    lines.append(f"Core-hours in all: {doc.get('core_hours', 0.0):.2f}.")
    return "\n".join(lines) + "\n"


def build_parser():
    from ...utils.cli import Parser
    ap = Parser(prog="python -m equinet results",
                description="Print the table and gaps of a converged results file (e.g. docs/results/ei-table1.json) "
                            "as Markdown.")
    ap.add_argument("file", nargs="+", help="a results file written by 'python -m equinet reproduce NAME "
                                            "--converged'; several (each FILE or LABEL=FILE): compare their recipes "
                                            "on --entry")
    ap.add_argument("--entry", default=None, metavar="PROBLEM/METHOD",
                    help="with several files: the entry the recipes are compared on, e.g. ct/ei")
    ap.add_argument("--within", type=float, default=1.0, metavar="DB",
                    help="with several files: count the steps until the PSNR is within DB dB of its final value "
                         "(and until it reaches the first file's final value minus DB)")
    ap.add_argument("--figure", default=None, metavar="PNG",
                    help="with several files: also draw their learning curves on --entry into this PNG file")
    return ap


def main(argv=None) -> int:
    """``python -m equinet results FILE``: print the table of a converged results file; ``FILE FILE ... --entry
    KEY``: compare their training recipes on one entry (`equinet.experiments.reproduce.recipes`). A file that is not
    a results file: `equinet.utils.cli.UsageError`."""
    from ...utils.cli import user_input
    a = build_parser().parse_args(argv)
    with user_input():
        docs = {}
        for item in a.file:
            f = item.split("=", 1)[-1] if len(a.file) > 1 else item
            doc = load_results(f)
            if doc is None:
                raise ValueError(f"no results file at {f!r}")
            docs[item.split("=", 1)[0] if f != item else os.path.splitext(os.path.basename(f))[0]] = doc
        if len(docs) < len(a.file):
            raise ValueError(f"two results files share a name: {a.file}")
        if len(docs) == 1:
            if a.entry is not None or a.figure is not None:
                raise ValueError("--entry and --figure compare several results files; give two or more")
            text = report(next(iter(docs.values())))
        else:
            if a.entry is None:
                raise ValueError("several results files are compared on one entry: give --entry, e.g. ct/ei")
            if not (a.within > 0 and np.isfinite(a.within)):
                raise ValueError(f"--within must be a positive number of dB, got {a.within!r}")
            labels = recipe_labels(docs, a.entry)
            text = recipes_markdown(docs, a.entry, a.within, labels=labels)
            if a.figure:
                recipes_figure(a.figure, docs, a.entry, a.within, labels=labels)
                text += f"wrote {a.figure}\n"
    print(text, end="")
    return 0


if __name__ == "__main__":
    from ...utils.cli import run_command
    raise SystemExit(run_command(main, prog="python -m equinet results"))
