"""Per-sample transforms benchmark (issue 8, item 5), ratios measured in one run.

A batch of 64 x 1 x 64 x 64 images, one random parameter per image:

1. any-angle rotation, bilinear: equinet ``Rotate().apply`` (one ``grid_sample`` with a per-sample affine grid)
   vs a per-image loop of ``equinet.groups.act`` (the baseline the issue names; target: >= 5x faster), a per-image
   loop of ``Rotate.apply`` itself (same code, batch of one), and vs
   deepinv 0.5's ``Rotate`` (bilinear) where installed: looped per image (per-sample semantics) and, for
   reference, applied once to the whole batch with one angle (its native per-batch behaviour);
2. any-angle rotation, band-limited 'fourier': per-sample three-shear rotation vs a per-image loop of ``act``;
3. exact elements of D4: one gather of precomputed pixel permutations vs a per-image loop of ``act``;
4. integer circular shifts: one gather vs a per-image loop of ``torch.roll``.

Timings are medians of interleaved rounds (a, b, c, a, b, c, ...), so load drifts of a shared machine hit every
candidate alike; by default on the process CPU clock with one thread (on a 2-core machine shared by several
processes, wall time of a short call mostly measures how long the process waited for a core); ``--clock wall``
for a GPU or a quiet machine. Outputs of the per-sample and looped versions are checked to agree before timing.

    python experiments/benchmarks/bench_transforms.py [--batch 64] [--size 64] [--repeats 15] [--threads 1]
        [--clock cpu|wall] [--device cpu|cuda] [--json out.json]
    .venv-dinv/bin/python experiments/benchmarks/bench_transforms.py      # with deepinv's columns
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.dirname(__file__))
from equinet import groups  # noqa: E402
from equinet.groups import act  # noqa: E402
from equinet.transforms import GroupTransform, Rotate, Shift  # noqa: E402
from equinet.utils import write_json  # noqa: E402
from bench_layers import timeit_interleaved  # noqa: E402

warnings.filterwarnings("ignore")


def deepinv_rotate():
    try:
        import deepinv
        from torchvision.transforms import InterpolationMode
        return deepinv.transform.Rotate(interpolation_mode=InterpolationMode.BILINEAR, n_trans=1)
    except Exception as err:  # deepinv missing, or importing but broken (torchvision mismatch)
        print(f"(deepinv not available: {type(err).__name__}: {str(err)[:80]})")
        return None


def o2(row):
    return groups.o2(4).element(float(row[0]), bool(row[1] > 0.5))


def report(title, names, times, base, res, key):
    print(f"\n{title}")
    for n, t in zip(names, times):
        print(f"  {n:52s} {1e3 * t:9.2f} ms")
    for i, n in enumerate(names):
        if i != base:
            print(f"  speed-up of {names[base]!r} over {n!r}: {times[i] / times[base]:.1f}x")
    res[key] = {n: t for n, t in zip(names, times)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (default 1: on a shared 2-core machine multi-threaded kernels stall "
                         "on busy cores and swamp the ratios; 0 leaves torch's default)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="cpu: process CPU time (robust to time slicing on a shared machine; meaningful with one "
                         "thread on the CPU); wall: elapsed time (use on a GPU or a quiet machine)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the loops then pay one kernel launch per image)")
    ap.add_argument("--json", default=None, help="write the medians (seconds) to this JSON file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    B, N = args.batch, args.size
    g = torch.Generator().manual_seed(0)
    x = torch.rand(B, 1, N, N, generator=g).to(args.device)
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    print(f"batch {B}x1x{N}x{N}, float32, {x.device}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"medians of {args.repeats} interleaved rounds, {args.clock} clock")
    res = {"batch": B, "size": N, "threads": torch.get_num_threads(), "device": str(x.device), "clock": args.clock}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    timed = lambda fns, repeats: timeit_interleaved([lambda f=f: (f(), sync()) for f in fns], repeats,  # noqa: E731
                                                    clock=clock)

    # 1. bilinear any-angle rotation
    T = Rotate()
    p = T.sample(B, g)
    els = [o2(r) for r in p]
    ours = lambda: T.apply(x, p)  # noqa: E731
    loop = lambda: torch.cat([act(e, x[i:i + 1], method="bilinear") for i, e in enumerate(els)])  # noqa: E731
    assert torch.allclose(ours(), loop(), atol=1e-5)
    loop_t = lambda: torch.cat([T.apply(x[i:i + 1], p[i:i + 1]) for i in range(B)])  # noqa: E731
    names = ["equinet Rotate per-sample (one grid_sample)", "per-image loop of groups.act",
             "per-image loop of Rotate.apply"]
    fns = [ours, loop, loop_t]
    R = deepinv_rotate()
    if R is not None:
        deg = torch.rad2deg(p[:, 0]).tolist()
        names += ["deepinv Rotate looped per image", "deepinv Rotate one angle per batch (native)"]
        fns += [lambda: torch.cat([R.transform(x[i:i + 1], theta=[deg[i]]) for i in range(B)]),
                lambda: R.transform(x, theta=[deg[0]])]
    times = timed(fns, args.repeats)
    report("1. any-angle rotation, bilinear", names, times, 0, res, "rotate_bilinear")

    # 2. fourier any-angle rotation
    Tf = Rotate(interpolation="fourier")
    ours = lambda: Tf.apply(x, p)  # noqa: E731
    loop = lambda: torch.cat([act(e, x[i:i + 1], method="fourier") for i, e in enumerate(els)])  # noqa: E731
    assert torch.allclose(ours(), loop(), atol=1e-4)
    times = timed([ours, loop], max(3, args.repeats // 3))
    report("2. any-angle rotation, fourier (band-limited)", ["equinet per-sample three shears",
                                                             "per-image loop of groups.act"], times, 0, res,
           "rotate_fourier")

    # 3. exact D4 elements
    Td = GroupTransform(groups.dihedral(4))
    pd = Td.sample(B, g)
    eld = [groups.dihedral(4).element(float(r[0]), bool(r[1] > 0.5)) for r in pd]
    ours = lambda: Td.apply(x, pd)  # noqa: E731
    loop = lambda: torch.cat([act(e, x[i:i + 1]) for i, e in enumerate(eld)])  # noqa: E731
    assert torch.equal(ours(), loop())
    times = timed([ours, loop], args.repeats)
    report("3. exact D4 elements (pixel permutations)", ["equinet gather of permutations",
                                                         "per-image loop of groups.act"], times, 0, res, "d4_exact")

    # 4. circular shifts
    Ts = Shift(image_size=N)
    ps = Ts.sample(B, g)
    sh = [(int(a), int(b)) for a, b in ps.tolist()]
    ours = lambda: Ts.apply(x, ps)  # noqa: E731
    loop = lambda: torch.cat([torch.roll(x[i:i + 1], s, dims=(-2, -1)) for i, s in enumerate(sh)])  # noqa: E731
    assert torch.equal(ours(), loop())
    times = timed([ours, loop], args.repeats)
    report("4. integer circular shifts", ["equinet gather", "per-image loop of torch.roll"], times, 0, res, "shift")

    if args.json:
        write_json(args.json, res)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
