"""One specification for equivariant proximal networks and their translation-equivariant twins."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union, cast

from ..groups import PlanarGroup, direct_sum, get, trivial_group
from ..groups.representation import Representation
from ..nn.field_type import FieldType
from ..utils.checks import check_bool, check_memory, check_nonnegative_int, check_positive_int
from ..utils.registry import Registry
from .activation import FUNCTIONS, Activation

#: name -> network class built from a `NetSpec` (``cls(spec, **kwargs)``); each registers itself where defined
NETWORKS: Registry = Registry("network")


#: pointwise functions a network can be built with (alias-free variants: `Activation`)
ACTIVATIONS = FUNCTIONS


#: the most layers of a proximal network (DnCNN depth, convolutions per U-Net block)
MAX_DEPTH = 256


@dataclass(frozen=True)
class NetSpec:
    """What a proximal network is made of.

    Args:
        group: the symmetry group (a PlanarGroup or a name such as 'C8', 'D4', 'SO2'); ``'C1'`` (the trivial
            group) gives an ordinary CNN.
        in_channels, out_channels: scalar image channels in and out (e.g. u, ∇E and memory in; u out).
        width: hidden fields per layer (regular fields for finite groups, band-limited fields for SO(2)/O(2),
            plain channels for the trivial group).
        depth: number of convolutions (DnCNN) or convolutions per scale (U-Net).
        kernel_size: k, odd (a centred kernel: even sizes would shift features by half a pixel and break
            equivariance about the pixel centres, so they are refused).
        bias: False removes every additive term (positively homogeneous network, f(c·x) = c·f(x)).
        batch_norm: equivariant batch normalisation between convolution and nonlinearity.
        max_frequency: band limit of the hidden fields of SO(2)/O(2) networks.
        activation: pointwise nonlinearity of finite-group and plain networks: an `Activation` or a function name
            'relu' (default), 'leaky_relu', 'elu' or 'softplus' (stored as an `Activation`). Smooth ones ('elu',
            'softplus') keep networks closer to equivariant at angles off the pixel grid (docs/benchmarks.md).
            SO(2)/O(2) networks use the norm-ReLU and accept only 'relu'; ``bias=False`` (positive homogeneity)
            needs 'relu' or 'leaky_relu'. ``Activation('relu', alias_free='radial')`` evaluates the function
            alias-free (2x finer grid, radial low-pass; docs/alias_free.md): far more equivariant off the pixel
            grid, exact on it, no parameters; ``alias_free='quincunx'`` is the quincunx variant (sharper,
            cheaper, less equivariant off the grid in deep networks). The strings 'relu_aa' / 'relu_aaq' are
            deprecated (accepted with a DeprecationWarning).
    """

    group: object = "C4"
    in_channels: int = 1
    out_channels: int = 1
    width: int = 8
    depth: int = 5
    kernel_size: int = 5
    bias: bool = True
    batch_norm: bool = False
    max_frequency: int = 3
    activation: Union[str, Activation] = "relu"

    def __post_init__(self):
        for name in ("bias", "batch_norm"):
            check_bool(getattr(self, name), f"NetSpec.{name}")
        object.__setattr__(self, "activation", Activation.parse(self.activation, "NetSpec.activation"))
        check_nonnegative_int(self.max_frequency, "NetSpec.max_frequency")
        G = self.group
        if not isinstance(G, (PlanarGroup, str)):
            raise TypeError(f"NetSpec.group must be a PlanarGroup or a name such as 'C8', got {G!r}")
        if not isinstance(G, PlanarGroup):
            name = str(G).upper().replace("(", "").replace(")", "")
            G = get(name, max_frequency=self.max_frequency) if name in ("SO2", "O2") else get(name)
        object.__setattr__(self, "group", G)
        for name in ("in_channels", "out_channels", "width", "depth", "kernel_size"):
            v = getattr(self, name)
            check_positive_int(v, f"NetSpec.{name}")
        from ..kernels.basis import MAX_KERNEL_SIZE
        if self.kernel_size > MAX_KERNEL_SIZE:
            raise ValueError(f"NetSpec.kernel_size = {self.kernel_size} is above the supported maximum "
                             f"{MAX_KERNEL_SIZE}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"NetSpec.kernel_size must be odd (a centred kernel keeps the network equivariant about "
                             f"pixel centres; 'same' padding of an even kernel shifts by half a pixel), got "
                             f"{self.kernel_size}")
        act = self.act
        if G.N is None and act != Activation("relu"):
            raise ValueError(f"NetSpec.activation={str(act)!r}: {G.name} networks use the norm nonlinearity "
                             f"on band-limited fields, which supports only 'relu'")
        if self.depth > MAX_DEPTH:
            raise ValueError(f"NetSpec.depth = {self.depth} is above the supported maximum {MAX_DEPTH}")
        # the widest convolution's expanded filter (float32): (width·|G|)² k² values, at every layer
        channels = self.width * (G.N * (2 if G.reflections else 1) if G.N is not None else 2 * self.max_frequency + 1)
        check_memory(4.0 * self.depth * channels ** 2 * self.kernel_size ** 2,
                     f"a network of depth {self.depth} with {self.width} {G.name} fields per layer "
                     f"({channels} channels), kernel {self.kernel_size}")
        if not self.bias and not act.homogeneous:
            raise ValueError(f"NetSpec(bias=False) promises f(c·x) = c·f(x), which needs a positively homogeneous "
                             f"activation ('relu' or 'leaky_relu', plain or alias-free), got {str(act)!r}")

    @property
    def G(self) -> PlanarGroup:
        """`group` as a `PlanarGroup` (a name is resolved at construction)."""
        return cast(PlanarGroup, self.group)

    @property
    def act(self) -> Activation:
        """`activation` as an `Activation` (a name is parsed at construction)."""
        return cast(Activation, self.activation)

    # ------------------------------------------------------------------ field types
    @property
    def hidden_rep(self) -> Representation:
        """The representation of one hidden field."""
        G = self.G
        if G.N is not None:
            return G.regular
        irr = [p for p in G.irreps() if p.frequency <= self.max_frequency]
        return direct_sum(*irr, name=f"bandlimited(L={self.max_frequency})")

    @property
    def is_translation_only(self) -> bool:
        """True for the trivial group: the network is an ordinary CNN with full k x k kernels."""
        return self.G.order == 1

    @property
    def pointwise(self) -> bool:
        """Whether the hidden fields admit pointwise nonlinearities (finite groups: regular fields)."""
        return self.G.N is not None

    def hidden_type(self, width: int | None = None) -> FieldType:
        return FieldType(self.G, [self.hidden_rep] * (self.width if width is None else width))

    def image_type(self, channels: int) -> FieldType:
        return FieldType.trivial(self.G, channels)

    # ------------------------------------------------------------------ twins
    def with_group(self, group, width: int) -> "NetSpec":
        return replace(self, group=group, width=width)

    def translation_twin(self, match: str = "params", net="dncnn", **build_kwargs) -> "NetSpec":
        """The same specification with the trivial group (an ordinary CNN) and a width chosen to match the
        equivariant network's number of parameters (``match='params'``) or its number of channels
        (``match='width'``: width × |G| channels, i.e. the same activations memory).

        Parameters are counted on the architecture actually built: ``net`` is ``'dncnn'``, ``'unet'`` or a built
        `DnCNN` / `UNet` (whose ``scales`` and ``residual`` are used);
        ``build_kwargs`` (e.g. ``scales=3``) are passed to `build`."""
        if match not in ("params", "width"):
            raise ValueError(f"match must be 'params' or 'width', got {match!r}")
        C1 = trivial_group()
        if match == "width":
            return self.with_group(C1, self.width * self.hidden_rep.size)
        return self.matched_width(C1, net=net, **build_kwargs)

    def matched_width(self, group, net="dncnn", **build_kwargs) -> "NetSpec":
        """The same specification on ``group`` with the width whose parameter count (of ``build(net, ·,
        **build_kwargs)``; ``net`` a name or a built network, as in `translation_twin`) is closest to this
        network's (the smallest such width on ties). Warns if the closest count is more than 10 % away (tiny
        networks: one channel more or less is already a large step)."""
        import warnings
        name, kwargs = _architecture(net, build_kwargs)
        cls = NETWORKS.get(name)
        count = lambda spec: sum(p.numel() for p in cls(spec, **kwargs).parameters())  # noqa: E731
        target = count(self)
        best = None
        for w in range(1, 8 * self.width * self.hidden_rep.size + 2):
            spec = self.with_group(group, w)
            n = count(spec)
            if best is None or abs(n - target) < best[1]:
                best = (spec, abs(n - target), n)
            if n > target:
                break
        assert best is not None  # the loop runs at least once (w = 1)
        if best[1] > 0.1 * target:
            warnings.warn(f"the closest {best[0].G.name} {name} (width {best[0].width}) has {best[2]} parameters, "
                          f"{100 * best[1] / target:.0f} % away from the {self.G.name} network's {target}: the "
                          f"networks are too small to match closely", stacklevel=2)
        return best[0]


def _architecture(net, build_kwargs: dict) -> tuple:
    """(network name, build keyword arguments) of ``net``: a name, or a built network (its `architecture`: for a
    U-Net its scales and residual)."""
    if isinstance(net, str):
        return str(net).lower(), dict(build_kwargs)
    arch = getattr(net, "architecture", None)
    if callable(arch):
        name, kwargs = arch()
        return name, dict(kwargs, **build_kwargs)
    raise TypeError(f"net must be 'dncnn', 'unet' or a built DnCNN/UNet, got {type(net).__name__}")
