"""The registry of reconstructors: models called as ``model(y, physics) -> x`` (the operator is given at call time,
so one network serves every operator of a family and the losses re-measure with the same ``physics``)."""
from __future__ import annotations

from ..utils.registry import Registry

__all__ = ["RECONSTRUCTORS"]

#: name -> reconstructor class (the TOML's ``[model] name``); each registers itself in its own module
RECONSTRUCTORS: Registry = Registry("reconstructor")
