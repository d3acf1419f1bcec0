"""Reproducible experiments (importable logic; thin command-line wrappers live in ``experiments/``).

`equinet.experiments.runner` is the shared runner (jobs -> worker pool -> table); each experiment is a small
package on top of it (`equinet.experiments.comparison`).

>>> from equinet.experiments import ComparisonConfig
>>> cfg = ComparisonConfig.quick(steps=10)
>>> cfg.mode, cfg.steps, cfg.activation_options()
('quick', 10, Activation(function='relu', alias_free=<AliasFree.NONE: 'none'>, bypass=False))
"""
from .comparison import ComparisonConfig, run_comparison  # noqa: F401

__all__ = ["ComparisonConfig", "run_comparison"]
