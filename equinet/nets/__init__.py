"""Equivariant proximal networks (DnCNN, U-Net) and their translation-equivariant twins, from one spec.

>>> from equinet.nets import NETWORKS, NetSpec, build
>>> net = build("dncnn", NetSpec(group="C4", width=2, depth=3, kernel_size=3))
>>> NETWORKS.names(), type(net).__name__
(('unet', 'dncnn'), 'DnCNN')
"""
from ..utils.registry import import_submodules
from .activation import Activation, AliasFree  # noqa: F401
from .proximal import DnCNN, UNet, build, conv_layer, count_parameters, resize_like  # noqa: F401
from .spec import NETWORKS, NetSpec  # noqa: F401

# a network added as one new module registers itself: no edit here ('reconstructor' is a compatibility re-export)
import_submodules(__name__, __path__, exclude=("reconstructor",))

__all__ = ["Activation", "AliasFree", "NETWORKS", "NetSpec", "DnCNN", "UNet", "build", "count_parameters",
           "conv_layer", "resize_like", "PinvReconstructor"]


def __getattr__(name: str):
    # compatibility: PinvReconstructor moved to equinet.reconstructors (a higher floor: imported on first use only)
    if name == "PinvReconstructor":
        from ..reconstructors import PinvReconstructor
        return PinvReconstructor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
