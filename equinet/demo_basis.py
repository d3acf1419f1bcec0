"""Demo of the kernel solver: solve, print and plot a steerable basis, and measure its equivariance."""
from __future__ import annotations

import os

import numpy as np


def run(group: str = "C8", kernel_size: int = 7, out: str = "outputs", seed: int = 0) -> str:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import groups, kernels
    from .kernels.diagnostics import basis_equivariance_error
    from .utils import save_figure

    G = groups.get(group)
    pairs = [("trivial -> regular", G.trivial, G.regular if G.N else G.irrep(*([1, 1] if G.reflections else [1]))),
             ("trivial -> trivial", G.trivial, G.trivial)]
    print(f"group {G!r}: irreps {[p.name for p in G.irreps()]}")
    if G.N:
        print("regular representation = " + " ⊕ ".join(f"{m}×{p.name}" for p, m in G.regular.decompose()))
    fig, axes = plt.subplots(2, 8, figsize=(14, 4.2))
    for row, (name, a, b) in enumerate(pairs):
        B = kernels.steerable_basis_numpy(a, b, kernel_size)
        g = next((h for h in G.testing_elements(8) if not h.preserves_grid), None)
        msg = f"{name}: {B.shape[0]} basis kernels of shape {B.shape[1:]}"
        if g is not None:
            err = basis_equivariance_error(B, a, b, g, "smooth", n_trials=4, seed=seed)
            msg += f"; off-grid error at {np.degrees(g.angle):.1f}° on smooth inputs: {err:.2e}"
        print(msg)
        for j, ax in enumerate(axes[row]):
            ax.axis("off")
            if j < B.shape[0]:
                v = np.abs(B[j, 0, 0]).max()
                ax.imshow(B[j, 0, 0], cmap="RdBu_r", vmin=-v, vmax=v)
                ax.set_title(f"{name.split(' ')[-1]} #{j}" if j == 0 else f"#{j}", fontsize=8)
    fig.suptitle(f"{G.name} steerable kernels, k={kernel_size} (first output channel)")
    path = os.path.join(out, f"basis_{G.name}_k{kernel_size}.png")
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    print(f"figure written to {path}")
    return path


def build_parser(prog: str = "python -m equinet basis"):
    from .utils.cli import Parser
    ap = Parser(prog=prog, description="Solve, print and plot the steerable kernel basis of a group (trivial -> "
                "regular and trivial -> trivial fields) and measure its equivariance off the grid (about 10 s with "
                "the defaults).")
    ap.add_argument("--group", default="C8", help="C<N> or D<N> (N <= 1024), SO2 or O2")
    ap.add_argument("--kernel-size", type=int, default=7, help="kernel size in pixels, 1 to 65")
    ap.add_argument("--out", default="outputs", help="folder of the figure basis_<group>_k<size>.png")
    ap.add_argument("--seed", type=int, default=0, help="seed of the equivariance test's random inputs, >= 0")
    return ap


def main(argv=None, prog: str = "python -m equinet basis") -> str:
    """``python -m equinet basis [--group G] [--kernel-size K] [--out DIR] [--seed S]``: every value is checked
    (`equinet.utils.cli.UsageError`) before anything is computed or written; returns the figure's path."""
    from . import groups
    from .experiments.runner import prepare_output
    from .kernels.basis import _check_kernel_size
    from .utils.cli import user_input
    from .utils.seeding import check_seed
    a = build_parser(prog).parse_args(argv)
    with user_input(f"--group {a.group!r}"):
        groups.get(a.group)
    with user_input():
        _check_kernel_size(a.kernel_size)
        check_seed(a.seed, "--seed")
        prepare_output(a.out)
    return run(a.group, a.kernel_size, a.out, a.seed)


if __name__ == "__main__":

    from .utils.cli import run_command
    run_command(main, prog="python -m equinet.demo_basis", exit=True)
