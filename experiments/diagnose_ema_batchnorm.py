"""Why does an exponential moving average of the weights lag on CT EI? Measurements behind the training-recipe section
of docs/reproduce_ei_table1.md.

EI on the converged protocol's 25-view CT data (`EITable1Config.converged`) trains ``--steps`` Adam steps at the
constant learning rate of the converged budget while an `equinet.training.EMA` of decay ``--decay`` follows the
weights; then the held-out phantoms score four networks: the training weights, the training weights with their
batch-norm statistics recomputed on the training measurements, the average (its statistics averaged alongside), and
the average with recomputed statistics. ``--checkpoint FILE`` scores a finished run's checkpoint (written with
``--ema``) instead of training. Results go to ``--out`` (JSON, written atomically). About 4 minutes on one core::

    python experiments/diagnose_ema_batchnorm.py --steps 3000
    python experiments/diagnose_ema_batchnorm.py --checkpoint outputs/recipes/ema/runs/ct_ei/checkpoint.pt
"""
from __future__ import annotations

import copy
import os
import sys
from typing import Dict

import torch

from equinet.data import MeasurementDataset
from equinet.experiments.reproduce.common import make_loss, psnr_per_image, reconstruct
from equinet.experiments.reproduce.ei_table1 import EITable1Config, build_problems
from equinet.training import EMA, TrainConfig, Trainer
from equinet.utils.cli import Parser, run_command, user_input
from equinet.utils.io import write_json
from equinet.utils.seeding import derived_seed


def recompute_batch_norm(model, physics, y: torch.Tensor, batch: int = 4):
    """A copy of ``model`` whose batch-norm statistics are the plain averages over ``y`` (in batches), recomputed
    in training mode without gradients; the weights are unchanged."""
    model = copy.deepcopy(model)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    model.train()
    with torch.no_grad():
        for i in range(0, y.shape[0], batch):
            model(y[i:i + batch], physics)
    return model.eval()


def score_four(raw, average: Dict[str, torch.Tensor], problem) -> Dict[str, float]:
    """Mean held-out PSNR of the training weights and of the average, each with its own and with recomputed
    batch-norm statistics."""
    xv, yv = problem.validation[0], problem.validation[1]
    avg = copy.deepcopy(raw)
    avg.load_state_dict({**avg.state_dict(), **average})
    score = lambda m: float(psnr_per_image(reconstruct(m, problem.physics, yv), xv).mean())  # noqa: E731
    recal = lambda m: recompute_batch_norm(m, problem.physics, problem.y_train)  # noqa: E731
    return {"weights": score(raw), "weights, recomputed statistics": score(recal(raw)),
            "average": score(avg), "average, recomputed statistics": score(recal(avg))}


def build_parser() -> Parser:
    ap = Parser(prog="python experiments/diagnose_ema_batchnorm.py",
                description="Score the training weights and their moving average, with and without recomputed "
                            "batch-norm statistics, on the converged protocol's CT EI.")
    ap.add_argument("--steps", type=int, default=3000, help="constant-lr training steps before scoring (default 3000)")
    ap.add_argument("--decay", type=float, default=0.999, help="decay of the moving average (default 0.999)")
    ap.add_argument("--seed", type=int, default=0, help="run seed (default 0: the reproduction's)")
    ap.add_argument("--checkpoint", default=None, help="score this checkpoint of a run trained with --ema instead")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", default="outputs/diagnose_ema_batchnorm.json", help="JSON results file")
    return ap


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    with user_input():
        if a.steps < 1 or not 0 < a.decay < 1 or a.seed < 0 or a.threads < 1:
            raise ValueError(f"expected --steps >= 1, 0 < --decay < 1, --seed >= 0, --threads >= 1; got "
                             f"{a.steps}, {a.decay}, {a.seed}, {a.threads}")
        if a.checkpoint is not None and not os.path.isfile(a.checkpoint):
            raise ValueError(f"no checkpoint at {a.checkpoint!r}")
    torch.set_num_threads(a.threads)
    cfg = EITable1Config.converged(problems=("ct",), methods=("ei",), seed=a.seed)
    problem = build_problems(cfg)["ct"]
    torch.manual_seed(derived_seed(cfg.seed, 10, 0))  # the reproduction's initial network
    model = cfg.network()
    if a.checkpoint is not None:
        state = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
        with user_input():
            if "ema" not in state.get("callbacks", {}):
                raise ValueError(f"{a.checkpoint} holds no moving average: train the run with --ema")
        model.load_state_dict(state["model"])
        average, step = state["callbacks"]["ema"]["average"], int(state["step"])
    else:
        ema = EMA(a.decay, apply_at_end=False)
        config = TrainConfig(steps=a.steps, batch_size=cfg.batch_size, lr=cfg.lr, schedule="constant",
                             seed=derived_seed(cfg.seed, 12) % 2 ** 31, plots=False, identifiability=False)
        Trainer(model, make_loss("ei", problem.transform, problem.alpha), problem.physics,
                MeasurementDataset(problem.y_train), config, callbacks=[ema], progress=True).fit()
        average, step = ema.average, a.steps
    res = dict(step=step, decay=a.decay if a.checkpoint is None else None, psnr=score_four(model, average, problem))
    print(f"step {step}: " + ", ".join(f"{k} {v:.2f} dB" for k, v in res["psnr"].items()))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_json(a.out, res, indent=1)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, prog="python experiments/diagnose_ema_batchnorm.py"))
