"""Pages that quote converged results files: a marked block in a Markdown page is generated from the JSON file it
names, so the pages and the README quote the files, never hand-copied numbers.

A block is two HTML comments around generated Markdown::

    <!-- results: docs/results/ei-table1.json table -->
    ... (generated) ...
    <!-- /results -->

The file path is relative to the repository root (the folder holding ``docs/``); the kind is ``table`` (the table,
the gaps, core-hours and the learning-curve figures: `converged.report`), ``headline`` (one line of gaps per
problem, for the README) or ``recipes ENTRY`` with comma-separated paths, each ``PATH`` or ``LABEL=PATH`` (training
recipes compared on one entry: `recipes.recipes_markdown`; the first is named by its label or file name, the others
by the settings in which they differ from the first).
``python -m equinet.experiments.reproduce.results_pages PAGE ...`` rewrites the blocks; ``--check`` only reports
pages whose blocks differ from their files (exit 1), as the test suite does.

>>> doc = {"entries": {"ct/ei": {"problem": "ct", "method": "ei", "psnr": {"test": [36.0, 1.0]}, "converged": True},
...        "ct/pinv": {"problem": "ct", "method": "pinv", "psnr": {"test": [30.5, 1.0]}, "converged": True}},
...        "gaps": [{"problem": "ct", "gap": "EI − A†y", "measured": 5.5, "paper": 6.7}]}
>>> print(headline(doc, "ei-table1"))
- ei-table1, ct: EI − A†y **+5.50 dB** (paper +6.70); PSNR A†y 30.50, EI 36.00 dB; every method converged
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Tuple

from ...utils.io import write_bytes
from .converged import load_results, report
from .labels import LABELS
from .recipes import recipe_labels, recipes_markdown

__all__ = ["BLOCK", "COMPACT", "headline", "render", "sync_page", "main"]

#: a results file of more problems than this gets a compact headline (one bullet per gap, not per problem)
COMPACT = 4

#: a results block: ``<!-- results: PATH KIND -->`` ... ``<!-- /results -->``
BLOCK = re.compile(r"(<!-- results: (?P<path>\S+) (?P<kind>table|headline|recipes (?P<entry>\S+)) -->\n)"
                   r"(?P<body>.*?)(?P<end><!-- /results -->)", re.S)


def headline(doc: dict, name: str) -> str:
    """One Markdown bullet per problem: its measured gaps (bold) beside the paper's, and how many methods converged;
    a file of more than `COMPACT` problems (a series, such as family sizes) gets one bullet per gap instead."""
    problems = list(dict.fromkeys(e["problem"] for e in doc["entries"].values()))
    if len(problems) > COMPACT:
        lines = []
        for gap in dict.fromkeys(g["gap"] for g in doc.get("gaps", [])):
            vals = ", ".join(f"{g['problem']} **{g['measured']:+.2f}**" for g in doc["gaps"] if g["gap"] == gap)
            lines.append(f"- {name}: {gap} (dB) {vals}")
        capped = sorted({f"{e['problem']}/{LABELS.get(e['method'], e['method'])}" for e in doc["entries"].values()
                         if not e["converged"]})
        lines.append(f"- {name}: " + ("every method converged" if not capped else
                                        f"not converged at the step cap: {', '.join(capped)}"))
        return "\n".join(lines)
    lines = []
    for p in problems:
        es = [e for e in doc["entries"].values() if e["problem"] == p]
        gaps = [g for g in doc.get("gaps", []) if g["problem"] == p]
        text = "; ".join(f"{g['gap']} **{g['measured']:+.2f} dB**" +
                         ("" if g["paper"] is None else f" (paper {g['paper']:+.2f})") for g in gaps)
        rank = {m: i for i, m in enumerate(LABELS)}
        es.sort(key=lambda e: rank.get(e["method"], len(rank)))
        paper = doc.get("paper", {}).get(p, {})
        psnr = ", ".join(f"{LABELS.get(e['method'], e['method'])} {e['psnr']['test'][0]:.2f}" +
                         (f" ({paper[e['method']]:.2f})" if e["method"] in paper else "") for e in es)
        capped = [LABELS.get(e["method"], e["method"]) for e in es if not e["converged"]]
        cap = doc.get("config", {}).get("steps")
        tail = "every method converged" if not capped else \
            f"not converged{f' at the {cap}-step cap' if cap else ''}: {', '.join(capped)}"
        lines.append(f"- {name}, {p}: {text + '; ' if text else ''}PSNR{' (paper)' if paper else ''} {psnr} dB; "
                     f"{tail}")
    return "\n".join(lines)


def _name(item: str) -> str:
    """A recipe's name: ``LABEL=PATH`` gives LABEL, a plain path its file name without ``.json``."""
    return item.split("=", 1)[0] if "=" in item else os.path.splitext(os.path.basename(item))[0]


