"""Translation- vs roto-translation-equivariant unrolled PGD (Fig. 5 of the imaging paper); see docs/experiments.md.

    python experiments/compare_translation_vs_rototranslation.py --quick          # ~10 min on 2 CPU cores
    python experiments/compare_translation_vs_rototranslation.py --device auto    # full protocol (GPU if present)
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from equinet.experiments.comparison import main  # noqa: E402

if __name__ == "__main__":
    from equinet.utils.cli import run_command
    sys.exit(run_command(main, prog="experiments/compare_translation_vs_rototranslation.py"))
