"""Equivariant proximal subnetworks for unrolled algorithms: a residual DnCNN-style network and a U-Net.

Both are built from one `NetSpec`; with the trivial group they are ordinary CNNs (the
translation twins of Fig. 5 of the imaging paper). Inputs and outputs are scalar images (trivial fields).
With ``residual=True`` the network returns ``x[:, :out_channels] + body(x)`` (the proximal step updates u, the
first input channels).
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from ..nn.conv import SteerableConv2d
from ..nn.field_type import FieldType
from ..nn.module import EquivariantModule, EquivariantSequential
from ..nn.plain_conv import TranslationConv2d
from ..utils.checks import check_memory
from .activation import AliasFree
from .spec import NETWORKS, NetSpec

#: initialisation gain of a convolution followed by batch normalisation: PyTorch's default scale (Kaiming-uniform
#: with a = sqrt(5): std 1 / sqrt(3 fan_in)). Batch norm makes the layer blind to its weights' scale, which then
#: sets only Adam's effective step (~ lr / |w|); He's sqrt(2) is 2.45x larger and trains U-Nets several dB worse
#: at the same budget (docs/benchmarks.md, "U-Net baseline"). Convolutions without batch norm keep He's gain.
NORMALISED_GAIN = 1.0 / math.sqrt(3.0)


def conv_layer(spec: NetSpec, in_type: FieldType, out_type: FieldType, gain: float = math.sqrt(2.0)) \
        -> EquivariantModule:
    """A convolution between two field types of the spec (full k x k kernels for the trivial group)."""
    if spec.is_translation_only:
        return TranslationConv2d(in_type.size, out_type.size, spec.kernel_size, bias=spec.bias, gain=gain)
    return SteerableConv2d(in_type, out_type, spec.kernel_size, bias=spec.bias, gain=gain)


def nonlinearity(spec: NetSpec, ftype: FieldType) -> EquivariantModule:
    """``spec.activation`` on regular (or plain) fields; norm-ReLU on the band-limited fields of SO(2)/O(2)."""
    from ..nn import AliasFreeNonlinearity, NormNonlinearity, PointwiseNonlinearity, QuincunxAliasFreeNonlinearity, ReLU
    act = spec.act
    if spec.pointwise and act.alias_free is AliasFree.QUINCUNX:
        return QuincunxAliasFreeNonlinearity(ftype, act.function, linear_bypass=bool(act.bypass))
    if spec.pointwise and act.alias_free is AliasFree.RADIAL:
        return AliasFreeNonlinearity(ftype, act.function)
    if spec.pointwise:
        return ReLU(ftype) if act.function == "relu" else PointwiseNonlinearity(ftype, act.function)
    return NormNonlinearity(ftype, "relu", bias=spec.bias)


def conv_block(spec: NetSpec, in_type: FieldType, out_type: FieldType) -> list[EquivariantModule]:
    from ..nn import EquivariantBatchNorm
    layers = [conv_layer(spec, in_type, out_type, gain=NORMALISED_GAIN if spec.batch_norm else math.sqrt(2.0))]
    if spec.batch_norm:
        layers.append(EquivariantBatchNorm(out_type, bias=spec.bias))
    layers.append(nonlinearity(spec, out_type))
    return layers


def _check_channels(spec: NetSpec, residual: bool):
    if residual and spec.in_channels < spec.out_channels:
        raise ValueError(f"a residual network needs in_channels >= out_channels (it adds the first "
                         f"{spec.out_channels} input channels), got in={spec.in_channels}, out={spec.out_channels}")


#: the most down-sampling levels of a U-Net (its bottom has width·2^scales fields and sees 2^scales-pixel cells)
MAX_UNET_SCALES = 10


class _ResidualPlain(nn.Module):
    def __init__(self, body: nn.Module, out_channels: int, residual: bool):
        super().__init__()
        self.body, self.out_channels, self.residual = body, out_channels, residual

    def forward(self, x):
        y = self.body(x)
        return y + x[:, :self.out_channels] if self.residual else y


class _ProximalNet(EquivariantModule):
    """What DnCNN and U-Net share: the output layer and starting as the identity."""

    @property
    def output_layer(self) -> nn.Module:
        """The last convolution (the one that maps hidden fields to the output image)."""
        raise NotImplementedError

    def zero_output_layer(self) -> "_ProximalNet":
        """Zero the last convolution's weights and bias, in place: a residual network then starts as the identity
        (an untrained unrolled network is plain PGD from its initialisation). Returns ``self``."""
        with torch.no_grad():
            for p in self.output_layer.parameters():
                p.zero_()
        return self

    def architecture(self) -> tuple:
        """``(registered name, build keyword arguments)`` that rebuild this network from a spec."""
        raise NotImplementedError


class DnCNN(_ProximalNet):
    """Residual DnCNN-style network: conv -> [conv (-> BN) -> nonlinearity] x (depth - 2) -> conv.

    ``spec.depth`` counts the convolutions (>= 2). Exactly equivariant to grid-preserving elements; bias-free
    (``spec.bias=False``) makes it positively homogeneous.
    """

    def __init__(self, spec: NetSpec, residual: bool = True):
        super().__init__()
        if spec.depth < 2:
            raise ValueError(f"DnCNN needs depth >= 2 convolutions, got {spec.depth}")
        _check_channels(spec, residual)
        self.spec, self.residual = spec, residual
        self.in_type, self.out_type = spec.image_type(spec.in_channels), spec.image_type(spec.out_channels)
        hid = spec.hidden_type()
        layers = [conv_layer(spec, self.in_type, hid), nonlinearity(spec, hid)]
        for _ in range(spec.depth - 2):
            layers += conv_block(spec, hid, hid)
        layers.append(conv_layer(spec, hid, self.out_type))
        self.body = EquivariantSequential(*layers)

    @property
    def output_layer(self) -> nn.Module:
        return self.body[-1]

    def architecture(self) -> tuple:
        return "dncnn", {"residual": self.residual}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        y = self.body(x)
        return y + x[:, :self.spec.out_channels] if self.residual else y

    def export(self) -> nn.Module:
        from ..nn.export import plain
        return plain(_ResidualPlain(self.body.export(), self.spec.out_channels, self.residual))


def resize_like(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Bilinear resize of ``x`` to ``ref``'s spatial size with centred sample positions (align_corners=False):
    exactly equivariant to 90° rotations and flips for every pair of sizes."""
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


