"""Reproducible experiments (importable logic; thin command-line wrappers live in ``experiments/``)."""
from .comparison import ComparisonConfig, run_comparison  # noqa: F401

__all__ = ["ComparisonConfig", "run_comparison"]
