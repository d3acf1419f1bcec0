"""Group averaging (the Reynolds operator): f̄ = 1/|G| Σ_g T_g⁻¹ ∘ f ∘ T_g turns any image-to-image map into an
equivariant one.

For grid-preserving elements (multiples of 90°, flips) the actions are exact pixel permutations, so f̄ is equivariant
to float precision for C1, C2, C4, D1, D2, D4 whatever f is. For larger groups every element is written g = r·q with
q in the grid-preserving subgroup Q and r a rotation by less than 90° (one per coset gQ), and T_g = T_r ∘ T_q with
T_q exact and T_r the band-limited 'fourier' (or 'bilinear') rotation: the average is then exactly Q-equivariant
(it is a Q-average of a map) and as equivariant to the other elements as the interpolation allows.

`RandomlyAveraged` is its one-sample Monte-Carlo estimate: T_g⁻¹ f(T_g x) for one element g drawn uniformly per
call from a seeded generator (the scheme of Terris et al., "Equivariant plug-and-play image reconstruction",
CVPR 2024): one pass instead of |G|, equivariant in expectation over g, and its mean over all elements is f̄.

This is for image -> image maps (denoisers, proximal networks, post-processing networks). A reconstructor
``model(y, physics)`` cannot be averaged this way in general: rotating the image does not commute with the physics
(only with operators that are themselves equivariant); average the image-to-image part of it instead.
"""
from __future__ import annotations

import torch
from torch import nn

from ..groups.action import _exact_spatial, act
from ..groups.group import PlanarGroup
from ..groups.planar import GroupElement
from ..groups.representation import Representation
from .export import is_standard, plain
from .field_type import FieldType
from .loading import AllOrNothingLoad

__all__ = ["GroupAveraged", "RandomlyAveraged"]

METHODS = ("fourier", "bilinear")


def _rep(t, group, name):
    if t is None:
        return None
    rep = t.representation if isinstance(t, FieldType) else t
    if not isinstance(rep, Representation):
        raise TypeError(f"{name} must be a FieldType, a Representation or None (trivial on every channel), got "
                        f"{type(t).__name__}")
    if rep.group != group:
        raise ValueError(f"{name} is a type of {rep.group.name}, but the average is over {group.name}")
    return rep


