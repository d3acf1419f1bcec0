"""Real orthogonal representations of planar groups, as first-class values.

A `Representation` is callable on group elements (returning its real orthogonal matrix), can be printed,
added (direct sum, ``r1 + r2``), changed to another basis, and decomposed into irreducibles with multiplicities
(computed from characters) and an explicit change of basis ``ρ(g) = Q (⊕_i ψ_i(g)) Qᵀ``.

Irreducible representations (ψ below; H = R(θ) F^f is the element, P = diag(1, -1)):

* C_N, ``irrep(k)``, 0 <= k <= N/2: ψ = 1 (k = 0), ψ = (-1)^steps (k = N/2), else the 2x2 rotation R(kθ).
* D_N, ``irrep(j, k)``: k = 0 or N/2: 1-D, the C_N value times (-1)^(j f); 0 < k < N/2: 2-D (only j = 1),
  R(kθ) P^f.
* SO(2), ``irrep(k)``, 0 <= k <= max_frequency; O(2), ``irrep(0, 0)``, ``irrep(1, 0)`` and ``irrep(1, k)``, k >= 1.
"""
from __future__ import annotations

import hashlib
import math
from typing import Callable, Sequence

import numpy as np

from .decomposition import decompose as _decompose
from .planar import GroupElement, PlanarGroupBase

_J = np.array([[0.0, -1.0], [1.0, 0.0]])
_P = np.diag([1.0, -1.0])


def _rot(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s], [s, c]])


