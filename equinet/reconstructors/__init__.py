"""Reconstructors: every model called as ``model(y, physics) -> x``, in one place.

* `PinvReconstructor` (``pinv.py``): a backbone on a linear first estimate, ``x = A†y + net(A†y)``;
* `UnrolledPGD` (``unrolled_pgd.py``): unrolled proximal gradient descent with learned proximal networks.

A new reconstructor (e.g. a plug-and-play solver: a fixed-point or ADMM iteration around a pretrained denoiser)
is one module here that subclasses ``torch.nn.Module``, implements ``forward(y, physics)`` and registers itself
with ``@RECONSTRUCTORS.register('name')``; the TOML configuration (``[model] name``) finds it there. Import it
below so that importing the package registers it.

>>> from equinet.reconstructors import RECONSTRUCTORS
>>> RECONSTRUCTORS.names()
('reconstructor', 'unrolled_pgd')
"""
from .base import RECONSTRUCTORS  # noqa: F401
from .pinv import PinvReconstructor  # noqa: F401
from .unrolled_pgd import UnrolledPGD  # noqa: F401

__all__ = ["RECONSTRUCTORS", "PinvReconstructor", "UnrolledPGD"]
