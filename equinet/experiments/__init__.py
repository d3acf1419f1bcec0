"""Reproducible experiments (importable logic; thin command-line wrappers live in ``experiments/``).

`equinet.experiments.runner` is the shared runner (jobs -> worker pool -> table); each experiment is a small
package on top of it (`equinet.experiments.comparison`).
"""
from .comparison import ComparisonConfig, run_comparison  # noqa: F401

__all__ = ["ComparisonConfig", "run_comparison"]