class Representation:
    """A real orthogonal representation ``g -> ρ(g)`` of a `PlanarGroup`.

    Build them from the group (``G.irrep(k)``, ``G.regular``, ``G.quotient(H)``, ``G.representation(mats)``),
    by direct sums (``groups.direct_sum`` or ``+``) and by `change_basis`. Representations pickle (so do
    the layers and networks built on them) when ``matrix`` does: the built-in ones use module-level classes.
    """

    def __init__(self, group: PlanarGroupBase, size: int, matrix: Callable[[GroupElement], np.ndarray], name: str,
                 irreps: list["Irrep"] | None = None, change_of_basis: np.ndarray | None = None,
                 summands: list["Representation"] | None = None):
        self.group = group
        self.size = int(size)
        self._matrix = matrix
        self.name = name
        self._irreps = irreps
        self._Q = change_of_basis
        self.summands = summands if summands is not None else [self]
        self._key: tuple | None = None

    # ------------------------------------------------------------ evaluation
    def __call__(self, g: GroupElement) -> np.ndarray:
        """The matrix ρ(g), of shape (size, size)."""
        if not isinstance(g, GroupElement):
            raise TypeError(f"representation {self.name} of {self.group.name} expects a group element, "
                            f"got {type(g).__name__}")
        if g.group != self.group:
            raise ValueError(f"representation {self.name} is of {self.group.name}, "
                             f"but the element {g!r} is of {g.group.name}")
        return self._matrix(g)

    def character(self, g: GroupElement) -> float:
        """χ(g) = trace ρ(g)."""
        return float(np.trace(self(g)))

    def __repr__(self):
        return f"{self.group.name}|{self.name}|(size {self.size})"

    @property
    def key(self) -> tuple:
        """Hashable fingerprint: the group and the matrices on the generators (equal matrices, equal key)."""
        if self._key is None:
            h = hashlib.sha1()
            for g in self.group.generators():
                h.update(np.round(self(g), 10).astype(np.float64).tobytes())
            self._key = (self.group.key, self.size, h.hexdigest())
        return self._key

    def __eq__(self, other):
        return isinstance(other, Representation) and self.key == other.key

    def __hash__(self):
        return hash(self.key)

    def __add__(self, other: "Representation") -> "Representation":
        return direct_sum(self, other)

    def __mul__(self, n: int) -> "Representation":
        """``rep * n``: the direct sum of n copies."""
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"can only repeat a representation a positive integer number of times, got {n!r}")
        return direct_sum(*([self] * n))

    __rmul__ = __mul__

    # ------------------------------------------------------------ properties
    def is_permutation(self) -> bool:
        """Whether every element acts by a permutation matrix (trivial, regular, quotient representations): then
        maps applied channel by channel (pointwise nonlinearities, max pooling) commute with the action."""
        G = self.group
        for g in (G.generators() if G.N is not None else G.testing_elements(3, seed=0)):
            m = self(g)
            if not (np.all(np.isclose(m, 0) | np.isclose(m, 1)) and np.allclose(m.sum(0), 1)):
                return False
        return True

    def is_trivial(self) -> bool:
        """Whether every element acts as the identity."""
        return all(isinstance(i, Irrep) and i.is_trivial() for i in self.irreps)

    @property
    def irreps(self) -> list["Irrep"]:
        """Irreducible components, in the order of `change_of_basis`."""
        if self._irreps is None:
            self._irreps, self._Q = _decompose(self)
        return self._irreps

    @property
    def change_of_basis(self) -> np.ndarray:
        """Orthogonal Q with ρ(g) = Q · blockdiag(ψ_i(g)) · Qᵀ."""
        if self._Q is None:
            self._irreps, self._Q = _decompose(self)
        return self._Q

    def multiplicities(self) -> dict["Irrep", int]:
        """Multiplicity c_ψ of every irrep ψ in ρ, from characters: c_ψ = <χ_ρ, χ_ψ> / <χ_ψ, χ_ψ>."""
        els, w = self.group.quadrature()
        chi = np.array([self.character(g) for g in els])
        out: dict[Irrep, int] = {}
        for psi in all_irreps(self.group):
            chp = np.array([psi.character(g) for g in els])
            m = float(np.sum(w * chi * chp) / np.sum(w * chp * chp))
            mi = int(round(m))
            if abs(m - mi) > 1e-6:
                raise ArithmeticError(f"non-integer multiplicity {m} of {psi.name} in {self.name}: is the "
                                      f"representation band-limited to max_frequency={self.group.max_frequency}?")
            if mi:
                out[psi] = mi
        return out

    def decompose(self) -> list[tuple["Irrep", int]]:
        """``[(irrep, multiplicity), ...]`` in the group's irrep order."""
        return list(self.multiplicities().items())

    def change_basis(self, Q: np.ndarray, name: str | None = None) -> "Representation":
        """The equivalent representation ``g -> Q ρ(g) Qᵀ`` (Q orthogonal)."""
        Q = np.asarray(Q, dtype=np.float64)
        if Q.shape != (self.size, self.size):
            raise ValueError(f"change of basis must be ({self.size}, {self.size}) for {self.name}, got {Q.shape}")
        if not np.allclose(Q @ Q.T, np.eye(self.size), atol=1e-8):
            raise ValueError("change of basis must be an orthogonal matrix (Q Qᵀ = I)")
        cob = Q @ self.change_of_basis
        return Representation(self.group, self.size, _Conjugated(Q, self._matrix), name or f"Q·{self.name}·Qᵀ",
                              irreps=list(self.irreps), change_of_basis=cob)

    def check(self, elements: Sequence[GroupElement] | None = None, atol: float = 1e-8) -> None:
        """Raise ValueError unless ρ is orthogonal and a homomorphism on the given (default: testing) elements."""
        els = list(elements) if elements is not None else self.group.testing_elements(6, seed=0)
        for g in els:
            m = self(g)
            if m.shape != (self.size, self.size):
                raise ValueError(f"{self.name}({g}) has shape {m.shape}, expected ({self.size}, {self.size})")
            if not np.all(np.isfinite(m)):
                raise ValueError(f"{self.name}({g}) contains NaN or inf")
            if not np.allclose(m @ m.T, np.eye(self.size), atol=atol):
                raise ValueError(f"{self.name}({g}) is not orthogonal: equinet needs orthogonal representations "
                                 "(use an orthonormal basis, e.g. change_basis)")
        for a in els:
            for b in els:
                if not np.allclose(self(a * b), self(a) @ self(b), atol=atol):
                    raise ValueError(f"{self.name} is not a homomorphism: ρ({a}·{b}) != ρ({a})ρ({b})")


