"""Reproduction `design-plus-learning` (docs/reproduce_design_plus_learning.md): a thin wrapper of `python -m equinet reproduce design-plus-learning`.

    python experiments/reproduce_design_plus_learning.py --quick                 # about 15 minutes on 2 CPU cores
    python experiments/reproduce_design_plus_learning.py --full --device auto    # the paper-sized protocol (GPU)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from equinet.experiments.reproduce.design_plus_learning import main  # noqa: E402

if __name__ == "__main__":
    from equinet.utils.cli import run_command
    sys.exit(run_command(lambda argv: main(argv, prog="experiments/reproduce_design_plus_learning.py"), prog="experiments/reproduce_design_plus_learning.py"))
