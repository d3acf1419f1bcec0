"""escnn / e2cnn proximal networks with the architecture of an equinet `NetSpec`.

``build_escnn('dncnn', spec)`` is the library twin of ``equinet.nets.build('dncnn', spec)``: the same group
(gspace with flip axis 0, so elements act on images as in equinet), scalar image fields in and out, ``spec.width``
hidden fields (regular for C_N/D_N; band-limited direct sums of irreps up to ``spec.max_frequency`` for
SO(2)/O(2)), ``spec.depth`` convolutions of size ``spec.kernel_size`` with "same" padding, the bias switch, the
activation, optional batch normalisation, and the residual connection. The steerable kernel bases are the
library's own (``R2Conv`` defaults), so parameter counts differ from equinet's: compare them with
`equinet.nets.count_parameters`.
"""
from __future__ import annotations

import copy
import sys
from typing import Any

from torch import nn

from ..nets.spec import NetSpec
from ._libs import LIBRARIES, require
from .field_types import to_escnn
from .spaces import gspace_for
from .wrap import LibraryModule

__all__ = ["build_escnn", "NETWORKS"]

NETWORKS = ("dncnn",)
_TORCH_POINTWISE = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "softplus": nn.Softplus}


def _make_pointwise_class(library: str):
    lib = require(library)
    base: Any = lib.nn.EquivariantModule  # the library's class, imported at run time

    class Pointwise(base):
        """A torch activation applied to every channel of fields that support pointwise nonlinearities."""

        def __init__(self, in_type, function: str):
            super().__init__()
            bad = [r.name for r in in_type.representations if "pointwise" not in r.supported_nonlinearities]
            if bad:
                raise TypeError(f"pointwise {function} needs permutation fields, got {bad}")
            self.in_type = self.out_type = in_type
            self.function = function
            self.fn = _TORCH_POINTWISE[function]()

        def forward(self, x):
            return lib.nn.GeometricTensor(self.fn(x.tensor), self.out_type)

        def evaluate_output_shape(self, input_shape):
            return input_shape

        def export(self):
            return copy.deepcopy(self.fn)

    Pointwise.__name__ = Pointwise.__qualname__ = f"{library.capitalize()}Pointwise"
    Pointwise.__module__ = __name__
    return Pointwise


def __getattr__(name: str):
    """The pointwise activation classes are made on first use (they subclass the library's module class), under
    a module-level name so that networks using them pickle."""
    for library in LIBRARIES:
        if name == f"{library.capitalize()}Pointwise":
            cls = _make_pointwise_class(library)
            setattr(sys.modules[__name__], name, cls)
            return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _activation(lib, spec: NetSpec, ftype):
    if spec.G.N is None:
        return lib.nn.NormNonLinearity(ftype, "n_relu", bias=spec.bias)
    act = spec.act
    if act.alias_free.value != "none":
        raise ValueError(f"build_escnn: the {lib.name} twin has no alias-free nonlinearity, got {act}")
    if act.function == "relu":
        return lib.nn.ReLU(ftype)
    if act.function == "elu":
        return lib.nn.ELU(ftype)
    return getattr(sys.modules[__name__], f"{lib.name.capitalize()}Pointwise")(ftype, act.function)


def _batch_norm(lib, spec: NetSpec, ftype):
    if not spec.bias:
        raise ValueError("NetSpec(bias=False, batch_norm=True): the libraries' batch normalisations always have a "
                         "bias (mean subtraction), which breaks positive homogeneity; use bias=True or no batch_norm")
    return lib.nn.InnerBatchNorm(ftype) if spec.G.N is not None else lib.nn.NormBatchNorm(ftype)


def build_escnn(name: str, spec: NetSpec, library: str = "escnn", residual: bool = True) -> LibraryModule:
    """The ``name`` network ('dncnn') of ``spec`` built from escnn (or e2cnn) layers, wrapped as a
    `LibraryModule` (plain tensors in and out, equinet field types)."""
    if str(name).lower() not in NETWORKS:
        raise ValueError(f"build_escnn builds {NETWORKS}, got {name!r} (the U-Net has no library twin here)")
    if not isinstance(spec, NetSpec):
        raise TypeError(f"spec must be an equinet.nets.NetSpec, got {type(spec).__name__}")
    if spec.depth < 2:
        raise ValueError(f"DnCNN needs depth >= 2 convolutions, got {spec.depth}")
    if residual and spec.in_channels < spec.out_channels:
        raise ValueError(f"a residual network needs in_channels >= out_channels, got in={spec.in_channels}, "
                         f"out={spec.out_channels}")
    gmap = gspace_for(spec.G, library)
    lib = gmap.lib
    t_in, t_out = to_escnn(spec.image_type(spec.in_channels), gmap), to_escnn(spec.image_type(spec.out_channels), gmap)
    hid = to_escnn(spec.hidden_type(), gmap)
    k, pad = spec.kernel_size, spec.kernel_size // 2

    # e2cnn keeps a process-wide cache of sampled bases whose key ignores the flip axis (a D_N basis built for one
    # axis is reused for another): recompute=True bypasses it, so these layers neither read nor write it
    extra = {"recompute": True} if lib.name == "e2cnn" else {}

    def conv(a, b):
        return lib.nn.R2Conv(a, b, k, padding=pad, bias=spec.bias, **extra)

    layers = [conv(t_in, hid), _activation(lib, spec, hid)]
    for _ in range(spec.depth - 2):
        layers.append(conv(hid, hid))
        if spec.batch_norm:
            layers.append(_batch_norm(lib, spec, hid))
        layers.append(_activation(lib, spec, hid))
    layers.append(conv(hid, t_out))
    return LibraryModule(lib.nn.SequentialModule(*layers), group=spec.G, residual=residual)