class Irrep(Representation):
    """A real irreducible representation; ``index`` is (k,) for C_N/SO(2) and (j, k) for D_N/O(2)."""

    def __init__(self, group: PlanarGroupBase, index: tuple[int, ...]):
        self.index = tuple(int(i) for i in index)
        self.frequency = self.index[-1]
        self.j = self.index[0] if group.reflections else 0
        N = group.N
        one_dim = self.frequency == 0 or (N is not None and 2 * self.frequency == N)
        dim = 1 if one_dim else 2
        label = ",".join(str(i) for i in self.index)
        super().__init__(group, dim, self._eval, f"irrep({label})", irreps=None,
                         change_of_basis=np.eye(dim))
        self._irreps = [self]

    def _eval(self, g: GroupElement) -> np.ndarray:
        k = self.frequency
        if self.size == 1:
            v = 1.0
            if k != 0:  # k = N/2 (a finite group, whose elements have steps): (-1)^steps
                v = -1.0 if (g.steps or 0) % 2 else 1.0
            if g.reflection and self.j == 1:
                v = -v
            return np.array([[v]])
        m = _rot(k * g.angle)
        return m @ _P if g.reflection else m

    @property
    def type(self) -> str:
        """'real' (endomorphisms are multiples of I) or 'complex' (2-D irreps of rotation groups)."""
        return "complex" if (self.size == 2 and not self.group.reflections) else "real"

    def is_trivial(self) -> bool:
        return self.frequency == 0 and self.j == 0

    def __repr__(self):
        return f"{self.group.name}|{self.name}"


