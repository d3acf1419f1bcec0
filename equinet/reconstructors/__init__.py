"""Reconstructors: every model called as ``model(y, physics) -> x``, in one place.

* `PinvReconstructor` (``pinv.py``): a backbone on a linear first estimate, ``x = A†y + net(A†y)``;
* `UnrolledPGD` (``unrolled_pgd.py``): unrolled proximal gradient descent with learned proximal networks;
* `PnPPGD`, `PnPADMM` (``pnp.py``) and `RED` (``red.py``): plug-and-play solvers around any denoiser ``D(x, sigma)``
  or ``D(x)``, with its equivariance by design, by full averaging or by one random element per iteration
  (``denoiser.py``); their shared loop, history and divergence check are ``iterative.py``.

A new reconstructor is one module here that subclasses ``torch.nn.Module``, implements ``forward(y, physics)``,
registers itself with ``@RECONSTRUCTORS.register('name')`` and offers ``from_backbone(build_backbone, physics,
channels, **options)`` (its keyword options are the configuration's ``[model]`` keys); importing the package imports
every module here.

>>> from equinet.reconstructors import RECONSTRUCTORS
>>> RECONSTRUCTORS.names()
('reconstructor', 'pnp_pgd', 'pnp_admm', 'red', 'unrolled_pgd')
"""
from ..utils.registry import import_submodules
from .base import RECONSTRUCTORS  # noqa: F401
from .iterative import DivergenceError, PlugAndPlay, SolverHistory  # noqa: F401
from .pinv import PinvReconstructor  # noqa: F401
from .pnp import PnPADMM, PnPPGD  # noqa: F401
from .red import RED  # noqa: F401
from .unrolled_pgd import UnrolledPGD  # noqa: F401

import_submodules(__name__, __path__)  # a reconstructor added as one new module registers itself: no edit here

__all__ = ["RECONSTRUCTORS", "PinvReconstructor", "UnrolledPGD", "PnPPGD", "PnPADMM", "RED", "PlugAndPlay",
           "SolverHistory", "DivergenceError"]
