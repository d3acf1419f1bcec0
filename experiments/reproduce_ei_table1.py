"""Reproduction `ei-table1` (docs/reproduce_ei_table1.md): a thin wrapper of `python -m equinet reproduce ei-table1`.

    python experiments/reproduce_ei_table1.py --quick                 # ≤ ~15 minutes on 2 CPU cores; CT at 25 views
    python experiments/reproduce_ei_table1.py --quick --ct-views 50   # the paper's view count at 64x64 (see docs)
    python experiments/reproduce_ei_table1.py --full --device auto    # the paper-sized protocol (GPU)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from equinet.experiments.reproduce.ei_table1 import main  # noqa: E402

if __name__ == "__main__":
    from equinet.utils.cli import run_command
    sys.exit(run_command(lambda argv: main(argv, prog="experiments/reproduce_ei_table1.py"), prog="experiments/reproduce_ei_table1.py"))
