"""Interoperability with escnn and e2cnn (optional: ``pip install -e ".[escnn]"``) and with deepinv.

* field types both ways: `to_escnn` / `to_e2cnn` and `from_escnn` (representations through the
  group correspondence of `gspace_for` / `group_map`, checked numerically on every element);
* `wrap`: an escnn or e2cnn module as a plain-tensor `LibraryModule` with equinet field types, accepted
  by ``UnrolledPGD``, ``equinet.testing`` and the trainer; ``.export()`` uses the library's own export;
* `build_escnn`: the library twin of ``equinet.nets.build('dncnn', spec)``;
* deepinv both ways: `from_deepinv` / `to_deepinv` (physics and noise), `to_deepinv_model`,
  `to_deepinv_denoiser` (networks), `from_deepinv_dataset` / `to_deepinv_dataset` (data).

>>> from equinet.interop import LIBRARIES
>>> LIBRARIES
('escnn', 'e2cnn')

This package imports without escnn/e2cnn/deepinv; the functions import them on first use and raise
`MissingLibraryError` (one line naming the install command) when they are missing. See ``docs/interop.md``.
"""
from ._libs import INSTALL, LIBRARIES, MissingLibraryError, require  # noqa: F401
from .build import build_escnn  # noqa: F401
from .deepinv_models import (  # noqa: F401
                             adapt_training,
                             from_deepinv_dataset,
                             to_deepinv_dataset,
                             to_deepinv_denoiser,
                             to_deepinv_model,
)
from .deepinv_physics import DeepinvPhysics, as_physics, from_deepinv, noise_from_deepinv, noise_to_deepinv, to_deepinv  # noqa: F401
from .field_types import from_escnn, rep_from_library, rep_to_library, to_e2cnn, to_escnn  # noqa: F401
from .spaces import GroupMap, group_map, gspace_for  # noqa: F401
from .wrap import LibraryModule, wrap  # noqa: F401

__all__ = ["to_escnn", "to_e2cnn", "from_escnn", "rep_to_library", "rep_from_library", "gspace_for", "group_map",
           "GroupMap", "wrap", "LibraryModule", "build_escnn", "MissingLibraryError", "require", "LIBRARIES",
           "INSTALL", "from_deepinv", "to_deepinv", "as_physics", "DeepinvPhysics", "noise_from_deepinv",
           "noise_to_deepinv", "to_deepinv_model", "to_deepinv_denoiser", "from_deepinv_dataset",
           "to_deepinv_dataset", "adapt_training"]
