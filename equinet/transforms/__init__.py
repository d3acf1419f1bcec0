"""Random image transformations for learning with symmetry (EI, REI, DA losses), parameters drawn per image.

One split for all: ``params = T.sample(batch, generator)``, ``T.apply(x, params)``, ``T.inverse(x, params)``,
``T.enumerate()`` (all elements, or evenly spaced ones), ``n_trans`` copies, ``per_sample=False`` for one draw
per batch. See ``docs/transforms.md``.

>>> import torch
>>> from equinet import groups
>>> from equinet.transforms import GroupTransform, Rotate
>>> T = Rotate(interpolation="bilinear")
>>> x = torch.rand(4, 1, 16, 16)
>>> p = T.sample(4, torch.Generator().manual_seed(0))   # four angles, one per image
>>> T.apply(x, p).shape
torch.Size([4, 1, 16, 16])
"""
from ..utils.registry import import_submodules
from .base import TRANSFORMS, Transform
from .compose import Compose
from .functional import grid_permutations, o2_act, roll
from .rotate import Flip, GroupTransform, Rot90, Rotate
from .shift import Shift

import_submodules(__name__, __path__)  # a transform added as one new module registers itself: no edit here

__all__ = ["TRANSFORMS", "Transform", "GroupTransform", "Rotate", "Rot90", "Flip", "Shift", "Compose", "o2_act", "roll",
           "grid_permutations"]
