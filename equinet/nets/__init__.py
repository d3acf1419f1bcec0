"""Equivariant proximal networks (DnCNN, U-Net) and their translation-equivariant twins, from one spec."""
from .spec import NetSpec  # noqa: F401
from .proximal import DnCNN, UNet, build, conv_layer, count_parameters, resize_like  # noqa: F401
from .reconstructor import PinvReconstructor  # noqa: F401

__all__ = ["NetSpec", "DnCNN", "UNet", "build", "count_parameters", "conv_layer", "resize_like", "PinvReconstructor"]
