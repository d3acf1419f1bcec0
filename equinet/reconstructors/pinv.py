"""The standard reconstruction network of learned imaging: a backbone applied to a linear first estimate.

``PinvReconstructor(net)`` maps measurements to images as ``x = x0 + net(x0)`` with ``x0 = A†y`` (or ``Aᵀy``), the
form used by the equivariant-imaging papers (a residual U-Net on the FBP for CT, on the zero-filled image for
inpainting and MRI). It follows equinet's model convention ``model(y, physics) -> x``: the operator is given at
call time, so one network serves every operator of a family (the losses re-measure with the same ``physics``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..nn.loading import AllOrNothingLoad
from .base import RECONSTRUCTORS

__all__ = ["PinvReconstructor", "INITS"]

INITS = ("pinv", "adjoint")


@RECONSTRUCTORS.register("reconstructor")
class PinvReconstructor(AllOrNothingLoad, nn.Module):
    """``model(y, physics) = x0 + net(x0)`` (``residual=True``) or ``net(x0)``, with ``x0 = physics.pinv(y)``
    (``init='pinv'``) or ``physics.adjoint(y)`` (``init='adjoint'``).

    Args:
        net: an image-to-image module ``[B, C, H, W] -> [B, C, H, W]`` (e.g. ``equinet.nets.build('unet', spec,
            residual=False)``; build it without its own residual connection when ``residual=True`` here, or the
            identity is added twice).
        residual: add the first estimate to the network's output.
        init: the linear first estimate, ``'pinv'`` (A†y: FBP for CT) or ``'adjoint'`` (Aᵀy).
    """

    def __init__(self, net: nn.Module, residual: bool = True, init: str = "pinv"):
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module (image -> image), got {type(net).__name__}")
        if not isinstance(residual, bool):
            raise TypeError(f"residual must be a bool, got {residual!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        self.net, self.residual, self.init = net, residual, init

    @classmethod
    def from_backbone(cls, build_backbone, physics, channels: int, residual: bool = True,
                      init: str = "pinv", zero_output: bool = False) -> "PinvReconstructor":
        """The configured model: ``build_backbone(residual=False)`` on the first estimate (the configuration's
        ``[model]`` options are this method's keywords). ``zero_output=True`` zeroes the backbone's last layer, so a
        residual model starts as the first estimate itself (a bias-free denoiser then starts as the identity)."""
        if not isinstance(zero_output, bool):
            raise TypeError(f"zero_output must be a bool, got {zero_output!r}")
        net = build_backbone(residual=False)
        if zero_output:
            zero = getattr(net, "zero_output_layer", None)
            if not callable(zero):
                raise TypeError(f"zero_output=True needs a backbone with zero_output_layer() (an equinet DnCNN or "
                                f"U-Net), got {type(net).__name__}")
            zero()
        return cls(net, residual=residual, init=init)

    def first_estimate(self, y: torch.Tensor, physics) -> torch.Tensor:
        """The linear estimate ``x0`` the backbone refines (a deepinv operator is seen through
        `equinet.interop.as_physics`)."""
        from ..interop.deepinv_physics import as_physics
        physics = as_physics(physics)
        if physics is None or not callable(getattr(physics, self.init, None)):
            raise TypeError(f"PinvReconstructor(init={self.init!r}) needs a physics with a {self.init}(y) method "
                            f"(an equinet.physics.LinearPhysics), got {type(physics).__name__}")
        return getattr(physics, self.init)(y)

    def forward(self, y: torch.Tensor, physics) -> torch.Tensor:
        x0 = self.first_estimate(y, physics)
        out = self.net(x0)
        if out.shape != x0.shape:
            raise ValueError(f"the backbone maps {tuple(x0.shape)} to {tuple(out.shape)}; it must keep the shape")
        return x0 + out if self.residual else out

    def extra_repr(self) -> str:
        return f"residual={self.residual}, init={self.init!r}"