def _load(root: str, results: str) -> dict:
    doc = load_results(os.path.join(root, results))
    if doc is None:
        raise ValueError(f"the block names {results!r}, but there is no such results file under {root!r}")
    return doc


def render(kind: str, results: str, root: str, page_dir: str) -> str:
    """The generated body of a block of ``kind`` for the results file ``results`` (relative to ``root``), as seen
    from a page in ``page_dir`` (figure links are relative to it)."""
    if kind.startswith("recipes "):
        docs = {_name(f): _load(root, f.split("=", 1)[-1]) for f in results.split(",")}
        entry = kind.split(" ", 1)[1]
        return recipes_markdown(docs, entry, labels=recipe_labels(docs, entry))
    path = os.path.join(root, results)
    doc = _load(root, results)
    if kind == "headline":
        return headline(doc, doc.get("name", os.path.basename(results))) + "\n"
    stem = path[:-5] if path.endswith(".json") else path
    figs = [f"{stem}_{p}.png" for p in dict.fromkeys(e["problem"] for e in doc["entries"].values())]
    links = [f"![learning curves: {os.path.basename(f)[:-4]}]({os.path.relpath(f, page_dir)})" for f in figs
             if os.path.exists(f)]
    return report(doc) + ("\n" + "\n".join(links) + "\n" if links else "")


def sync_page(page: str, root: Optional[str] = None, check: bool = False) -> Tuple[bool, List[str]]:
    """Regenerate every results block of ``page`` (``root``: the repository root, default the page's folder's parent
    when the page lies in ``docs/``, else its folder). Returns ``(changed, names of the files quoted)``; with
    ``check`` nothing is written."""
    page_dir = os.path.dirname(os.path.abspath(page))
    if root is None:
        root = os.path.dirname(page_dir) if os.path.basename(page_dir) == "docs" else page_dir
    with open(page, encoding="utf-8") as f:
        text = f.read()
    quoted: List[str] = []

    def fill(m: re.Match) -> str:
        quoted.extend(f.split("=", 1)[-1] for f in m.group("path").split(","))
        return m.group(1) + render(m.group("kind"), m.group("path"), root, page_dir) + m.group("end")

    new = BLOCK.sub(fill, text)
    changed = new != text
    if changed and not check:
        write_bytes(page, new.encode("utf-8"))
    return changed, quoted


def main(argv=None) -> int:
    """``python -m equinet.experiments.reproduce.results_pages [--check] PAGE ...``"""
    from ...utils.cli import Parser, user_input
    ap = Parser(prog="python -m equinet.experiments.reproduce.results_pages",
                description="Regenerate the results blocks of Markdown pages from the JSON files they name.")
    ap.add_argument("pages", nargs="+", help="Markdown pages (e.g. README.md docs/reproduce_ei_table1.md)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is out of date")
    a = ap.parse_args(argv)
    stale = []
    with user_input():
        for page in a.pages:
            if not os.path.isfile(page):
                raise ValueError(f"no page at {page!r}")
            changed, quoted = sync_page(page, check=a.check)
            if changed:
                stale.append(page)
            print(f"{page}: {len(quoted)} block(s){' out of date' if changed and a.check else ''}"
                  f"{' rewritten' if changed and not a.check else ''}")
    return 1 if a.check and stale else 0


if __name__ == "__main__":
    from ...utils.cli import run_command
    raise SystemExit(run_command(main, prog="python -m equinet.experiments.reproduce.results_pages"))
