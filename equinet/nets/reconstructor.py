"""Kept for old import paths: `PinvReconstructor` lives in `equinet.reconstructors` (``reconstructors/pinv.py``)."""
from ..reconstructors.pinv import INITS, PinvReconstructor  # noqa: F401  (compatibility re-export)

__all__ = ["PinvReconstructor", "INITS"]
