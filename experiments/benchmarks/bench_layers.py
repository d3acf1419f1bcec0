"""Layer and network benchmarks (issue #3, item 8): ratios measured in one run.

1. forward + backward step of SteerableConv2d vs plain nn.Conv2d of the same channel count and vs escnn's R2Conv
   (C8, 16 regular fields, k = 5, 64x64);
2. eval-mode (cached filter) and exported forward vs plain nn.Conv2d;
3. building a 20-layer C8 network (16 regular fields, k = 5), cold caches, vs escnn;
4. off-grid (45°) equivariance error of a C8 lifting + group-conv stack vs the escnn equivalent, identical smooth
   analytic inputs (the protocol of docs/testing.md: inputs sampled exactly on the rotated grid, outputs rotated
   with the band-limited Fourier method, errors read on a central disk);
5. inference of an equivariant prox net vs group averaging (Reynolds average over |G| transformed inputs) of a
   plain net of the same width: time ratio and equivariance error.

    python experiments/benchmarks/bench_layers.py [--batch 2] [--size 64] [--repeats 10] [--json out.json]

escnn is optional: without it the escnn columns are skipped. No assertions on time: the output is the result.
"""
from __future__ import annotations

import argparse
import copy
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from equinet import groups, kernels  # noqa: E402
from equinet import nn as enn  # noqa: E402
from equinet.nets import NetSpec, build  # noqa: E402
from equinet.utils import write_json  # noqa: E402

warnings.filterwarnings("ignore")