def _valid_irrep_indices(G: PlanarGroupBase) -> list[tuple[int, ...]]:
    L = G.max_frequency
    if not G.reflections:
        return [(k,) for k in range(L + 1)]
    idx: list[tuple[int, ...]] = [(0, 0), (1, 0)]
    top = L if G.N is None else (G.N - 1) // 2
    idx += [(1, k) for k in range(1, top + 1)]
    if G.N is not None and G.N % 2 == 0 and G.N >= 2:
        idx += [(0, G.N // 2), (1, G.N // 2)]
    return idx


def irrep(G: PlanarGroupBase, *index) -> Irrep:
    """The irrep of ``G`` with the given index (see the module docstring)."""
    if len(index) == 1 and isinstance(index[0], (tuple, list)):
        index = tuple(index[0])
    need = 2 if G.reflections else 1
    if len(index) != need or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index):
        form = "irrep(j, k)" if G.reflections else "irrep(k)"
        raise ValueError(f"{G.name} irreps are indexed as {form} with integers, got irrep{tuple(index)!r}")
    index = tuple(int(i) for i in index)
    valid = _valid_irrep_indices(G)
    if index not in valid:
        hint = ""
        if G.reflections and index[0] == 0 and index[1] > 0:
            hint = f" (the 2-D irrep of frequency {index[1]} is irrep(1, {index[1]}))"
        elif G.N is None and index[-1] > G.max_frequency:
            hint = f" (frequency above max_frequency={G.max_frequency}; build the group with a larger one)"
        raise ValueError(f"unknown irrep index {index} for {G.name}{hint}; valid: {valid}")
    return Irrep(G, index)


def all_irreps(G: PlanarGroupBase) -> list[Irrep]:
    """Every irrep of ``G`` (continuous groups: up to the band limit)."""
    return [Irrep(G, i) for i in _valid_irrep_indices(G)]


def direct_sum(*reps: Representation, name: str | None = None) -> Representation:
    """The direct sum ρ_1 ⊕ ρ_2 ⊕ ... (block diagonal), all of the same group."""
    if len(reps) == 1 and isinstance(reps[0], (list, tuple)):
        reps = tuple(reps[0])
    if not reps:
        raise ValueError("direct_sum needs at least one representation")
    for r in reps:
        if not isinstance(r, Representation):
            raise TypeError(f"direct_sum takes Representations, got {type(r).__name__}")
    G = reps[0].group
    for r in reps[1:]:
        if r.group != G:
            raise ValueError(f"cannot add representations of different groups: {reps[0]!r} and {r!r}")
    summands = [s for r in reps for s in r.summands]
    return Representation(G, sum(r.size for r in summands), _BlockDiagonal(summands),
                          name or "⊕".join(r.name for r in summands), summands=summands)


# The matrix functions below are small classes (not closures) so that representations pickle and deep-copy.
class _BlockDiagonal:
    """g -> blockdiag(ρ_1(g), ρ_2(g), ...)."""

    def __init__(self, summands: list):
        self.summands = summands

    def __call__(self, g: GroupElement) -> np.ndarray:
        total = sum(r.size for r in self.summands)
        out = np.zeros((total, total))
        o = 0
        for r in self.summands:
            out[o:o + r.size, o:o + r.size] = r._matrix(g)
            o += r.size
        return out


class _Conjugated:
    """g -> Q ρ(g) Qᵀ."""

    def __init__(self, Q: np.ndarray, matrix):
        self.Q, self.matrix = Q, matrix

    def __call__(self, g: GroupElement) -> np.ndarray:
        return self.Q @ self.matrix(g) @ self.Q.T


class _Table:
    """g -> a stored matrix, for finite groups (keyed by (reflection, rotation steps))."""

    def __init__(self, table: dict):
        self.table = table

    def __call__(self, g: GroupElement) -> np.ndarray:
        return self.table[(g.reflection, g.steps)].copy()


def _permutation_rep(G: PlanarGroupBase, labels: list, act: Callable, name: str) -> Representation:
    """ρ(g) e_x = e_{g·x} on a finite G-set ``labels`` (act(g, x) -> label)."""
    index = {x: i for i, x in enumerate(labels)}
    n = len(labels)
    table = {}
    for g in G.elements():
        m = np.zeros((n, n))
        for i, x in enumerate(labels):
            m[index[act(g, x)], i] = 1.0
        table[(g.reflection, g.steps)] = m
    return Representation(G, n, _Table(table), name)


_REGULAR: dict = {}  # group key -> its regular representation (few groups per program; shared by every layer)


def _compose(g, h):
    return g * h


def regular(G: PlanarGroupBase) -> Representation:
    """The regular representation of a finite group: ρ(g) e_h = e_{gh}, basis ordered as ``G.elements()``.
    One object per group (equal groups share it, and its decomposition)."""
    if G.N is None:
        raise ValueError(f"{G.name} is continuous and has no finite regular representation; "
                         "use a direct sum of irreps up to a band limit instead")
    rep = _REGULAR.get(G.key)
    if rep is None:
        rep = _REGULAR[G.key] = _permutation_rep(G, G.elements(), _compose, "regular")
    return rep


def quotient(G: PlanarGroupBase, H: PlanarGroupBase) -> Representation:
    """The quotient (permutation) representation of G on the cosets G/H of a subgroup H."""
    if not isinstance(H, PlanarGroupBase):
        raise TypeError(f"quotient needs a subgroup given as a group (e.g. groups.cyclic(M)), got {type(H).__name__}")
    if G.N is None:
        raise ValueError(f"{G.name} is continuous: quotient representations need a finite group")
    if not H.is_subgroup_of(G):
        raise ValueError(f"{H.name} is not a subgroup of {G.name}")
    sub = [G.element(h.angle, h.reflection) for h in H.elements()]
    cosets: list[frozenset[GroupElement]] = []
    seen: dict[frozenset[GroupElement], int] = {}
    for x in G.elements():
        c = frozenset(x * h for h in sub)
        if c not in seen:
            seen[c] = len(cosets)
            cosets.append(c)
    rep_of = {c: next(iter(sorted(c, key=lambda e: (e.reflection, e.steps)))) for c in cosets}
    labels = [rep_of[c] for c in cosets]
    canon = {}
    for c in cosets:
        for e in c:
            canon[e] = rep_of[c]
    return _permutation_rep(G, labels, lambda g, x: canon[g * x], f"quotient({G.name}/{H.name})")


def from_matrices(G: PlanarGroupBase, matrices, name: str = "user") -> Representation:
    """A representation of a finite group from user matrices (callable, dict element->matrix, or list in
    ``G.elements()`` order); validated for shape, orthogonality and the homomorphism property."""
    if G.N is None:
        raise ValueError(f"{G.name} is continuous: define its representations as direct sums of irreps "
                         "with a change of basis")
    els = G.elements()
    if callable(matrices):
        table = {g: np.asarray(matrices(g), dtype=np.float64) for g in els}
    elif isinstance(matrices, dict):
        missing = [g for g in els if g not in matrices]
        if missing:
            raise ValueError(f"matrices for {len(missing)} elements of {G.name} are missing, e.g. {missing[0]!r}")
        table = {g: np.asarray(matrices[g], dtype=np.float64) for g in els}
    else:
        mats = list(matrices)
        if len(mats) != len(els):
            raise ValueError(f"{G.name} has {len(els)} elements, got {len(mats)} matrices")
        table = {g: np.asarray(m, dtype=np.float64) for g, m in zip(els, mats)}
    d = table[els[0]].shape
    if len(d) != 2 or d[0] != d[1] or d[0] < 1:
        raise ValueError(f"representation matrices must be square, got shape {d}")
    rep = Representation(G, d[0], _Table({(g.reflection, g.steps): m for g, m in table.items()}), name)
    for g in els:
        if table[g].shape != d:
            raise ValueError(f"matrix for {g!r} has shape {table[g].shape}, expected {d}")
    rep.check(els)
    return rep
