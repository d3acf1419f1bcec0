"""Reproduction `bias-free` (docs/reproduce_bias_free.md): a thin wrapper of `python -m equinet reproduce bias-free`.

    python experiments/reproduce_bias_free.py --quick                 # about 15 minutes on 2 CPU cores
    python experiments/reproduce_bias_free.py --full --device auto    # the paper-sized protocol (GPU)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from equinet.experiments.reproduce.bias_free import main  # noqa: E402

if __name__ == "__main__":
    from equinet.utils.cli import run_command
    sys.exit(run_command(lambda argv: main(argv, prog="experiments/reproduce_bias_free.py"), prog="experiments/reproduce_bias_free.py"))