def timeit(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def timeit_interleaved(fns, repeats, warmup=2, clock=time.perf_counter):
    """Median time of each callable, measured round-robin so that drifts of the machine's load hit every candidate
    alike; the ratios are then far more stable than block-wise timings. Each round starts one candidate later
    (a, b, c; b, c, a; c, a, b; ...): what a call leaves behind (e.g. the allocator's free lists, which decide
    whether the next call's buffers need fresh pages) then affects every candidate alike, instead of always the one
    that follows it."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    ts = [[] for _ in fns]
    n = len(fns)
    for r in range(repeats):
        for j in range(n):
            i = (r + j) % n
            t = clock()
            fns[i]()
            ts[i].append(clock() - t)
    return [statistics.median(t) for t in ts]


def have_escnn():
    try:
        import escnn  # noqa: F401
        return True
    except ImportError:
        return False


def bench_conv(args, res):
    G = groups.cyclic(8)
    ft = enn.FieldType.regular(G, 16)
    C = ft.size
    x = torch.randn(args.batch, C, args.size, args.size)
    ours = enn.SteerableConv2d(ft, ft, 5)
    plain = torch.nn.Conv2d(C, C, 5, padding=2)

    def step(m, inp):
        def f():
            m.zero_grad(set_to_none=True)
            m(inp).square().mean().backward()
        return f

    fns = [step(plain, x), step(ours, x)]
    if have_escnn():
        from escnn import gspaces, nn as esn
        gs = gspaces.rot2dOnR2(8)
        eft = esn.FieldType(gs, 16 * [gs.regular_repr])
        econv = esn.R2Conv(eft, eft, 5, padding=2)
        ex = esn.GeometricTensor(x, eft)

        def estep():
            econv.zero_grad(set_to_none=True)
            econv(ex).tensor.square().mean().backward()
        fns.append(estep)
    times = timeit_interleaved(fns, args.repeats)
    t_plain, t_ours = times[:2]
    res["train_step_plain_s"], res["train_step_equinet_s"] = t_plain, t_ours
    print(f"[1] fwd+bwd, C8 16 regular fields (128 ch), k=5, {args.size}x{args.size}, batch {args.batch}, median of "
          f"{args.repeats} interleaved runs")
    print(f"    nn.Conv2d {t_plain * 1e3:8.1f} ms | equinet {t_ours * 1e3:8.1f} ms  ratio equinet/plain "
          f"{t_ours / t_plain:.3f}")
    if len(times) > 2:
        t_esc = times[2]
        res["train_step_escnn_s"] = t_esc
        print(f"    escnn R2Conv {t_esc * 1e3:8.1f} ms  ratio escnn/plain {t_esc / t_plain:.3f}")

    ours.eval()
    exported = ours.export().eval()
    with torch.no_grad():
        t_pe, t_oe, t_xe = timeit_interleaved([lambda: plain(x), lambda: ours(x), lambda: exported(x)],
                                              args.repeats)
    res.update(eval_plain_s=t_pe, eval_equinet_s=t_oe, eval_exported_s=t_xe)
    print(f"[2] inference (no_grad): plain {t_pe * 1e3:.1f} ms | equinet eval {t_oe * 1e3:.1f} ms (ratio "
          f"{t_oe / t_pe:.3f}) | exported {t_xe * 1e3:.1f} ms (ratio {t_xe / t_pe:.3f})")


def bench_build(args, res):
    def build_ours():
        kernels.clear_cache()
        G = groups.cyclic(8)
        ft, fin = enn.FieldType.regular(G, 16), enn.FieldType.trivial(G, 1)
        layers = [enn.SteerableConv2d(fin, ft, 5), enn.ReLU(ft)]
        for _ in range(18):
            layers += [enn.SteerableConv2d(ft, ft, 5), enn.ReLU(ft)]
        layers.append(enn.SteerableConv2d(ft, fin, 5))
        return enn.EquivariantSequential(*layers)

    t0 = time.perf_counter()
    build_ours()
    t_ours = time.perf_counter() - t0
    res["build20_equinet_s"] = t_ours
    line = f"[3] build a 20-layer C8 network (16 regular fields, k=5), cold caches: equinet {t_ours:.3f} s"
    if have_escnn():
        from escnn import gspaces, nn as esn
        t0 = time.perf_counter()
        gs = gspaces.flipRot2dOnR2(8)  # a group escnn has not cached in this process
        ft, fin = esn.FieldType(gs, 16 * [gs.regular_repr]), esn.FieldType(gs, [gs.trivial_repr])
        layers = [esn.R2Conv(fin, ft, 5), esn.ReLU(ft)]
        for _ in range(18):
            layers += [esn.R2Conv(ft, ft, 5), esn.ReLU(ft)]
        layers.append(esn.R2Conv(ft, fin, 5))
        esn.SequentialModule(*layers)
        t_esc_d8 = time.perf_counter() - t0
        t0 = time.perf_counter()
        gs = gspaces.rot2dOnR2(8)
        ft, fin = esn.FieldType(gs, 16 * [gs.regular_repr]), esn.FieldType(gs, [gs.trivial_repr])
        layers = [esn.R2Conv(fin, ft, 5), esn.ReLU(ft)]
        for _ in range(18):
            layers += [esn.R2Conv(ft, ft, 5), esn.ReLU(ft)]
        layers.append(esn.R2Conv(ft, fin, 5))
        esn.SequentialModule(*layers)
        t_esc = time.perf_counter() - t0
        res["build20_escnn_s"] = t_esc
        line += f" | escnn {t_esc:.3f} s (ratio escnn/equinet {t_esc / t_ours:.1f}x; escnn D8 first build {t_esc_d8:.2f} s)"
    print(line)


def offgrid_error(f, angle=math.pi / 4, size=49, seeds=(0, 1, 2)):
    """Mean 45° relative error of a scalar-image -> scalar-image callable, measured with equinet.testing
    (smooth analytic inputs sampled exactly on the rotated grid; outputs rotated band-limited; central disk)."""
    from equinet.testing import check_equivariance

    class Wrap(torch.nn.Module):
        def forward(self, u):
            return f(u)

    g = groups.so2(4).element(angle)
    errs = [check_equivariance(Wrap(), None, None, elements=[g], channels=1, image_size=size, input="smooth",
                               seed=s).max_error() for s in seeds]
    return float(np.mean(errs))


def bench_offgrid(args, res):
    """lifting (k=5) -> ReLU -> group conv (k=5) -> mean group pooling, C8 with 8 regular fields, 45°.

    Measured exactly (no interpolation): every layer of the stack is evaluated at arbitrary points on the analytic
    input (equinet.kernels.diagnostics.stack_equivariance_error); both libraries' expanded filters, same inputs.
    The same stack with other nonlinearities (ELU, softplus, tanh, none) is measured too: it separates the kernels'
    own sampling error from the error that the ReLU's kinks cause in the second convolution."""
    from equinet.kernels.diagnostics import stack_equivariance_error
    seeds = range(args.offgrid_seeds)
    G = groups.cyclic(8)
    g = G.element(steps=1)
    fin, ft = enn.FieldType.trivial(G, 1), enn.FieldType.regular(G, 8)
    relu = lambda a: np.maximum(a, 0.0)  # noqa: E731
    acts = {"relu": relu, "elu": lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0.0))),
            "softplus": lambda a: np.logaddexp(0.0, a), "tanh": np.tanh, "none": lambda a: a}
    pool = np.kron(np.eye(8), np.ones((1, 8)) / 8)  # mean over each regular field
    errs = {(lib, act): [] for lib in ("equinet", "escnn") for act in acts}

    def measure(lib, W1, W2, s):
        for act, f in acts.items():
            errs[(lib, act)].append(stack_equivariance_error([W1, np.einsum("pc,cikl->pikl", pool, W2)], f, g.matrix,
                                                             np.eye(1), np.eye(8), seed=100 + s))
    for s in seeds:
        torch.manual_seed(s)
        c1, c2 = enn.SteerableConv2d(fin, ft, 5), enn.SteerableConv2d(ft, ft, 5)
        measure("equinet", c1.expand()[0].detach().double().numpy(), c2.expand()[0].detach().double().numpy(), s)
        if have_escnn():
            from escnn import gspaces, nn as esn
            gs = gspaces.rot2dOnR2(8)
            efin, eft = esn.FieldType(gs, [gs.trivial_repr]), esn.FieldType(gs, 8 * [gs.regular_repr])
            e1, e2 = esn.R2Conv(efin, eft, 5, padding=2), esn.R2Conv(eft, eft, 5, padding=2)
            measure("escnn", e1.expand_parameters()[0].detach().double().numpy(),
                    e2.expand_parameters()[0].detach().double().numpy(), s)
    mean = {k: float(np.mean(v)) for k, v in errs.items() if v}
    res["offgrid45_stack_equinet"] = mean[("equinet", "relu")]
    line = (f"[4] C8 lifting + ReLU + group conv + mean pooling, 45°, smooth inputs, exact evaluation, {len(seeds)} "
            f"seeds: equinet {mean[('equinet', 'relu')]:.2e} (per seed "
            f"{' '.join(f'{e:.1e}' for e in errs[('equinet', 'relu')])})")
    if errs[("escnn", "relu")]:
        res["offgrid45_stack_escnn"] = mean[("escnn", "relu")]
        line += (f" | escnn {mean[('escnn', 'relu')]:.2e} (per seed "
                 f"{' '.join(f'{e:.1e}' for e in errs[('escnn', 'relu')])}) | ratio equinet/escnn "
                 f"{mean[('equinet', 'relu')] / mean[('escnn', 'relu')]:.2f}")
    print(line)
    for act in acts:  # the same stack with other nonlinearities (pointwise, so exactly C8-equivariant on the grid)
        res[f"offgrid45_stack_{act}_equinet"] = mean[("equinet", act)]
        line = f"    nonlinearity {act:9s} equinet {mean[('equinet', act)]:.2e}"
        if errs[("escnn", act)]:
            res[f"offgrid45_stack_{act}_escnn"] = mean[("escnn", act)]
            line += (f" | escnn {mean[('escnn', act)]:.2e} | ratio equinet/escnn "
                     f"{mean[('equinet', act)] / mean[('escnn', act)]:.2f}")
        print(line)
    if args.scan_prefilter:
        from equinet import kernels
        from equinet.kernels import SamplingRule
        for pf in (0.4, 0.55, 0.7, 1.0):
            rule = SamplingRule(prefilter=pf)
            B1 = kernels.steerable_basis(G.trivial, G.regular, 5, rule=rule).double().numpy()
            B2 = kernels.steerable_basis(G.regular, G.regular, 5, rule=rule).double().numpy()
            e = []
            for s in seeds:  # i.i.d. standard normal coefficients on the basis of every block
                rng = np.random.default_rng(s)
                W1 = np.concatenate([np.tensordot(rng.standard_normal(len(B1)), B1, axes=1) for _ in range(8)], 0)
                W2 = np.concatenate([np.concatenate([np.tensordot(rng.standard_normal(len(B2)), B2, axes=1)
                                                     for _ in range(8)], 1) for _ in range(8)], 0)
                e.append(stack_equivariance_error([W1, np.einsum("pc,cikl->pikl", pool, W2)], relu, g.matrix,
                                                  np.eye(1), np.eye(8), seed=100 + s))
            print(f"    pre-filter {pf:.2f} px: ReLU stack error {np.mean(e):.2e} (i.i.d. basis coefficients)")