class _UNetPlain(nn.Module):
    def __init__(self, enc, downs, bottom, upconvs, ups, out, out_channels, residual):
        super().__init__()
        self.enc, self.downs, self.bottom = nn.ModuleList(enc), nn.ModuleList(downs), bottom
        self.upconvs = nn.ModuleList(upconvs)
        self.ups, self.out, self.out_channels, self.residual = nn.ModuleList(ups), out, out_channels, residual

    def forward(self, x):
        return _unet_forward(self, x, self.out_channels, self.residual)


def _exported(layers: nn.ModuleList) -> list[nn.Module]:
    """The exports of a list of equivariant layers."""
    return [cast(EquivariantModule, layer).export() for layer in layers]


def _unet_forward(net, x: torch.Tensor, out_channels: int, residual: bool) -> torch.Tensor:
    """The U-Net computation, shared by `UNet` and its exported plain twin (same attribute names)."""
    skips = []
    h = x
    for enc, down in zip(net.enc, net.downs):
        h = enc(h)
        skips.append(h)
        h = down(h)
    h = net.bottom(h)
    for i, (up, skip) in enumerate(zip(net.ups, reversed(skips))):
        h = resize_like(h, skip)
        if len(net.upconvs):
            h = net.upconvs[i](h)
        h = up(torch.cat([h, skip], dim=1))
    y = net.out(h)
    return y + x[:, :out_channels] if residual else y


#: U-Net down-sampling ('avg': 2x2 average, 'max': 2x2 max pooling of permutation fields) and up-sampling
#: ('conv': resize, then a convolution block to the finer scale's width, then the skip concatenation;
#: 'resize': resize and concatenate) choices
UNET_DOWN = ("avg", "max")
UNET_UP = ("conv", "resize")


