"""Run every proof script and print a summary table; exit status 1 if any claim fails or any control passes.

    python -m proofs [--quiet] [--only 1,8,11] [--readme]

``--readme`` rewrites the table of measured values in ``proofs/README.md`` (atomically).
"""
from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

#: (claim number, script, arguments used by this runner and by the test suite)
SCRIPTS = [
    (1, "equivariance_of_convolutions.py", []),
    (2, "kernel_constraint.py", []),
    (3, "norm_nonlinearity.py", []),
    (4, "scaling_homogeneity.py", []),
    (5, "prox_of_invariant_regulariser.py", ["--size", "16", "--iters", "1500"]),
    (6, "mmse_denoiser.py", []),
    (7, "measurement_consistency_nullspace.py", []),
    (8, "rank_condition.py", []),
    (9, "permutation_toy.py", []),
    (10, "irrep_multiplicities.py", []),
    (11, "sure_and_ei.py", []),
]
TABLE_START, TABLE_END = "<!-- proofs table: start -->", "<!-- proofs table: end -->"


def run_script(script: str, args: list, quiet: bool = False):
    """Run one script's ``main(args)`` in this process: (exit status, its Claim or None, seconds, output)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import _common
    before = len(_common.REGISTRY)
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf) if quiet else contextlib.nullcontext():
        mod = runpy.run_path(os.path.join(HERE, script), run_name="proof")
        status = int(mod["main"](list(args)))
    claim = _common.REGISTRY[-1] if len(_common.REGISTRY) > before else None
    return status, claim, time.perf_counter() - t0, buf.getvalue()


def fmt(pair):
    return "—" if pair is None else f"{pair[0]:.2e} (tol {pair[1]:.0e})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(rows) -> str:
    lines = ["| # | script | claim | source | checks / controls | worst check (tolerance) | closest control "
             "(must exceed) | status | s |", "|---|---|---|---|---|---|---|---|---|"]
    for num, script, status, claim, secs in rows:
        if claim is None:
            lines.append(f"| {num} | `{script}` | — | — | — | — | — | {'PASS' if status == 0 else 'FAIL'} | "
                         f"{secs:.1f} |")
            continue
        n_c = sum(r[0] == "claim" for r in claim.rows)
        n_k = sum(r[0] == "control" for r in claim.rows)
        lines.append(f"| {num} | `{script}` | {_cell(claim.title)} | {_cell(claim.source)} | {n_c} / {n_k} | "
                     f"{fmt(claim.worst('claim'))} | {fmt(claim.worst('control'))} | "
                     f"{'PASS' if status == 0 else 'FAIL'} | {secs:.1f} |")
    return "\n".join(lines)


def write_readme(text: str) -> None:
    sys.path.insert(0, os.path.join(HERE, ".."))
    from equinet.utils.io import atomic_path
    path = os.path.join(HERE, "README.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if TABLE_START not in doc or TABLE_END not in doc:
        raise ValueError(f"{path} has no {TABLE_START} ... {TABLE_END} section to update")
    head, rest = doc.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(head + TABLE_START + "\n" + text + "\n" + TABLE_END + tail)


def build_parser():
    sys.path.insert(0, os.path.join(HERE, ".."))
    from equinet.utils.cli import Parser
    ap = Parser(prog="python -m proofs", description=__doc__)
    ap.add_argument("--quiet", action="store_true", help="print only the summary table")
    ap.add_argument("--only", default=None,
                    help=f"comma-separated claim numbers, each in 1-{len(SCRIPTS)} (default: every claim)")
    ap.add_argument("--readme", action="store_true", help="write the table into proofs/README.md")
    return ap


def parse_only(text):
    """The claim numbers of ``--only`` (None: all); ``ValueError`` naming the value for anything unknown."""
    if text is None:
        return None
    known = [num for num, _, _ in SCRIPTS]
    out = set()
    for s in text.split(","):
        s = s.strip()
        if not s.isdigit() or int(s) not in known:
            raise ValueError(f"--only {text!r}: {s!r} is not a claim number; expected numbers in 1-{max(known)} "
                             "separated by commas")
        out.add(int(s))
    return out


def main(argv=None) -> int:
    ap = build_parser()
    from equinet.utils.cli import user_input
    a = ap.parse_args(argv)
    with user_input():
        only = parse_only(a.only)
    rows, t0 = [], time.perf_counter()
    for num, script, args in SCRIPTS:
        if only is not None and num not in only:
            continue
        status, claim, secs, _ = run_script(script, args, quiet=a.quiet)
        rows.append((num, script, status, claim, secs))
        if not a.quiet:
            print()
    text = table(rows)
    failed = [r[1] for r in rows if r[2] != 0]
    print(text)
    print(f"\n{len(rows) - len(failed)}/{len(rows)} claims verified in {time.perf_counter() - t0:.1f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if a.readme:
        write_readme(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(HERE, ".."))
    from equinet.utils.cli import run_command
    sys.exit(run_command(main, prog="python -m proofs"))
