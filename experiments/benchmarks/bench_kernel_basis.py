"""Kernel-basis benchmark: equinet vs escnn, in one run.

For each case (group, input field, output field, kernel size) it prints
  * the basis size of each library,
  * the cold build time of each: the group, its representations, the basis and one convolution layer on it
    (escnn's R2Conv, equinet's SteerableConv2d), in a fresh Python process per case and library (imports not
    timed; so neither library's caches help) and the ratio escnn / equinet,
  * the off-grid equivariance error of random kernels of each basis, measured without interpolation on analytic
    inputs (equinet.kernels.diagnostics), for 45° (C8, C16) and 22.5° (C16), smooth and sharp inputs, and the
    ratio equinet / escnn.

    python experiments/benchmarks/bench_kernel_basis.py [--trials 8] [--json out.json]
    python experiments/benchmarks/bench_kernel_basis.py --build-grid [--repeats 3] [--escnn-repeats 3]
        # cold layer build only, C8 / C16 / D8 regular->regular at k = 3, 5, 7, 9 (target: >= 10x faster)
    python experiments/benchmarks/bench_kernel_basis.py --scan-prefilter    # re-derive the AUTO_PREFILTER table
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from equinet import groups, kernels  # noqa: E402
from equinet.kernels.diagnostics import basis_equivariance_error, conv_equivariance_error  # noqa: E402
from equinet.utils.io import write_json  # noqa: E402

warnings.filterwarnings("ignore")


COLD = {
    "escnn": ("import time, warnings; warnings.filterwarnings('ignore'); from escnn import gspaces, nn as enn\n"
              "t = time.perf_counter(); gs = gspaces.{escnn_space}({N}); r = {{'trivial': gs.trivial_repr, "
              "'regular': gs.regular_repr}}\n"
              "enn.R2Conv(enn.FieldType(gs, [r['{a}']]), enn.FieldType(gs, [r['{b}']]), {k}, bias=False)\n"
              "print(time.perf_counter() - t)"),
    # the same work on both sides: the group, its representations, the basis and one layer built on it
    "equinet": ("import time, sys; sys.path.insert(0, {root!r}); from equinet import groups, nn as enn\n"
                "t = time.perf_counter(); G = groups.{family}({N})\n"
                "r = {{'trivial': G.trivial, 'regular': G.regular}}\n"
                "enn.SteerableConv2d(enn.FieldType(G, [r['{a}']]), enn.FieldType(G, [r['{b}']]), {k}, bias=False)\n"
                "print(time.perf_counter() - t)"),
}


def cold_build_time(lib, N, pair, k, repeats=3, flips=False):
    """Build time in fresh processes (the library is imported before the clock starts): the minimum over
    ``repeats`` processes, the estimate least disturbed by other load on a shared machine."""
    import subprocess
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    code = COLD[lib].format(N=N, a=pair[0], b=pair[1], k=k, root=root,
                            escnn_space="flipRot2dOnR2" if flips else "rot2dOnR2",
                            family="dihedral" if flips else "cyclic")
    ts = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
                .stdout.strip().splitlines()[-1]) for _ in range(repeats)]
    return float(np.min(ts))


def escnn_case(N, pair, k, trials, elements, kinds):
    import torch
    from escnn import gspaces, nn as enn
    gs = gspaces.rot2dOnR2(N)
    reps = {"trivial": gs.trivial_repr, "regular": gs.regular_repr}
    fi, fo = enn.FieldType(gs, [reps[pair[0]]]), enn.FieldType(gs, [reps[pair[1]]])
    conv = enn.R2Conv(fi, fo, k, bias=False)
    build = cold_build_time("escnn", N, pair, k)
    errs = {}
    for steps in elements:
        e = gs.fibergroup.element(steps)
        H = gs.basespace_action(e)
        for kind in kinds:
            vals = []
            for s in range(trials):
                torch.manual_seed(s)
                torch.nn.init.normal_(conv.weights)
                w = conv.expand_parameters()[0].detach().double().numpy()
                vals.append(conv_equivariance_error(w, fi.representation(e), fo.representation(e), H, kind,
                                                    seed=1000 + s))
            errs[(steps, kind)] = float(np.mean(vals))
    return conv.basisexpansion.dimension(), build, errs


def equinet_case(N, pair, k, trials, elements, kinds, repeats=5):
    G = groups.cyclic(N)
    reps = {"trivial": G.trivial, "regular": G.regular}
    ri, ro = reps[pair[0]], reps[pair[1]]
    B = kernels.steerable_basis_numpy(ri, ro, k)
    build = cold_build_time("equinet", N, pair, k)
    errs = {(steps, kind): basis_equivariance_error(B, ri, ro, G.element(steps=steps), kind, n_trials=trials)
            for steps in elements for kind in kinds}
    return B.shape[0], build, errs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--json", default=None, help="write the results to this JSON file (atomically)")
    ap.add_argument("--scan-prefilter", action="store_true")
    ap.add_argument("--build-grid", action="store_true", help="only the cold build times of the C8/C16/D8 grid")
    ap.add_argument("--repeats", type=int, default=5, help="cold processes per case for equinet (minimum)")
    ap.add_argument("--escnn-repeats", type=int, default=3, help="cold processes per case for escnn (minimum)")
    ap.add_argument("--grid-cases", default=None, help="only these grid cases, e.g. 'C16:7,D8:9'")
    args = ap.parse_args(argv)
    if args.scan_prefilter:
        return scan_prefilter(args.trials)
    if args.build_grid:
        return build_grid(args.repeats, args.escnn_repeats, args.json, args.grid_cases)
    try:
        import escnn  # noqa: F401
    except ImportError:
        sys.exit("escnn is not installed: pip install -e '.[escnn]' (needs gfortran)")
    kinds = ("smooth", "sharp")
    cases = [(8, ("trivial", "regular"), 5, (1,)), (8, ("regular", "regular"), 5, (1,)),
             (16, ("regular", "regular"), 5, (2, 1)), (8, ("regular", "regular"), 3, (1,)),
             (8, ("regular", "regular"), 7, (1,))]
    rows = []
    print(f"{'case':34s} {'n(eq)':>6s} {'n(escnn)':>8s} {'build eq':>9s} {'build escnn':>11s} {'speed-up':>8s}")
    for N, pair, k, els in cases:
        ne, te, ee = equinet_case(N, pair, k, args.trials, els, kinds)
        nx, tx, ex = escnn_case(N, pair, k, args.trials, els, kinds)
        name = f"C{N} {pair[0]}->{pair[1]} k={k}"
        print(f"{name:34s} {ne:6d} {nx:8d} {te * 1e3:7.2f}ms {tx * 1e3:9.1f}ms {tx / te:7.1f}x")
        for key in ee:
            deg = 360.0 * key[0] / N
            print(f"    {deg:5.1f}° {key[1]:6s}: error equinet {ee[key]:.2e}  escnn {ex[key]:.2e}  "
                  f"ratio {ee[key] / ex[key]:.2f}")
            rows.append(dict(case=name, angle_deg=deg, input=key[1], n_equinet=ne, n_escnn=nx,
                             build_equinet_s=te, build_escnn_s=tx, error_equinet=ee[key], error_escnn=ex[key]))
    if args.json:
        write_json(args.json, rows)


def build_grid(repeats, escnn_repeats, json_path=None, only=None):
    """Cold layer build, regular -> regular, C8 / C16 / D8 at k = 3, 5, 7, 9: equinet vs escnn in one run."""
    try:
        import escnn  # noqa: F401
    except ImportError:
        sys.exit("escnn is not installed: pip install -e '.[escnn]' (needs gfortran)")
    rows = []
    print(f"{'case':26s} {'build equinet':>14s} {'build escnn':>12s} {'speed-up':>9s}")
    for name, N, flips in (("C8", 8, False), ("C16", 16, False), ("D8", 8, True)):
        for k in (3, 5, 7, 9):
            if only and f"{name}:{k}" not in only.split(","):
                continue
            te = cold_build_time("equinet", N, ("regular", "regular"), k, repeats, flips)
            tx = cold_build_time("escnn", N, ("regular", "regular"), k, escnn_repeats, flips)
            case = f"{name} regular->regular k={k}"
            print(f"{case:26s} {te * 1e3:12.1f}ms {tx * 1e3:10.1f}ms {tx / te:8.1f}x", flush=True)
            rows.append(dict(case=case, build_equinet_s=te, build_escnn_s=tx, speedup=tx / te))
    print(f"smallest speed-up: {min(r['speedup'] for r in rows):.1f}x (target >= 10x)")
    if json_path:
        write_json(json_path, rows)


def scan_prefilter(trials):
    G = groups.cyclic(8)
    g = G.element(steps=1)
    for k in (3, 4, 5, 6, 7, 9):
        row = []
        for pf in np.arange(0.25, 0.551, 0.025):
            rule = kernels.SamplingRule(prefilter=float(pf))
            e = [basis_equivariance_error(kernels.steerable_basis_numpy(a, b, k, rule=rule), a, b, g, "smooth",
                                          n_trials=trials) for a, b in ((G.trivial, G.regular),
                                                                        (G.regular, G.regular))]
            row.append((round(float(pf), 3), float(np.mean(e))))
        best = min(row, key=lambda t: t[1])
        print(f"k={k}: best prefilter {best[0]} (error {best[1]:.2e}); " +
              " ".join(f"{p}:{e:.1e}" for p, e in row), flush=True)


if __name__ == "__main__":
    main()
