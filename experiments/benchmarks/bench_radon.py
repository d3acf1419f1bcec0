"""Time equinet's Radon transform (forward, adjoint, FBP) against scikit-image's radon / iradon.

Run:  python experiments/benchmarks/bench_radon.py [--sizes 64 128] [--angles 50 180] [--batches 1 16]
                                                    [--repeats 5] [--dtype float32] [--device cpu]

Both libraries get the same images (ellipse phantoms, zero outside the inscribed circle). scikit-image works
on one image at a time, so a batch is a Python loop over it. scikit-image has no adjoint; its unfiltered
back-projection ``iradon(filter_name=None)`` is the nearest operation and is timed in that column.
Reported times are medians over ``--repeats`` runs after one warm-up run (which also builds equinet's
cached sparse matrices); the one-off cost of building all matrices is the "build" column). No assertions: this only prints.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from equinet.data import random_ellipses  # noqa: E402
from equinet.physics import Radon  # noqa: E402


def _timeit(fn, repeats, sync):
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    """Parse the command line, run every (size, angles, batch) configuration and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--angles", type=int, nargs="+", default=[50, 180])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skimage-repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from skimage.transform import iradon, radon

    dtype = getattr(torch, args.dtype)
    device = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}, dtype {args.dtype}")
    header = (f"{'N':>4} {'angles':>6} {'B':>3} | {'build s':>7} | {'fwd ms':>8} {'sk radon':>9} {'x':>6} | "
              f"{'adj ms':>8} {'sk bp':>9} {'x':>6} | {'fbp ms':>8} {'sk iradon':>9} {'x':>6} | {'nnz(A)':>9}")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        for na in args.angles:
            theta = np.linspace(0.0, 180.0, na, endpoint=False)
            # one-off cost: system matrix at construction, its transpose and the FBP matrix on first use
            t0 = time.perf_counter()
            op = Radon(n, na)
            z = torch.zeros(1, 1, n, n, dtype=dtype, device=device)
            op.pinv(op(op.adjoint(op(z))))
            sync()
            build = time.perf_counter() - t0
            for b in args.batches:
                x = random_ellipses(b, n, seed=0, dtype=dtype).to(device)
                imgs = [img[0].double().cpu().numpy() for img in x]
                y = op(x)
                sinos = [radon(img, theta=theta, circle=True) for img in imgs]
                t_fwd = _timeit(lambda: op(x), args.repeats, sync)
                t_adj = _timeit(lambda: op.adjoint(y), args.repeats, sync)
                t_fbp = _timeit(lambda: op.pinv(y), args.repeats, sync)
                s_fwd = _timeit(lambda: [radon(img, theta=theta, circle=True) for img in imgs], args.skimage_repeats, sync)
                s_bp = _timeit(lambda: [iradon(s, theta=theta, filter_name=None) for s in sinos], args.skimage_repeats, sync)
                s_fbp = _timeit(lambda: [iradon(s, theta=theta, filter_name="ramp") for s in sinos], args.skimage_repeats, sync)
                print(f"{n:>4} {na:>6} {b:>3} | {build:>7.2f} | {1e3 * t_fwd:>8.2f} {1e3 * s_fwd:>9.1f} {s_fwd / t_fwd:>6.1f} | "
                      f"{1e3 * t_adj:>8.2f} {1e3 * s_bp:>9.1f} {s_bp / t_adj:>6.1f} | "
                      f"{1e3 * t_fbp:>8.2f} {1e3 * s_fbp:>9.1f} {s_fbp / t_fbp:>6.1f} | {op.matrix.nnz:>9}")
    print("x = scikit-image time / equinet time (higher is faster for equinet); build = one-off construction of A, A^T and the FBP matrix")


if __name__ == "__main__":
    main()
