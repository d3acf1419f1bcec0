"""The group law of the planar groups C_N, D_N, SO(2) and O(2): elements and their arithmetic.

`PlanarGroupBase` holds everything a planar group is without its representations (elements, composition,
generators, quadrature); `equinet.groups.group.PlanarGroup` adds the representations built on it.

Every group here is a subgroup of O(2) acting on the plane. An element is a pair (reflection flag f, angle θ)
acting by ``H = R(θ) F^f`` where ``F`` flips the y-axis (see ``docs/conventions.md``). Composition:

    (f1, θ1)(f2, θ2) = (f1 xor f2, θ1 + (-1)^f1 θ2).

Finite groups store the angle as an integer number of steps of 2π/N, so their arithmetic is exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

TWO_PI = 2.0 * math.pi


@dataclass(frozen=True)
class GroupElement:
    """An element of a planar group: reflect (if ``reflection``), then rotate by ``angle``.

    For finite groups ``steps`` is the rotation as an integer multiple of 2π/N; for continuous groups it is None.
    """

    group: "PlanarGroupBase" = field(repr=False, compare=True)
    reflection: bool
    angle: float = field(compare=False)
    steps: int | None = None

    def __post_init__(self):
        if self.steps is None:
            # continuous: normalise the angle so equal elements compare equal
            object.__setattr__(self, "angle", float(self.angle) % TWO_PI)

    # equality for continuous elements uses the (normalised) angle with a tolerance
    def __eq__(self, other):
        if not isinstance(other, GroupElement) or other.group != self.group:
            return NotImplemented
        if self.reflection != other.reflection:
            return False
        if self.steps is not None:
            return self.steps == other.steps
        d = (self.angle - other.angle) % TWO_PI
        return min(d, TWO_PI - d) < 1e-12

    def __hash__(self):
        if self.steps is not None:
            return hash((self.group, self.reflection, self.steps))
        return hash((self.group, self.reflection))  # equality is up to a tolerance: hash coarsely

    def __mul__(self, other: "GroupElement") -> "GroupElement":
        return self.group.compose(self, other)

    @property
    def inverse(self) -> "GroupElement":
        return self.group.inverse(self)

    @property
    def matrix(self) -> np.ndarray:
        """The 2x2 orthogonal matrix H acting on (x, y)."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        R = np.array([[c, -s], [s, c]])
        return R @ np.diag([1.0, -1.0]) if self.reflection else R

    @property
    def preserves_grid(self) -> bool:
        """True if the element maps the square pixel grid onto itself (multiples of 90°, with or without flip)."""
        if self.steps is not None and self.group.N is not None:
            return (4 * self.steps) % self.group.N == 0
        q = self.angle / (math.pi / 2)
        return abs(q - round(q)) < 1e-12

    def __repr__(self):
        deg = math.degrees(self.angle)
        f = "flip·" if self.reflection else ""
        return f"{self.group.name}[{f}rot({deg:.6g}°)]"


#: the largest rotation order N of C_N / D_N (and twice the largest band limit of SO(2) / O(2))
MAX_ORDER = 1024