class GroupAveraged(AllOrNothingLoad, nn.Module):
    """The group average f̄(x) = 1/|G| Σ_g T_g⁻¹ f(T_g x) of an image-to-image module ``f``.

    Args:
        module: any callable ``[B, C, H, W] -> [B, C', H, W]`` (an ``nn.Module`` is registered as a submodule).
        group: a finite equinet group (``groups.cyclic(4)``, ``groups.dihedral(8)``, …).
        in_type, out_type: field types (or representations) of the input / output channels; None = trivial on
            every channel (plain images).
        method: action of elements that do not preserve the pixel grid: 'fourier' (band-limited) or 'bilinear'.
    """

    def __init__(self, module, group: PlanarGroup, in_type=None, out_type=None, method: str = "fourier"):
        super().__init__()
        if not callable(module):
            raise TypeError(f"GroupAveraged needs a callable module, got {type(module).__name__}")
        if not isinstance(group, PlanarGroup):
            raise TypeError(f"group must be an equinet group (groups.cyclic(N), groups.dihedral(N)), got "
                            f"{type(group).__name__}")
        if group.continuous:
            raise ValueError(f"{group!r} is continuous: averaging needs a finite group, e.g. groups.cyclic(16)")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        self.module = module
        self.group = group
        self.method = method
        self.in_type, self.out_type = in_type, out_type
        self._in_rep = _rep(in_type, group, "in_type")
        self._out_rep = _rep(out_type, group, "out_type")
        self.elements = group.elements()
        self.factors = _factor(self.elements)

    @property
    def exact(self) -> bool:
        """True if every element preserves the pixel grid (the average is then exactly equivariant)."""
        return all(g.preserves_grid for g in self.elements)

    def conjugated(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """T_g⁻¹ f(T_g x) for the element ``g = self.elements[index]`` (one term of the average)."""
        r, q = self.factors[index]  # T_g = T_r T_q, T_g⁻¹ = T_q⁻¹ T_r⁻¹
        u = act(r, act(q, x, self._in_rep, "exact"), self._in_rep, self.method)
        return act(q.inverse, act(r.inverse, self.module(u), self._out_rep, self.method), self._out_rep, "exact")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor | None = None
        for i in range(len(self.elements)):
            y = self.conjugated(i, x)
            out = y if out is None else out + y
        if out is None:  # a finite group has at least its identity
            raise RuntimeError("GroupAveraged has no group elements to average over")
        return out / len(self.elements)

    def export(self) -> nn.Module:
        """A ``torch.fx.GraphModule`` of standard torch ops computing the same average (grid-preserving groups).

        The wrapped module is exported with its own ``export()`` if it has one, or used as it is if it is already
        plain torch (``equinet.nn.is_standard``). Groups with off-grid elements average through the size-dependent
        Fourier/bilinear rotation and are not exported: use the module itself, or a grid-preserving subgroup.
        """
        if not self.exact:
            raise ValueError(f"export() needs a grid-preserving group (C1, C2, C4, D1, D2, D4); {self.group!r} "
                             f"has elements acting by '{self.method}' interpolation")
        inner = self.module.export() if hasattr(self.module, "export") else self.module
        if not isinstance(inner, nn.Module) or not is_standard(inner):
            raise TypeError(f"cannot export the wrapped {type(self.module).__name__}: it is not plain torch and has no "
                            "export()")
        return plain(_ExactAverage(inner, self.elements, self._in_rep, self._out_rep))

    def extra_repr(self) -> str:
        return f"group={self.group!r}, method={self.method!r}, exact={self.exact}"


class RandomlyAveraged(GroupAveraged):
    """One random term of the group average per call: T_g⁻¹ f(T_g x) with g uniform over the group, drawn from a
    seeded generator (the same for the whole batch), so a sequence of calls is reproducible; `manual_seed` restarts
    the sequence. The mean over all elements is `GroupAveraged`'s f̄; the element of the last call is
    ``last_element``. Same arguments as `GroupAveraged`, plus ``seed``.

    >>> import torch
    >>> from equinet import groups
    >>> f = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    >>> rand = RandomlyAveraged(f, groups.cyclic(4), seed=0)
    >>> x = torch.randn(1, 1, 8, 8)
    >>> first = [rand(x) for _ in range(3)]
    >>> rand.manual_seed(0); all(torch.equal(a, rand(x)) for a in first)
    True
    >>> mean = sum(rand.conjugated(i, x) for i in range(4)) / 4
    >>> torch.allclose(mean, GroupAveraged(f, groups.cyclic(4))(x))
    True
    """

    def __init__(self, module, group: PlanarGroup, in_type=None, out_type=None, method: str = "fourier",
                 seed: int = 0):
        super().__init__(module, group, in_type, out_type, method)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {seed!r}")
        self.seed = seed
        self.generator = torch.Generator()
        self.manual_seed(seed)
        self.last_element: GroupElement | None = None

    def manual_seed(self, seed: int | None = None) -> None:
        """Restart the sequence of drawn elements from ``seed`` (default: the seed given at construction)."""
        self.generator.manual_seed(self.seed if seed is None else int(seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = int(torch.randint(len(self.elements), (1,), generator=self.generator))
        self.last_element = self.elements[i]
        return self.conjugated(i, x)

    def export(self) -> nn.Module:
        raise TypeError("a RandomlyAveraged module draws an element per call and is not exported; export the "
                        "GroupAveraged (full average) or the wrapped module")

    def extra_repr(self) -> str:
        return super().extra_repr() + f", seed={self.seed}"


def _factor(elements):
    """Each element g as (r, q) with g = r·q, q grid-preserving and r the rotation of least angle in the coset gQ."""
    Q = [q for q in elements if q.preserves_grid]
    out = []
    for g in elements:
        best = None
        for q in Q:
            r = g * q.inverse
            if not r.reflection and (best is None or r.steps < best[0].steps):
                best = (r, q)
        out.append(best)
    return out


class _ExactAverage(nn.Module):
    """Trace target of `GroupAveraged.export`: flips, rot90 and constant channel mixing only."""

    def __init__(self, inner: nn.Module, elements, in_rep, out_rep):
        super().__init__()
        self.inner = inner
        self.ops = []
        for i, g in enumerate(elements):
            gi = g.inverse
            for tag, rep, el in (("in", in_rep, g), ("out", out_rep, gi)):
                if rep is not None and not rep.is_trivial():
                    self.register_buffer(f"{tag}{i}", torch.as_tensor(rep(el), dtype=torch.get_default_dtype()))
            self.ops.append((i, g, gi))
        self.in_mixed = in_rep is not None and not in_rep.is_trivial()
        self.out_mixed = out_rep is not None and not out_rep.is_trivial()

    def forward(self, x):
        out: torch.Tensor | int = 0
        for i, g, gi in self.ops:
            u = _exact_spatial(x, g)
            if self.in_mixed:
                u = torch.einsum("oc,bchw->bohw", getattr(self, f"in{i}").to(u.dtype), u)
            v = _exact_spatial(self.inner(u), gi)
            if self.out_mixed:
                v = torch.einsum("oc,bchw->bohw", getattr(self, f"out{i}").to(v.dtype), v)
            out = out + v
        return out / len(self.ops)
