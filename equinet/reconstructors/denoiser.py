"""The denoiser of a plug-and-play solver: any ``D(x, sigma)`` or ``D(x)``, seen as one image -> image map, and its
equivariance options.

* `BoundDenoiser` fixes the noise level: ``x -> D(x, sigma)``, or ``x -> D(x)`` for denoisers that take none
  (bias-free networks: a residual DnCNN or U-Net of `equinet.nets` is scale-equivariant and needs no noise level);
  whether ``D`` takes a noise level is read from its signature, and a mismatch with ``sigma`` is an error;
* `make_denoiser` adds the equivariance of the denoiser: ``'none'`` (the denoiser as it is: pass an equivariant
  network for equivariance **by design**, one pass), ``'full'`` (the Reynolds average over a finite group,
  `equinet.nn.GroupAveraged`: |G| passes) or ``'random'`` (one random element per call, `equinet.nn.RandomlyAveraged`:
  one pass, the CVPR 2024 scheme of Terris et al.).

Rotations by multiples of 90° (C4, D4) permute pixels, so the full average is exactly equivariant; C8's 45° turns
go through the band-limited Fourier rotation (`equinet.nn.GroupAveraged`'s ``method``): exact for C4 ⊂ C8, as good
as the interpolation for the other elements.
"""
from __future__ import annotations

import inspect
import numbers

import torch
from torch import nn

from ..nn.averaging import GroupAveraged, RandomlyAveraged

__all__ = ["BoundDenoiser", "make_denoiser", "EQUIVARIANCE", "takes_noise_level"]

#: the equivariance options of a plug-and-play denoiser
EQUIVARIANCE = ("none", "full", "random")


def takes_noise_level(denoiser) -> bool | None:
    """Whether ``denoiser(x, sigma)`` is its call (True), ``denoiser(x)`` (False), or unknown from its signature
    (None: a builtin or a C extension).

    >>> takes_noise_level(lambda x: x), takes_noise_level(lambda x, sigma: x)
    (False, True)
    """
    try:
        sig = inspect.signature(denoiser.forward if isinstance(denoiser, nn.Module) else denoiser)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2


class BoundDenoiser(nn.Module):
    """``x -> D(x, sigma)`` (``sigma`` a number) or ``x -> D(x)`` (``sigma=None``), checking that the output keeps
    the input's shape.

    >>> import torch
    >>> D = BoundDenoiser(lambda x, sigma: x / (1 + sigma ** 2), sigma=1.0)
    >>> D(torch.ones(1, 1, 2, 2)).flatten().tolist()
    [0.5, 0.5, 0.5, 0.5]
    """

    def __init__(self, denoiser, sigma: float | None = None):
        super().__init__()
        if not callable(denoiser):
            raise TypeError(f"the denoiser must be callable, D(x) or D(x, sigma), got {type(denoiser).__name__}")
        if sigma is not None and (isinstance(sigma, bool) or not isinstance(sigma, numbers.Real)
                                  or not sigma == sigma or sigma < 0 or sigma == float("inf")):
            raise ValueError(f"sigma (the denoiser's noise level) must be a finite number >= 0 or None, got {sigma!r}")
        takes = takes_noise_level(denoiser)
        name = type(denoiser).__name__
        if sigma is None and takes is True and _required_positional(denoiser) >= 2:
            raise TypeError(f"the denoiser {name} is called D(x, sigma): give its noise level, sigma=...")
        if sigma is not None and takes is False:
            raise TypeError(f"the denoiser {name} is called D(x) and takes no noise level, but sigma={sigma!r} was "
                            "given; leave sigma=None")
        self.denoiser = denoiser  # an nn.Module is registered as a submodule
        self.sigma = None if sigma is None else float(sigma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.denoiser(x) if self.sigma is None else self.denoiser(x, self.sigma)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"the denoiser {type(self.denoiser).__name__} maps an input of shape {tuple(x.shape)} "
                             f"to {got}; a denoiser must return a tensor of its input's shape")
        return out

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


def _required_positional(fn) -> int:
    sig = inspect.signature(fn.forward if isinstance(fn, nn.Module) else fn)
    return sum(1 for p in sig.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)


def make_denoiser(denoiser, sigma: float | None = None, equivariance: str = "none", group="C4", seed: int = 0,
                  method: str = "fourier") -> nn.Module:
    """The image -> image map a plug-and-play solver applies: `BoundDenoiser` (``denoiser``, ``sigma``) with the
    ``equivariance`` option (`EQUIVARIANCE`) over ``group`` (a name such as ``'C4'``, ``'C8'``, ``'D4'``, or an
    `equinet.groups` group); ``seed`` seeds the random elements, ``method`` acts off-grid elements.

    >>> import torch
    >>> D = make_denoiser(lambda x: x.flip(-1), equivariance="full", group="C4")  # not rotation-equivariant...
    >>> x = torch.randn(1, 1, 6, 6)
    >>> torch.allclose(D(x.rot90(1, (-2, -1))), D(x).rot90(1, (-2, -1)), atol=1e-6)  # ...but its average is
    True
    """
    if equivariance not in EQUIVARIANCE:
        raise ValueError(f"equivariance must be one of {EQUIVARIANCE}, got {equivariance!r}")
    bound = denoiser if isinstance(denoiser, BoundDenoiser) and sigma is None else BoundDenoiser(denoiser, sigma)
    if equivariance == "none":
        return bound
    from ..groups import get
    from ..groups.group import PlanarGroup
    G = get(group) if isinstance(group, str) else group
    if not isinstance(G, PlanarGroup):
        raise TypeError(f"group must be a group name ('C4', 'C8', 'D4', ...) or an equinet group, got {group!r}")
    if equivariance == "full":
        return GroupAveraged(bound, G, method=method)
    return RandomlyAveraged(bound, G, method=method, seed=seed)