class PlanarGroupBase:
    """A subgroup of O(2): rotations by multiples of 2π/N (N = None: all angles), optionally with reflections.

    The group law only; use `equinet.groups.PlanarGroup` (made by the factories `cyclic`, `dihedral`, `so2`,
    `o2`), which adds the group's representations.
    """

    def __init__(self, N: int | None, reflections: bool, max_frequency: int | None = None):
        if N is not None:
            if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
                raise ValueError(f"the rotation order N must be an integer >= 1, got {N!r}")
            N = int(N)
            if N > MAX_ORDER:
                raise ValueError(f"the rotation order N = {N} is above the supported maximum {MAX_ORDER} (a regular "
                                 f"field of C_N has N channels, its representation N x N entries)")
            band = N // 2
        else:
            if max_frequency is None or isinstance(max_frequency, bool) or not isinstance(
                max_frequency, (int, np.integer)) or max_frequency < 0:
                raise ValueError(
                    f"a continuous group needs an integer max_frequency >= 0 (its band limit), got {max_frequency!r}")
            band = int(max_frequency)
            if band > MAX_ORDER // 2:
                raise ValueError(f"max_frequency = {band} is above the supported maximum {MAX_ORDER // 2}")
        self.N = N
        self.reflections = bool(reflections)
        self.max_frequency = band

    # ---------------------------------------------------------------- identity
    @property
    def continuous(self) -> bool:
        return self.N is None

    @property
    def order(self) -> int | None:
        """Number of elements (None for continuous groups)."""
        if self.N is None:
            return None
        return self.N * (2 if self.reflections else 1)

    @property
    def name(self) -> str:
        if self.N is None:
            return "O(2)" if self.reflections else "SO(2)"
        return f"D{self.N}" if self.reflections else f"C{self.N}"

    @property
    def key(self) -> str | tuple[str, int]:
        """Hashable identity of the group (the band limit of continuous groups is not part of it)."""
        return ("O2" if self.reflections else "SO2") if self.N is None else (
            ("D" if self.reflections else "C"), self.N)

    def __eq__(self, other):
        return isinstance(other, PlanarGroupBase) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __repr__(self):
        if self.N is None:
            return f"{self.name}(max_frequency={self.max_frequency})"
        return self.name

    # ---------------------------------------------------------------- elements
    def element(self, angle: float = 0.0, reflection: bool = False, *, steps: int | None = None) -> GroupElement:
        """The element ``R(angle) F^reflection``; for finite groups give ``steps`` (angle = 2π·steps/N) or an angle
        that is a multiple of 2π/N."""
        if reflection and not self.reflections:
            raise ValueError(f"{self.name} has no reflections")
        if self.N is None:
            if steps is not None:
                raise ValueError(f"{self.name} is continuous: give an angle, not steps")
            return GroupElement(self, bool(reflection), float(angle))
        if steps is None:
            q = float(angle) * self.N / TWO_PI
            if abs(q - round(q)) > 1e-9:
                raise ValueError(f"angle {angle!r} rad is not a multiple of 2π/{self.N}: not an element of {self.name}")
            steps = int(round(q))
        steps = int(steps) % self.N
        return GroupElement(self, bool(reflection), TWO_PI * steps / self.N, steps)

    @property
    def identity(self) -> GroupElement:
        return self.element(0.0) if self.N is None else self.element(steps=0)

    def compose(self, a: GroupElement, b: GroupElement) -> GroupElement:
        """The product ``a·b`` (apply b first, then a)."""
        self._check(a)
        self._check(b)
        if self.N is None:
            ang = a.angle + (-b.angle if a.reflection else b.angle)
            return GroupElement(self, a.reflection != b.reflection, ang)
        sa, sb = self._steps(a), self._steps(b)
        steps = sa + (-sb if a.reflection else sb)
        return self.element(steps=steps, reflection=a.reflection != b.reflection)

    def inverse(self, a: GroupElement) -> GroupElement:
        self._check(a)
        if a.reflection:  # R(θ)F is an involution
            return a
        return self.element(-a.angle) if self.N is None else self.element(steps=-self._steps(a))

    @staticmethod
    def _steps(a: GroupElement) -> int:
        """The rotation steps of an element of a finite group (checked by `_check`: it has them)."""
        if a.steps is None:
            raise ValueError(f"element {a!r} of a finite group has no rotation steps")
        return a.steps

    def _check(self, a: GroupElement) -> None:
        if not isinstance(a, GroupElement):
            raise TypeError(f"expected an element of {self.name}, got {type(a).__name__}")
        if a.group != self:
            raise ValueError(f"element {a!r} belongs to {a.group.name}, not to {self.name}")

    def elements(self) -> list[GroupElement]:
        """All elements of a finite group (rotations first, then the reflections)."""
        if self.N is None:
            raise ValueError(f"{self.name} is continuous and has no finite list of elements; "
                             "use testing_elements(n, seed)")
        return [self.element(steps=k, reflection=f) for f in ((False, True) if self.reflections else (False,))
                for k in range(self.N)]

    def __iter__(self) -> Iterator[GroupElement]:
        return iter(self.elements())

    def __len__(self) -> int:
        if self.N is None:
            raise TypeError(f"{self.name} is continuous")
        return self.N * (2 if self.reflections else 1)

    def testing_elements(self, n: int | None = None, seed: int | None = None) -> list[GroupElement]:
        """Elements to test with: all of them for finite groups; for continuous groups ``n`` evenly spaced rotations
        (and their reflections), or ``n`` random ones when a ``seed`` is given."""
        if self.N is not None:
            return self.elements()
        n = 8 if n is None else int(n)
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if seed is None:
            angles = [TWO_PI * k / n for k in range(n)]
        else:
            angles = list(np.random.default_rng(seed).uniform(0, TWO_PI, size=n))
        flips = (False, True) if self.reflections else (False,)
        return [self.element(a, f) for f in flips for a in angles]

    def generators(self) -> list[GroupElement]:
        """Elements generating the group (for SO(2)/O(2): a rotation by an irrational multiple of π, which generates a
        dense subgroup; constraints imposed on it hold for every band-limited representation)."""
        if self.N is None:
            # rotations by 1 and sqrt(2) rad: irrational multiples of π, so no two frequencies alias on them
            gens = [self.element(1.0), self.element(math.sqrt(2.0))]
        else:
            gens = [self.element(steps=1)] if self.N > 1 else []
        if self.reflections:
            gens.append(self.element(0.0, True) if self.N is None else self.element(steps=0, reflection=True))
        return gens

    def quadrature(self) -> tuple[list[GroupElement], np.ndarray]:
        """Elements and weights integrating band-limited class functions exactly (the Haar mean)."""
        if self.N is not None:
            els = self.elements()
            return els, np.full(len(els), 1.0 / len(els))
        m = 4 * self.max_frequency + 4  # exact for products of two characters of frequency <= max_frequency
        els = self.testing_elements(m)
        return els, np.full(len(els), 1.0 / len(els))

    def is_subgroup_of(self, other: "PlanarGroupBase") -> bool:
        """Whether this group is a subgroup of ``other`` (with the flip across the x-axis as common reflection)."""
        if self.reflections and not other.reflections:
            return False
        if other.N is None:
            return True
        return self.N is not None and other.N % self.N == 0
