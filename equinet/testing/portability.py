"""Portability check: a saved equivariant model computes the same function in another install or on another CPU.

``save`` writes, for a few small networks (C8, D4, C16 DnCNNs), their state dicts, fixed inputs, the outputs and
the kernel bases; ``compare``, run in another process -- another numpy, another BLAS core type or thread count,
another machine -- rebuilds the networks from their specifications, loads the state dicts and compares::

    python -m equinet.testing.portability save snapshot.pt          # e.g. numpy 2, default BLAS
    OPENBLAS_CORETYPE=Prescott python -m equinet.testing.portability compare snapshot.pt

``compare`` prints one row per network (largest basis difference, relative output difference) and exits with
status 1 if a basis differs by more than ``BASIS_TOL`` or an output by more than ``OUTPUT_RTOL``.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys

import numpy as np
import torch

from ..groups import PlanarGroup
from ..kernels import steerable_basis_numpy
from ..nets import DnCNN, NetSpec
from ..utils.io import atomic_path

FORMAT = "equinet.portability/1"
BASIS_TOL = 1e-10
OUTPUT_RTOL = 1e-5
#: the networks of the snapshot: small, but each with lifting, group and projection convolutions
CASES = {
    "C8": dict(group="C8", width=2, depth=4, kernel_size=5),
    "D4": dict(group="D4", width=2, depth=3, kernel_size=3),
    "C16": dict(group="C16", width=1, depth=3, kernel_size=5),
}
IMAGE_SIZE = 24


def build(name: str) -> DnCNN:
    """The network of case ``name`` with deterministic weights (a seeded generator; the global RNG is untouched)."""
    model = DnCNN(NetSpec(**CASES[name]))
    g = torch.Generator().manual_seed(sorted(CASES).index(name) + 1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model.eval()


class CheckpointDenoiser(torch.nn.Module):
    """``u = net(y)``: a case's DnCNN in the ``model(y, physics)`` form the trainer expects (for checkpoints)."""

    def __init__(self, name: str):
        super().__init__()
        self.net = DnCNN(NetSpec(**CASES[name]))

    def forward(self, y: torch.Tensor, physics=None) -> torch.Tensor:
        return self.net(y)


def fixed_input(name: str) -> torch.Tensor:
    g = torch.Generator().manual_seed(100 + sorted(CASES).index(name))
    return torch.rand(2, 1, IMAGE_SIZE, IMAGE_SIZE, generator=g)


def bases(name: str) -> dict[str, torch.Tensor]:
    """The float64 kernel bases the network of case ``name`` is built on."""
    spec = NetSpec(**CASES[name])
    G: PlanarGroup = spec.G
    k = spec.kernel_size
    pairs = {"trivial->regular": (G.trivial, G.regular), "regular->regular": (G.regular, G.regular),
             "regular->trivial": (G.regular, G.trivial)}
    return {p: torch.from_numpy(steerable_basis_numpy(a, b, k)) for p, (a, b) in pairs.items()}


def environment() -> dict[str, str]:
    """numpy / torch versions, BLAS settings and CPU of this process (for the report)."""
    env = {"numpy": np.__version__, "torch": str(torch.__version__), "python": platform.python_version(),
           "machine": platform.machine()}
    for v in ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[v] = os.environ.get(v, "")
    return env


def snapshot() -> dict:
    """State dicts, inputs, outputs and bases of every case, computed in this process."""
    cases = {}
    for name in CASES:
        model, x = build(name), fixed_input(name)
        with torch.no_grad():
            y = model(x)
        cases[name] = {"spec": dict(CASES[name]), "state_dict": model.state_dict(), "input": x, "output": y,
                       "bases": bases(name)}
    return {"format": FORMAT, "environment": environment(), "cases": cases}


def save(path: str) -> dict:
    """Write `snapshot` to ``path`` atomically; returns it."""
    snap = snapshot()
    with atomic_path(path) as tmp:
        torch.save(snap, tmp)
    return snap


def compare(path: str) -> list[dict]:
    """Rebuild every case of the snapshot at ``path``, load its state dict and compare bases and outputs.

    Returns one row per case: ``basis_max_diff`` (largest entry difference over its bases) and ``output_rel_diff``
    (‖y - y_saved‖ / ‖y_saved‖).
    """
    snap = torch.load(path, weights_only=True)
    if not isinstance(snap, dict) or snap.get("format") != FORMAT:
        raise ValueError(f"{path} is not an equinet portability snapshot (format {FORMAT!r})")
    rows = []
    for name, saved in snap["cases"].items():
        model = DnCNN(NetSpec(**saved["spec"])).eval()
        model.load_state_dict(saved["state_dict"])
        with torch.no_grad():
            y = model(saved["input"])
        ref = saved["output"]
        now = bases(name)
        dmax = max(float((now[p] - b).abs().max()) if b.numel() else 0.0 for p, b in saved["bases"].items())
        rows.append({"case": name, "basis_max_diff": dmax,
                     "output_rel_diff": float((y - ref).norm() / ref.norm())})
    return rows


def _format(rows: list[dict], saved_env: dict) -> str:
    here = environment()
    lines = [f"saved with numpy {saved_env.get('numpy')}, OPENBLAS_CORETYPE={saved_env.get('OPENBLAS_CORETYPE') or '-'}"
             f", OPENBLAS_NUM_THREADS={saved_env.get('OPENBLAS_NUM_THREADS') or '-'}; compared with numpy "
             f"{here['numpy']}, OPENBLAS_CORETYPE={here['OPENBLAS_CORETYPE'] or '-'}, OPENBLAS_NUM_THREADS="
             f"{here['OPENBLAS_NUM_THREADS'] or '-'}",
             f"{'case':6s} {'max basis difference':>22s} {'relative output difference':>28s}"]
    for r in rows:
        lines.append(f"{r['case']:6s} {r['basis_max_diff']:22.2e} {r['output_rel_diff']:28.2e}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m equinet.testing.portability", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("save", "compare"))
    ap.add_argument("file")
    args = ap.parse_args(argv)
    if args.command == "save":
        save(args.file)
        print(f"wrote {args.file} ({', '.join(CASES)}; numpy {np.__version__})")
        return 0
    if not os.path.isfile(args.file):
        print(f"error: {args.file} does not exist; write it first with: python -m equinet.testing.portability "
              "save FILE", file=sys.stderr)
        return 2
    try:
        rows = compare(args.file)
    except ValueError as e:  # not a snapshot, or a state dict this install refuses (another basis)
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(_format(rows, torch.load(args.file, weights_only=True)["environment"]))
    bad = [r["case"] for r in rows if r["basis_max_diff"] > BASIS_TOL or r["output_rel_diff"] > OUTPUT_RTOL]
    if bad:
        print(f"FAILED: {', '.join(bad)} differ by more than {BASIS_TOL:g} (bases) or {OUTPUT_RTOL:g} (relative, "
              "outputs)", file=sys.stderr)
        return 1
    print(f"OK: bases agree to <= {BASIS_TOL:g}, outputs to <= {OUTPUT_RTOL:g} (relative)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
