"""Training recipes compared by sample efficiency: one entry (e.g. ``'ct/ei'``) of several converged results files,
each written by the same reproduction with other training settings (``--n-trans``, ``--batch-size``, ``--lr``).

Two measures, both read off the held-out learning curves: the steps until a recipe is within ``db`` dB of its *own*
final PSNR (how soon it stops improving), and the steps until it reaches a *fixed* quality, the first recipe's final
PSNR minus ``db`` (how soon it is good). The first can flatter a recipe that converges lower; the second cannot.

>>> a = {"curve": [[0, 20.0], [250, 28.5], [500, 29.2], [750, 29.9], [1000, 30.0]]}
>>> steps_to_within(a), steps_to_reach(a, 29.0), steps_to_reach(a, 31.0)
(500, 500, None)
>>> recipe_labels({"base": {"config": {"steps": 40000}, "entries": {"ct/ei": {"settings": {"n_trans": 1}}}},
...                "b": {"config": {"steps": 8000}, "entries": {"ct/ei": {"settings": {"n_trans": 3}}}}}, "ct/ei")
{'base': 'base', 'b': 'n_trans 3'}
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np

from ...utils.io import save_figure

__all__ = ["steps_to_within", "steps_to_reach", "recipe_labels", "recipes_markdown", "recipes_figure"]

#: settings that do not make a recipe (the step cap of a screening run)
_NOT_RECIPE = ("steps", "steps_ct", "methods", "problems")


def steps_to_within(entry: dict, db: float = 1.0) -> Optional[int]:
    """The first validation step at which the held-out PSNR came within ``db`` dB of the run's own final value (the
    end of its cool-down, or its value at the step cap). None for an entry without a curve."""
    curve = entry.get("curve") or []
    if not curve:
        return None
    final = curve[-1][1]
    return next(int(s) for s, p in curve if p >= final - db)


def steps_to_reach(entry: dict, target: float) -> Optional[int]:
    """The first validation step at which the held-out PSNR reached ``target`` dB (None: never)."""
    return next((int(s) for s, p in entry.get("curve") or [] if p >= target), None)


def recipe_labels(docs: Dict[str, dict], key: str) -> Dict[str, str]:
    """``{name: label}``: the first file keeps its name; every other is labelled by the settings of its entry ``key``
    in which it differs from the first's (its name when it differs in none; a setting the first file does not record
    is not compared), e.g. ``'batch_size 8, lr 0.002'``."""
    settings = {name: {**doc.get("config", {}), **doc["entries"].get(key, {}).get("settings", {})}
                for name, doc in docs.items()}
    first = next(iter(settings.values()))
    out = {}
    for i, (name, cfg) in enumerate(settings.items()):
        diff = [f"{k} {cfg[k]:g}" if isinstance(cfg[k], float) else f"{k} {cfg[k]}" for k in cfg
                if k not in _NOT_RECIPE and k in first and cfg[k] != first[k]]
        out[name] = name if i == 0 or not diff else ", ".join(diff)
    return out


def _entry(doc: dict, label: str, key: str) -> dict:
    e = doc["entries"].get(key)
    if e is None:
        raise ValueError(f"results file {label!r} has no entry {key!r} (it has {sorted(doc['entries'])})")
    if not e.get("curve"):
        raise ValueError(f"entry {key!r} of {label!r} has no learning curve")
    return e


def recipes_markdown(docs: Dict[str, dict], key: str, db: float = 1.0, test_set: str = "test",
                     labels: Optional[Dict[str, str]] = None) -> str:
    """The recipes ``{name: doc}`` compared on ``key``: steps, wall time and CPU time (both pro rata of the run's
    steps; CPU time is the fairer where runs shared the machine) until the held-out PSNR reaches the first recipe's
    final value minus ``db``, relative to the first recipe; steps until it is within ``db`` dB of its own final value
    (relative too); the final held-out and the test PSNR."""
    labels = labels or {k: k for k in docs}
    entries = {k: _entry(d, labels.get(k, k), key) for k, d in docs.items()}
    first = next(iter(entries.values()))
    target = first["curve"][-1][1] - db
    rows = [f"| recipe | steps to {target:.2f} dB | × first | wall min to it | × first | CPU min to it | × first | "
            f"steps to within {db:g} dB of its final | × first | final held-out PSNR | {test_set} PSNR | steps | "
            "converged |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    base: Optional[Tuple[Optional[int], Optional[float], Optional[float], int]] = None
    for k, e in entries.items():
        r = steps_to_reach(e, target)
        wall, cpu = ((None, None) if r is None else
                     (e[f] * r / max(e["steps"], 1) / 60.0 for f in ("train_seconds", "cpu_seconds")))
        s = steps_to_within(e, db) or 0
        base = base or (r, wall, cpu, s)
        b0, b1, b2, b3 = base
        rel = lambda v, b: "" if v is None or not b else f"{v / b:.2f}"  # noqa: E731
        rows.append(f"| {labels.get(k, k)} | {'never' if r is None else r} | {rel(r, b0)} | "
                    f"{'' if wall is None else f'{wall:.1f}'} | {rel(wall, b1)} | "
                    f"{'' if cpu is None else f'{cpu:.1f}'} | {rel(cpu, b2)} | {s} | {rel(s, b3)} | "
                    f"{e['curve'][-1][1]:.2f} | {e['psnr'][test_set][0]:.2f} | {e['steps']} | "
                    f"{'yes' if e['converged'] else 'no'} |")
    return "\n".join(rows) + "\n"


def recipes_figure(path: str, docs: Dict[str, dict], key: str, db: float = 1.0,
                   labels: Optional[Dict[str, str]] = None) -> None:
    """Held-out PSNR vs steps (log-x) of every recipe on ``key``, the first recipe's final value minus ``db``
    dotted; saved atomically."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    labels = labels or {k: k for k in docs}
    entries = {k: _entry(d, labels.get(k, k), key) for k, d in docs.items()}
    target = next(iter(entries.values()))["curve"][-1][1] - db
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    lo = []
    for i, (k, e) in enumerate(entries.items()):
        c = np.asarray([pt for pt in e["curve"] if pt[0] > 0], dtype=float)
        ax.plot(c[:, 0], c[:, 1], color=f"C{i}", lw=1.4, label=labels.get(k, k))
        lo.append(float(np.percentile(c[:, 1], 5)))
    ax.axhline(target, color="k", ls=":", lw=1.0, label=f"{labels.get(next(iter(entries)), 'first')}'s final "
                                                         f"− {db:g} dB")
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    top = max(max(pt[1] for pt in e["curve"]) for e in entries.values())
    ax.set_ylim(min(lo + [target]) - 0.5, top + 0.5)
    ax.set_xlabel("training steps")
    ax.set_ylabel("held-out PSNR (dB)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"Training recipes: {key}")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