class UNet(_ProximalNet):
    """Equivariant U-Net: ``scales`` down-sampling levels, widths ``spec.width · 2^s``, two convolution blocks per
    level, skip connections by concatenating field types, exact resampling for every image size.

    Args:
        spec: the fields, kernels, normalisation and nonlinearity (``spec.depth`` is not used: two blocks per level).
        scales: down-sampling levels (>= 1).
        residual: add the input to the output.
        down: ``'max'`` (default; 2x2 max pooling of regular fields, average pooling for the band-limited fields
            of SO(2)/O(2), where a maximum is not equivariant) or ``'avg'`` (2x2 average), both
            `equinet.nn.Downsample2x` (exact for even and odd sizes).
        up: ``'conv'`` (default): centred bilinear resize to the skip connection's size (`resize_like`), a
            convolution block down to the finer level's width, then the concatenation; ``'resize'``: resize and
            concatenate (the U-Net of equinet <= 0.3, fewer parameters).
        out_kernel: kernel size of the output convolution (default 1: a per-pixel read-out; None: ``spec.kernel_size``).

    The defaults follow the standard imaging U-Net (max pooling, an up-convolution, a 1x1 read-out), which trains
    better at equal parameters than average pooling without up-convolution (docs/benchmarks.md, "U-Net baseline").
    """

    def __init__(self, spec: NetSpec, scales: int = 2, residual: bool = True, down: str = "max", up: str = "conv",
                 out_kernel: int | None = 1):
        super().__init__()
        from ..nn import Downsample2x
        if isinstance(scales, bool) or not isinstance(scales, int) or not 1 <= scales <= MAX_UNET_SCALES:
            raise ValueError(f"UNet needs an integer 1 <= scales <= {MAX_UNET_SCALES} (the width doubles at every "
                             f"scale: {spec.width}·2^scales fields at the bottom), got {scales!r}")
        G = spec.G
        field = G.N * (2 if G.reflections else 1) if G.N is not None else 2 * spec.max_frequency + 1
        bottom = spec.width * 2 ** scales * field  # channels of the bottom block's convolutions
        check_memory(4.0 * 4 * bottom ** 2 * spec.kernel_size ** 2,
                     f"a U-Net with {scales} scales ({bottom} channels at the bottom)")
        if down not in UNET_DOWN:
            raise ValueError(f"UNet down must be one of {UNET_DOWN}, got {down!r}")
        if up not in UNET_UP:
            raise ValueError(f"UNet up must be one of {UNET_UP}, got {up!r}")
        if out_kernel is not None and (isinstance(out_kernel, bool) or not isinstance(out_kernel, int)
                                       or out_kernel < 1 or out_kernel % 2 == 0):
            raise ValueError(f"UNet out_kernel must be a positive odd int or None, got {out_kernel!r}")
        _check_channels(spec, residual)
        self.spec, self.scales, self.residual = spec, scales, residual
        self.down, self.up, self.out_kernel = down, up, out_kernel
        pool = down if spec.pointwise else "avg"
        self.in_type, self.out_type = spec.image_type(spec.in_channels), spec.image_type(spec.out_channels)
        widths = [spec.width * 2 ** s for s in range(scales + 1)]
        types = [spec.hidden_type(w) for w in widths]
        enc, downs, upconvs, ups = [], [], [], []
        prev = self.in_type
        for s in range(scales):
            enc.append(EquivariantSequential(*conv_block(spec, prev, types[s]), *conv_block(spec, types[s], types[s])))
            downs.append(Downsample2x(types[s], mode=pool))
            prev = types[s]
        self.bottom = EquivariantSequential(*conv_block(spec, prev, types[scales]),
                                            *conv_block(spec, types[scales], types[scales]))
        for s in reversed(range(scales)):
            coarse = types[s + 1]
            if up == "conv":
                upconvs.append(EquivariantSequential(*conv_block(spec, types[s + 1], types[s])))
                coarse = types[s]
            cat = coarse + types[s]
            ups.append(EquivariantSequential(*conv_block(spec, cat, types[s]), *conv_block(spec, types[s], types[s])))
        self.enc, self.downs, self.ups = nn.ModuleList(enc), nn.ModuleList(downs), nn.ModuleList(ups)
        self.upconvs = nn.ModuleList(upconvs)
        k = spec.kernel_size if out_kernel is None else out_kernel
        # the read-out starts at PyTorch's scale too: He's gain starts the residual far from the identity
        self.out = conv_layer(replace(spec, kernel_size=k), types[0], self.out_type, gain=NORMALISED_GAIN)

    @property
    def output_layer(self) -> nn.Module:
        return self.out

    def architecture(self) -> tuple:
        return "unet", {"scales": self.scales, "residual": self.residual}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.in_type.check(x)
        return _unet_forward(self, x, self.spec.out_channels, self.residual)

    def export(self) -> nn.Module:
        from ..nn.export import plain
        return plain(_UNetPlain(_exported(self.enc), _exported(self.downs), self.bottom.export(),
                                _exported(self.upconvs), _exported(self.ups), self.out.export(),
                                self.spec.out_channels, self.residual))

    def extra_repr(self) -> str:
        return f"scales={self.scales}, down={self.down!r}, up={self.up!r}, out_kernel={self.out_kernel}"


# registered here, U-Net first (the order a configuration error lists them in)
NETWORKS.register("unet")(UNet)
NETWORKS.register("dncnn")(DnCNN)


def build(name: str, spec: NetSpec, **kwargs) -> _ProximalNet:
    """Build a registered network (`NETWORKS`: 'dncnn', 'unet', proximal networks with an output layer and
    `architecture`) by name from a spec.

    >>> net = build("unet", NetSpec(group="C1", width=2, depth=2, kernel_size=3), scales=1)
    >>> net.architecture()
    ('unet', {'scales': 1, 'residual': True})
    """
    if not isinstance(spec, NetSpec):
        raise TypeError(f"build needs a NetSpec, got {type(spec).__name__}")
    key = str(name).lower()
    if key not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; expected one of {sorted(NETWORKS)}")
    return NETWORKS.get(key)(spec, **kwargs)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
