"""Families of operators whose parameters vary from one measurement to the next: ``y_i = A_{g_i} x_i``.

An `OperatorFamily` holds ``g`` members (equinet operators acting on images of one size, with measurements of one
shape and one noise model), e.g. MRI with a different k-space mask per scan (`mri_family`) or inpainting with a
different mask per image (`inpainting_family`). Two views of a family are operators themselves:

* ``family.select(ops)``: the operator of a batch whose item ``b`` was measured by member ``ops[b]``
  (`PerSampleOperators`): forward, adjoint, pseudo-inverse and noise act item by item with the item's own member,
  so every reconstructor and loss that takes ``(y, physics)`` works unchanged on multi-operator batches;
* ``family.stacked()``: ``[A_1; ...; A_g]`` (`StackedOperators`), whose null space is the joint null space of the
  family (what no member sees: `equinet.diagnostics.family_rank`).

>>> import torch
>>> family = inpainting_family(8, 3, drop=0.5, seed=0)
>>> A = family.select(torch.tensor([2, 0]))        # item 0 measured by member 2, item 1 by member 0
>>> x = torch.rand(2, 1, 8, 8)
>>> torch.equal(A(x)[0], family[2](x[:1])[0]), torch.equal(A(x)[1], family[0](x[1:])[0])
(True, True)
"""
from __future__ import annotations

import hashlib
import numbers
from typing import Iterator, List, Optional, Sequence

import torch
from torch import nn

from ..utils.seeding import check_seed, derived_seed
from .base import LinearPhysics, as_image_size
from .mri import MRI
from .radon import Radon
from .simple import Inpainting

__all__ = ["OperatorFamily", "PerSampleOperators", "StackedOperators", "mri_family", "inpainting_family",
           "radon_family", "physics_for"]


