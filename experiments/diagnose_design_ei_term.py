"""Does an equivariant (C8) proximal net leave EI less to do on CT? Measurements behind the design-plus-learning page.

EI adds to measurement consistency the term ``||f(A T f(y)) - T f(y)||^2``: it asks the whole system f∘A to be
equivariant. The Radon transform commutes with rotations up to its sampling of the views, so an unrolled PGD whose
proximal nets are rotation-equivariant might be close to an equivariant system by design, leaving the EI term little
to ask. This script measures it on the trained networks of a ``design-plus-learning --converged`` run folder
(``--runs``, its ``--out``). For every run ``<problem>_<prox>_<method>_n<size>`` with a checkpoint (scored as it is;
the row records its step): the held-out PSNR and the **EI residual**, the EI term itself, unweighted, on the held-out
measurements, over ``--rotations`` random rotations per image (the problem's own transform; the same draws for every
network), relative to the energy of the rotated reconstructions and given in dB (``-30 dB``: a thousandth of it).
A network trained without the EI term (``mc``, ``sup``, ``sup_da``) shows how equivariant its architecture and
training leave f∘A on their own. The settings are the folder's ``table.json`` once the run has finished, else the
``--converged`` preset's. Results go to ``--out`` (JSON, written atomically). Seconds per network on one core::

    python experiments/diagnose_design_ei_term.py --runs outputs/reproduce/design-plus-learning
"""
from __future__ import annotations

import json
import os
import re
import sys
from typing import Dict, List

import torch

from equinet.experiments.reproduce.common import psnr_per_image, reconstruct
from equinet.experiments.reproduce.design_plus_learning import DesignLearningConfig, build_model, build_problems
from equinet.losses.base import LossInputs
from equinet.losses.ei import ei_term
from equinet.utils.cli import Parser, run_command, user_input
from equinet.utils.io import write_json

RUN = re.compile(r"^(?P<problem>[a-z]+)_(?P<prox>cnn|c8)_(?P<method>[a-z_]+)_n(?P<size>\d+)$")


def ei_residual(model, physics, y: torch.Tensor, transform, rotations: int = 8, seed: int = 0) -> float:
    """``E ||f(A T f(y)) - T f(y)||^2 / E ||T f(y)||^2`` over the images of ``y`` and ``rotations`` draws of
    ``transform`` per image (generator seeded by ``seed``: the same draws for every model of the same ``y``), the EI
    term of `equinet.losses.EILoss` (noise-free re-measurement) relative to the transformed reconstructions' energy.

    >>> import torch
    >>> from equinet.physics import Denoising
    >>> from equinet.transforms import Rot90
    >>> ident = lambda y, physics: y                     # f = identity and A = identity: f∘A is equivariant
    >>> y = torch.rand(2, 1, 8, 8)
    >>> ei_residual(ident, Denoising(), y, Rot90())
    0.0
    """
    gen = torch.Generator().manual_seed(seed)
    err = energy = 0.0
    with torch.no_grad():
        x1 = model(y, physics)
        for _ in range(rotations):
            x2, x3 = ei_term(LossInputs(model=model, physics=physics, y=y, x1=x1, generator=gen), transform, False)
            err += float(((x3 - x2) ** 2).sum())
            energy += float((x2 ** 2).sum())
    return err / max(energy, 1e-30)


def runs_with_checkpoints(folder: str) -> List[Dict[str, object]]:
    """The runs with a checkpoint in a design-plus-learning output folder:
    ``[{problem, prox, method, size, checkpoint}]``."""
    root = os.path.join(folder, "runs")
    if not os.path.isdir(root):
        raise ValueError(f"{folder!r} is not a design-plus-learning output folder (it has no runs/ folder)")
    out = []
    for name in sorted(os.listdir(root)):
        m, ck = RUN.match(name), os.path.join(root, name, "checkpoint.pt")
        if m and os.path.isfile(ck):
            out.append(dict(problem=m["problem"], prox=m["prox"], method=m["method"], size=int(m["size"]),
                            checkpoint=ck))
    if not out:
        raise ValueError(f"{folder!r} holds no design-plus-learning run with a checkpoint "
                         "(runs/<problem>_<prox>_<method>_n<size>/checkpoint.pt)")
    return out


def run_config(folder: str, problems, seed: int) -> DesignLearningConfig:
    """The settings of the run folder: its ``table.json`` once the run has finished, else the ``--converged``
    preset's (with ``seed``)."""
    path = os.path.join(folder, "table.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)["config"]
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()
                 if k in DesignLearningConfig.__dataclass_fields__}
        return DesignLearningConfig(**{**known, "problems": tuple(problems)})
    return DesignLearningConfig.converged(problems=tuple(problems), seed=seed)


def build_parser() -> Parser:
    ap = Parser(prog="python experiments/diagnose_design_ei_term.py",
                description="Held-out PSNR and EI residual of the trained networks of a design-plus-learning "
                            "--converged run folder.")
    ap.add_argument("--runs", required=True, help="the run's output folder (its --out)")
    ap.add_argument("--rotations", type=int, default=8, help="random rotations per held-out image (default 8)")
    ap.add_argument("--seed", type=int, default=0,
                    help="the run's seed, where its folder has no table.json yet (default 0)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", default="outputs/diagnose/design-ei-term.json", help="JSON results file")
    return ap


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    with user_input():
        if a.rotations < 1:
            raise ValueError(f"--rotations must be >= 1, got {a.rotations}")
        runs = runs_with_checkpoints(a.runs)
    torch.set_num_threads(a.threads)
    cfg = run_config(a.runs, tuple(dict.fromkeys(str(r["problem"]) for r in runs)), a.seed)
    problems = build_problems(cfg)
    rows = []
    for r in runs:
        p = problems[str(r["problem"])]
        model = build_model(cfg, p, str(r["prox"]))
        state = torch.load(str(r["checkpoint"]), map_location="cpu", weights_only=False)
        with user_input():
            try:
                model.load_state_dict(state["model"])
            except (KeyError, RuntimeError) as err:
                raise ValueError(f"{r['checkpoint']} does not hold a network of this folder's settings (expected "
                                 f"the {r['prox']} unrolled PGD of its table.json or of the --converged preset): "
                                 f"{str(err).splitlines()[0]}") from None
        model.eval()
        xv, yv = p.validation
        psnr = float(psnr_per_image(reconstruct(model, p.physics, yv), xv).mean())
        res = ei_residual(model, p.physics, yv, p.transform, a.rotations, seed=a.seed)
        row = {k: v for k, v in r.items() if k != "checkpoint"}
        row.update(step=int(state["step"]), psnr=psnr, ei_residual=res,
                   ei_residual_db=10 * torch.log10(torch.tensor(res)).item())
        rows.append(row)
        print(f"{r['problem']} n{r['size']} {r['method']:>6} {r['prox']:>3} (step {row['step']}): "
              f"held-out {psnr:.2f} dB, EI residual {row['ei_residual_db']:.1f} dB")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_json(a.out, dict(runs=a.runs, rotations=a.rotations, seed=a.seed, rows=rows), indent=1)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, prog="python experiments/diagnose_design_ei_term.py"))
