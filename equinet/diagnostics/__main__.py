"""The Corollary-1 table: ranks of A and M for CT, MRI, blur and inpainting with shifts and rotations, exactly
(small sizes) and by matrix-free probing (larger sizes), with timings.

    python -m equinet.diagnostics [--exact 32] [--probe 32 64 128] [--json out.json]

With the defaults it took 14 min on a busy 2-core machine, most of it in the 128x128 probes; --probe 32 64
is much quicker.
"""
from __future__ import annotations

import time

import torch

from .. import groups, physics
from ..utils.io import write_json
from .rank import DEFAULT_PROBE_RTOL, rank_condition

BINOMIAL = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])) / 16


def cyclic_shifts(size: int, count: int = 8, seed: int = 0):
    """``count`` circular shifts (torch.roll), the first one the identity, the others drawn from ``seed``."""
    g = torch.Generator().manual_seed(seed)
    offs = [(0, 0)] + [tuple(int(v) for v in torch.randint(0, size, (2,), generator=g)) for _ in range(count - 1)]
    return [lambda x, s=s: torch.roll(x, s, dims=(-2, -1)) for s in offs]


def cases(N: int):
    """(label, operator, transforms, expected) — expected: 'equal' (rank M = rank A), 'gain' or 'full'."""
    S, C4 = cyclic_shifts(N), groups.cyclic(4)
    return [
        ("CT 7 views + 8 shifts", physics.Radon(N, angles=7, circle=False), S, "see note"),
        ("CT 2 views (0°, 90°) + 8 shifts", physics.Radon(N, angles=[0.0, 90.0], circle=True), S, "equal"),
        ("CT 7 views + C4", physics.Radon(N, angles=7, circle=False), C4, "gain"),
        ("CT 8 views + C4", physics.Radon(N, angles=8, circle=False), C4, "equal"),
        ("MRI 4x + 8 shifts", physics.MRI(N, acceleration=4), S, "equal"),
        ("MRI 4x + C4", physics.MRI(N, acceleration=4), C4, "gain"),
        ("blur (binomial) + 8 shifts", physics.Blur(BINOMIAL, image_size=N), S, "equal"),
        ("inpainting 30% + 8 shifts", physics.Inpainting(N, drop=0.3), S, "full"),
        ("inpainting 30% + C4", physics.Inpainting(N, drop=0.3), C4, "gain"),
    ]


#: the largest image side of the exact route (n = side² <= 4096 unknowns, dense float64 Gram matrices)
MAX_EXACT = 64
MIN_SIZE = 8


def build_parser():
    from ..utils.cli import Parser
    ap = Parser(prog="python -m equinet.diagnostics", description=__doc__)
    ap.add_argument("--exact", type=int, nargs="*", default=[32],
                    help=f"image sides for the exact route ({MIN_SIZE} to {MAX_EXACT}; none: skip it)")
    ap.add_argument("--probe", type=int, nargs="*", default=[32, 64, 128],
                    help=f"image sides for the probing route (>= {MIN_SIZE}, bounded by memory; none: skip it)")
    ap.add_argument("--json", default=None, help="also write the rows to this JSON file")
    return ap


def check_sizes(exact, probe) -> None:
    """Refuse sizes the routes cannot run (``ValueError`` naming the flag), before any work."""
    from ..utils.checks import check_memory
    for flag, sizes in (("--exact", exact), ("--probe", probe)):
        for n in sizes:
            if n < MIN_SIZE or (flag == "--exact" and n > MAX_EXACT):
                top = f" to {MAX_EXACT}" if flag == "--exact" else " or more"
                raise ValueError(f"{flag} {n}: image sides must be {MIN_SIZE}{top}")
            if flag == "--probe":  # probes x transforms x Lanczos vectors of n² float64, and CT matrices
                check_memory(4096.0 * n * n, f"{flag} {n} ({n}x{n} images)")


def main(argv=None):
    from ..utils.cli import check_writable_file, user_input
    a = build_parser().parse_args(argv)
    with user_input():
        check_sizes(a.exact, a.probe)
        if a.json:
            check_writable_file(a.json, "--json")
    rows = []
    print("| operator + transforms | size | method (rtol) | n | rank A | rank M | rank M − rank A | expected | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    pm = (lambda s: f" ± {s:.0f}" if s else "")  # noqa: E731

    def emit(label, N, method, rtol, n, rA, rM, eA, eM, eG, expected, secs):
        print(f"| {label} | {N}² | {method} ({rtol:g}) | {n} | {rA:.0f}{pm(eA)} | {rM:.0f}{pm(eM)} | "
              f"{int(round(rM - rA))}{pm(eG)} | {expected} | {secs:.1f} |", flush=True)
        rows.append({"case": label, "size": N, "method": method, "rtol": rtol, "n": n, "rank_A": rA, "rank_M": rM,
                     "rank_A_stderr": eA, "rank_M_stderr": eM, "gain_stderr": eG, "expected": expected,
                     "seconds": secs})

    for method, sizes in (("exact", a.exact), ("probe", a.probe)):
        for N in sizes:
            for label, A, T, expected in cases(N):
                t0 = time.perf_counter()
                r = rank_condition(A, T, method=method)
                secs = time.perf_counter() - t0
                emit(label, N, r.method, r.rtol, r.n, r.rank_A, r.rank_M, r.rank_A_stderr, r.rank_M_stderr,
                     r.details.get("gain_stderr", 0.0), expected, secs)
                if method == "exact":  # the same singular values read at the probing tolerance, for comparison
                    sA, sM = r.details["sv_A"], r.details["sv_M"]
                    rA = int((sA > DEFAULT_PROBE_RTOL * sA.max()).sum())
                    rM = int((sM > DEFAULT_PROBE_RTOL * sM.max()).sum())
                    emit(label, N, "exact", DEFAULT_PROBE_RTOL, r.n, rA, rM, 0.0, 0.0, 0.0, expected, 0.0)
    if a.json:
        write_json(a.json, rows)


if __name__ == "__main__":
    import sys

    from ..utils.cli import run_command
    sys.exit(run_command(main, prog="python -m equinet.diagnostics"))