class OperatorFamily(nn.Module):
    """``g`` operators ``A_1, ..., A_g`` of one kind of acquisition (one image size, one measurement shape, one
    noise model); a dataset says which member measured each item.

    Args:
        members: a non-empty sequence of `equinet.physics.LinearPhysics` built with an ``image_size``.

    ``family[k]`` is member ``k``, ``len(family)`` is ``g``; ``select(ops)`` the per-sample operator of a batch,
    ``stacked()`` the stacked operator, ``assignment(n)`` the default member of items ``0..n-1`` (``i mod g``),
    ``norm()`` the largest member norm (a step size valid for every member).
    """

    def __init__(self, members: Sequence[LinearPhysics]):
        super().__init__()
        if not isinstance(members, (list, tuple, nn.ModuleList)):
            raise TypeError(f"an operator family takes a list of equinet LinearPhysics, got {type(members).__name__}")
        members = list(members)
        if not members:
            raise ValueError("an operator family needs at least one member")
        for k, m in enumerate(members):
            if not isinstance(m, LinearPhysics):
                raise TypeError(f"operator family: member {k} is a {type(m).__name__}, not an equinet LinearPhysics")
            if m.image_size is None:
                raise ValueError(f"operator family: member {k} ({type(m).__name__}) was built without image_size; "
                                 "every member needs one")
        ref = members[0]
        for k, m in enumerate(members[1:], 1):
            for what, a, b in (("image size (H, W)", m.image_size, ref.image_size),
                               ("channel count", m.channels, ref.channels),
                               ("measurement shape", m.out_shape, ref.out_shape)):
                if a != b:
                    raise ValueError(f"operator family: member {k} has {what} {a}, member 0 has {b}; every member "
                                     "must act on images of one size with measurements of one shape")
            if type(m.noise) is not type(ref.noise) or repr(m.noise) != repr(ref.noise):
                raise ValueError(f"operator family: member {k} has noise {m.noise!r}, member 0 has {ref.noise!r}; "
                                 "the members must share one noise model")
        self.members = nn.ModuleList(members)

    # ------------------------------------------------------------------------------------- the members
    def __len__(self) -> int:
        return len(self.members)

    def __getitem__(self, k: int) -> LinearPhysics:
        member = self.members[k]
        assert isinstance(member, LinearPhysics)  # checked when built
        return member

    def __iter__(self) -> Iterator[LinearPhysics]:
        return (self[k] for k in range(len(self)))

    @property
    def image_size(self):
        """(H, W) of the images every member acts on."""
        return self[0].image_size

    @property
    def channels(self) -> Optional[int]:
        """The members' fixed channel count (None: channel-wise operators)."""
        return self[0].channels

    @property
    def in_shape(self):
        return self[0].in_shape

    @property
    def out_shape(self):
        return self[0].out_shape

    @property
    def noise(self):
        """The noise model the members share."""
        return self[0].noise

    def norm(self, **kwargs) -> float:
        """``max_k ||A_k||_2`` (each by `LinearPhysics.norm` with ``kwargs``): ``1 / norm()²`` is a gradient step
        size valid for every member."""
        return max(m.norm(**kwargs) for m in self)

    # --------------------------------------------------------------------------------------- the views
    def check_operators(self, operators) -> torch.Tensor:
        """``operators`` as a 1-D int64 CPU tensor of member indices in ``[0, g)`` (else a one-line error)."""
        ops = torch.as_tensor(operators)
        if ops.dim() != 1 or ops.is_floating_point() or ops.is_complex() or ops.dtype == torch.bool:
            raise ValueError(f"operator indices must be a 1-D integer tensor (one member index per item), got dtype "
                             f"{ops.dtype} and shape {tuple(ops.shape)}")
        ops = ops.detach().to(device="cpu", dtype=torch.int64)
        if ops.numel() and (int(ops.min()) < 0 or int(ops.max()) >= len(self)):
            raise ValueError(f"operator indices must lie in [0, {len(self)}) for a family of {len(self)} operators, "
                             f"got values in [{int(ops.min())}, {int(ops.max())}]")
        return ops

    def select(self, operators) -> "PerSampleOperators":
        """The operator of a batch whose item ``b`` is measured by member ``operators[b]``."""
        return PerSampleOperators(self, operators)

    def stacked(self) -> "StackedOperators":
        """``[A_1; ...; A_g]``: every member applied to the same image (measurements ``[B, C, g, ...]``)."""
        return StackedOperators(self)

    def assignment(self, n: int) -> torch.Tensor:
        """The default member of items ``0..n-1``: item ``i`` is measured by member ``i mod g`` (balanced, and a
        function of the item alone).

        >>> inpainting_family(4, 3).assignment(5).tolist()
        [0, 1, 2, 0, 1]
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        return torch.arange(int(n)) % len(self)

    def fingerprint(self) -> str:
        """A short text naming the members and a digest of their state (masks, kernels): a checkpoint written with
        one family is not resumed with another."""
        h = hashlib.sha256()
        for m in self.members:
            h.update(repr(m).encode())
            for name, t in sorted(m.state_dict().items()):
                h.update(name.encode())
                h.update(t.detach().cpu().contiguous().numpy().tobytes())
        kinds = sorted({type(m).__name__ for m in self.members})
        return f"{len(self)} x {'/'.join(kinds)} {self.image_size} sha256:{h.hexdigest()[:16]}"

    def extra_repr(self) -> str:
        return f"g={len(self)}, image_size={self.image_size}"


class PerSampleOperators(LinearPhysics):
    """The operator of a multi-operator batch: item ``b`` is measured by ``family[operators[b]]``
    (built by `OperatorFamily.select`).

    Forward, adjoint and pseudo-inverse apply each member to its items (one call per member present), so the
    operator is block-diagonal over the batch and its adjoint is exact whenever the members' are. ``measure``
    adds the family's noise and zeroes what each item's member does not measure. ``norm()`` is the largest norm
    of the members present.
    """

    def __init__(self, family: OperatorFamily, operators):
        if not isinstance(family, OperatorFamily):
            raise TypeError(f"family must be an equinet.physics.OperatorFamily, got {type(family).__name__}")
        super().__init__(family.image_size, noise=family.noise)
        self.family = family
        self.channels = family.channels
        self.operators = family.check_operators(operators)

    def _measurement_tail(self, image_hw):
        return self.family[0]._measurement_tail(image_hw)

    def _groups(self, t: torch.Tensor):
        """``[(member, flat indices on t's device)]`` for each member present in the batch."""
        n = self.operators.numel()
        if t.shape[0] != n:
            raise ValueError(f"PerSampleOperators: a batch of {t.shape[0]} items for {n} per-sample operators; "
                             "select the operators of exactly this batch")
        out = []
        for k in torch.unique(self.operators).tolist():
            idx = torch.nonzero(self.operators == k).flatten()
            out.append((self.family[k], idx.to(t.device)))
        return out

    def _per_sample(self, t: torch.Tensor, fn) -> torch.Tensor:
        groups = self._groups(t)
        if len(groups) <= 1:  # one member (or an empty batch)
            return fn(groups[0][0] if groups else self.family[0], t)
        pieces = [fn(member, t.index_select(0, idx)) for member, idx in groups]
        order = torch.cat([idx for _, idx in groups])
        return torch.cat(pieces).index_select(0, torch.argsort(order))

    def _forward(self, x):
        return self._per_sample(x, lambda m, t: m._forward(t))

    def _adjoint(self, y):
        return self._per_sample(y, lambda m, t: m._adjoint(t))

    def _pinv(self, y):
        return self._per_sample(y, lambda m, t: m._pinv(t))

    def _measurement_mask(self, y):
        if all(m._measurement_mask(y.index_select(0, idx)) is None for m, idx in self._groups(y)):
            return None

        def one(m, t):
            mask = m._measurement_mask(t)
            return torch.ones_like(t) if mask is None else mask.expand_as(t)
        return self._per_sample(y, one)

    def norm(self, n_iter: int = 100, tol: float = 1e-7, dtype: torch.dtype = torch.float64, device=None,
             seed: int = 0) -> float:
        """The largest ``||A_k||_2`` (`LinearPhysics.norm` with these arguments) of the members present in the batch:
        the norm of the block-diagonal operator."""
        return max(self.family[k].norm(n_iter=n_iter, tol=tol, dtype=dtype, device=device, seed=seed)
                   for k in torch.unique(self.operators).tolist())

    def _default_device(self):
        return self.family[0]._default_device()

    def extra_repr(self) -> str:
        return f"family of {len(self.family)}, batch of {self.operators.numel()}, image_size={self._image_size}"


class StackedOperators(LinearPhysics):
    """``[A_1; ...; A_g]`` of an `OperatorFamily` (built by `OperatorFamily.stacked`): measurements
    ``[B, C, g, ...]`` (member ``k``'s at index ``k`` of dim 2), adjoint the sum of the members' adjoints. Its rank
    is the number of image directions some member sees (`equinet.diagnostics.family_rank`)."""

    def __init__(self, family: OperatorFamily):
        if not isinstance(family, OperatorFamily):
            raise TypeError(f"family must be an equinet.physics.OperatorFamily, got {type(family).__name__}")
        super().__init__(family.image_size, noise=family.noise)
        self.family = family
        self.channels = family.channels

    def _measurement_tail(self, image_hw):
        return (len(self.family),) + tuple(self.family[0]._measurement_tail(image_hw))

    def _forward(self, x):
        return torch.stack([m._forward(x) for m in self.family], dim=2)

    def _adjoint(self, y):
        out = self.family[0]._adjoint(y[:, :, 0])
        for k in range(1, len(self.family)):
            out = out + self.family[k]._adjoint(y[:, :, k])
        return out

    def _measurement_mask(self, y):
        per = [m._measurement_mask(y[:, :, k]) for k, m in enumerate(self.family)]
        if all(p is None for p in per):
            return None
        return torch.stack([torch.ones_like(y[:, :, k]) if p is None else p.expand_as(y[:, :, k])
                            for k, p in enumerate(per)], dim=2)

    def _default_device(self):
        return self.family[0]._default_device()

    def extra_repr(self) -> str:
        return f"g={len(self.family)}, image_size={self._image_size}"


def _check_count(n_operators) -> int:
    if isinstance(n_operators, bool) or not isinstance(n_operators, numbers.Integral) or n_operators < 1:
        raise ValueError(f"n_operators must be an int >= 1, got {n_operators!r}")
    return int(n_operators)


def _member_seeds(n_operators, seed) -> List[int]:
    """Member ``k``'s seed: derived from ``(seed, k)`` (independent masks, each a function of the pair)."""
    seed = check_seed(seed)
    return [derived_seed(seed, k) % 2 ** 31 for k in range(_check_count(n_operators))]


def mri_family(image_size, n_operators: int, acceleration: float = 4.0, center_fraction: float = 0.08,
               seed: int = 0, noise=None) -> OperatorFamily:
    """``n_operators`` single-coil MRI operators (`equinet.physics.MRI`) with Cartesian line masks of one
    acceleration, member ``k``'s lines drawn with the seed derived from ``(seed, k)``; all share ``noise``.

    >>> fam = mri_family(16, 4, acceleration=4, seed=0)
    >>> len(fam), [int(m.mask[0].sum()) for m in fam]
    (4, [4, 4, 4, 4])
    """
    size = as_image_size(image_size)
    return OperatorFamily([MRI(size, acceleration=acceleration, center_fraction=center_fraction, seed=s, noise=noise)
                           for s in _member_seeds(n_operators, seed)])


def inpainting_family(image_size, n_operators: int, drop: float = 0.3, seed: int = 0, noise=None) -> OperatorFamily:
    """``n_operators`` inpainting operators (`equinet.physics.Inpainting`) each dropping ``round(drop H W)`` pixels,
    member ``k``'s mask drawn with the seed derived from ``(seed, k)``; all share ``noise``.

    >>> fam = inpainting_family(8, 2, drop=0.25, seed=1)
    >>> [int(m.mask.sum()) for m in fam]
    [48, 48]
    """
    size = as_image_size(image_size)
    return OperatorFamily([Inpainting(size, drop=drop, seed=s, noise=noise) for s in _member_seeds(n_operators, seed)])


def radon_family(image_size, n_operators: int, views: int, circle: bool = True, noise=None) -> OperatorFamily:
    """``n_operators`` sparse-view CT operators (`equinet.physics.Radon`) of ``views`` evenly spaced angles each,
    member ``k`` turned by ``k · 180° / (views · n_operators)``: together they sample ``views · n_operators`` evenly
    spaced angles (angle offsets per acquisition).

    >>> [m.angles[:2].tolist() for m in radon_family(16, 3, views=4)]
    [[0.0, 45.0], [15.0, 60.0], [30.0, 75.0]]
    """
    size = as_image_size(image_size)
    g = _check_count(n_operators)
    if isinstance(views, bool) or not isinstance(views, numbers.Integral) or views < 1:
        raise ValueError(f"views must be an int >= 1, got {views!r}")
    step = 180.0 / int(views)
    return OperatorFamily([Radon(size, [k * step / g + j * step for j in range(int(views))], circle=circle,
                                 noise=noise) for k in range(g)])


def physics_for(physics, operators):
    """The operator of a batch: ``physics`` itself for a single operator (``operators`` None), or the per-sample
    operator ``physics.select(operators)`` for an `OperatorFamily` (a one-line error when the two disagree)."""
    if isinstance(physics, OperatorFamily):
        if operators is None:
            raise ValueError("the physics is an OperatorFamily but the data carry no operator indices; measure them "
                             "with equinet.data.simulate_measurements(family, images, ...) or pass operators=")
        return physics.select(operators)
    if operators is not None:
        raise ValueError("the data carry per-sample operator indices but the physics is a single operator; pass the "
                         "equinet.physics.OperatorFamily that measured them")
    return physics