def bench_reynolds(args, res):
    """Time and 45° error of a C8 DnCNN vs the group average (Reynolds operator) of a plain DnCNN of the same
    channel count; the error part is repeated for smooth activations (see part 4)."""
    G = groups.cyclic(8)
    x = torch.randn(args.batch, 1, args.size, args.size)

    def nets(activation):
        spec = NetSpec(G, width=4, depth=5, kernel_size=5, activation=activation)
        return build("dncnn", spec).eval(), build("dncnn", spec.translation_twin("width")).eval()

    def averaged(plain):
        return enn.GroupAveraged(plain, G, method="fourier")  # the Reynolds operator, equinet.nn.averaging

    torch.manual_seed(0)
    eq, plain = nets("relu")
    with torch.no_grad():
        t_eq, t_ra = timeit_interleaved([lambda: eq(x), lambda: averaged(plain)(x)], max(2, args.repeats // 4),
                                        warmup=1)
    res["reynolds_time_ratio"] = t_ra / t_eq
    print(f"[5] C8 DnCNN (width 4 fields = 32 ch) vs group-averaged plain DnCNN (32 ch, |G|=8 passes, Fourier "
          f"rotations): time {t_eq * 1e3:.1f} ms vs {t_ra * 1e3:.1f} ms (Reynolds/equinet {t_ra / t_eq:.1f}x)")
    n_init = 3
    for activation in ("relu", "elu", "softplus"):
        errs = []
        for seed in range(n_init):  # the error depends a lot on the initialisation: average over several
            torch.manual_seed(seed)
            eq, plain = nets(activation)
            eq64, pl64 = copy.deepcopy(eq).double(), copy.deepcopy(plain).double()
            errs.append((offgrid_error(eq64), offgrid_error(averaged(pl64))))
        e_eq, e_ra = (float(np.mean(v)) for v in zip(*errs))
        res[f"offgrid45_prox_{activation}_equinet"], res[f"offgrid45_prox_{activation}_reynolds"] = e_eq, e_ra
        print(f"    45° error, untrained, smooth inputs, {activation:8s} ({n_init} inits x 3 inputs): equinet "
              f"{e_eq:.2e} | Reynolds {e_ra:.2e} (ratio {e_eq / e_ra:.2f}); per init equinet "
              f"{' '.join(f'{a:.1e}' for a, _ in errs)}, Reynolds {' '.join(f'{b:.1e}' for _, b in errs)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--offgrid-seeds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    ap.add_argument("--only", default="12345", help="which parts to run, e.g. '14'")
    ap.add_argument("--scan-prefilter", action="store_true",
                    help="in part 4, also the ReLU-stack error for wider anti-aliasing pre-filters")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, escnn {'yes' if have_escnn() else 'no'}")
    res = {}
    parts = {"1": bench_conv, "3": bench_build, "4": bench_offgrid, "5": bench_reynolds}
    for k in args.only:
        if k in parts:
            parts[k](args, res)
    if args.json:
        write_json(args.json, res)


if __name__ == "__main__":
    main()
