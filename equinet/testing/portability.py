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

import math
import os
import platform
import sys
from typing import Any

import numpy as np
import torch

from ..groups import PlanarGroup
from ..kernels import steerable_basis_numpy
from ..nets import DnCNN, NetSpec
from ..utils.io import torch_save

FORMAT = "equinet.portability/1"
BASIS_TOL = 1e-10
OUTPUT_RTOL = 1e-5
#: the networks of the snapshot: small, but each with lifting, group and projection convolutions
CASES: dict[str, dict[str, Any]] = {
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
    torch_save(snap, path)
    return snap


def load_snapshot(path: str) -> dict:
    """The snapshot at ``path``, checked; ``ValueError`` naming the file for anything that is not one (garbage, a
    truncated file, another format, no cases)."""
    try:
        snap = torch.load(path, weights_only=True)
    except IsADirectoryError:
        raise ValueError(f"{path!r} is a folder, not a portability snapshot") from None
    except FileNotFoundError:
        raise ValueError(f"{path!r} does not exist; write it first with: python -m equinet.testing.portability "
                         "save FILE") from None
    except Exception:  # not what torch.save wrote: garbage, truncated, unpicklable
        raise ValueError(f"{path!r} is not a readable portability snapshot (not a complete file written by "
                         "'python -m equinet.testing.portability save')") from None
    if not isinstance(snap, dict) or snap.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not an equinet portability snapshot (format {FORMAT!r})")
    cases = snap.get("cases")
    if not isinstance(cases, dict) or not cases:
        raise ValueError(f"{path!r} holds no cases: nothing to compare")
    for name, saved in cases.items():
        if not isinstance(saved, dict) or not {"spec", "state_dict", "input", "output", "bases"} <= set(saved):
            raise ValueError(f"{path!r}: case {name!r} is incomplete")
        if name not in CASES:
            raise ValueError(f"{path!r}: unknown case {name!r}; expected some of {', '.join(CASES)}")
    return snap


def compare(path: str) -> list[dict]:
    """Rebuild every case of the snapshot at ``path``, load its state dict and compare bases and outputs.

    Returns one row per case: ``basis_max_diff`` (largest entry difference over its bases) and ``output_rel_diff``
    (‖y - y_saved‖ / ‖y_saved‖); a non-finite saved or recomputed value gives ``inf`` (a failure, never a pass).
    """
    snap = load_snapshot(path)
    rows = []
    for name, saved in snap["cases"].items():
        model = DnCNN(NetSpec(**saved["spec"])).eval()
        model.load_state_dict(saved["state_dict"])
        with torch.no_grad():
            y = model(saved["input"])
        ref = saved["output"]
        now = bases(name)
        if set(now) != set(saved["bases"]):
            raise ValueError(f"{path!r}: case {name!r} has bases {sorted(saved['bases'])}, expected {sorted(now)}")
        diffs = [float((now[p] - b).abs().max()) if b.numel() else 0.0 for p, b in saved["bases"].items()]
        finite = all(bool(torch.isfinite(t).all()) for t in (y, ref, *saved["bases"].values()))
        rel = float((y - ref).norm() / ref.norm()) if finite and float(ref.norm()) > 0 else math.inf
        rows.append({"case": name, "basis_max_diff": max(diffs) if finite else math.inf,
                     "output_rel_diff": rel if math.isfinite(rel) else math.inf})
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


def build_parser():
    from ..utils.cli import Parser
    ap = Parser(prog="python -m equinet.testing.portability", description=__doc__)
    ap.add_argument("command", choices=("save", "compare"),
                    help="save: write a snapshot computed here; compare: recompute a snapshot's cases and compare")
    ap.add_argument("file", help="the snapshot file")
    return ap


def main(argv=None) -> int:
    """Exit status 0 when every case agrees, 1 when one differs (a non-finite value always differs), 2 for a
    file that is not a snapshot (one line, `equinet.utils.cli.UsageError`)."""
    from ..utils.cli import check_writable_file, user_input
    args = build_parser().parse_args(argv)
    if args.command == "save":
        with user_input():
            check_writable_file(args.file)
        save(args.file)
        print(f"wrote {args.file} ({', '.join(CASES)}; numpy {np.__version__})")
        return 0
    with user_input():
        snap = load_snapshot(args.file)
    try:
        rows = compare(args.file)
    except ValueError as e:  # a state dict this install refuses (another basis): the models are not portable
        print(f"FAILED: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    env = snap.get("environment")
    print(_format(rows, env if isinstance(env, dict) else {}))
    bad = [r["case"] for r in rows if not (r["basis_max_diff"] <= BASIS_TOL and r["output_rel_diff"] <= OUTPUT_RTOL)]
    if bad:
        print(f"FAILED: {', '.join(bad)} differ by more than {BASIS_TOL:g} (bases) or {OUTPUT_RTOL:g} (relative, "
              "outputs), or hold NaN/inf", file=sys.stderr)
        return 1
    print(f"OK: {len(rows)} cases; bases agree to <= {BASIS_TOL:g}, outputs to <= {OUTPUT_RTOL:g} (relative)")
    return 0


if __name__ == "__main__":
    from ..utils.cli import run_command
    sys.exit(run_command(main, prog="python -m equinet.testing.portability"))
