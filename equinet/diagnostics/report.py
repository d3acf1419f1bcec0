"""One call that answers "can equivariant imaging learn this operator with this group?" with the numbers behind it."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .multiplicities import Multiplicities, irrep_multiplicities
from .rank import RankResult, rank_condition

__all__ = ["IdentifiabilityReport", "identifiability_report"]


@dataclass
class IdentifiabilityReport:
    """Result of `identifiability_report`; ``print`` it, test ``.ok``."""

    operator: str
    transforms: str
    rank: RankResult
    multiplicities: Optional[Multiplicities] = None
    model_dim: Optional[int] = None

    @property
    def ok(self) -> bool:
        """The necessary condition of Theorem 1 holds: rank M = n (M has no nullspace at the tolerance used)."""
        r = self.rank
        return r.nullity_M < 0.5 + 3 * r.rank_M_stderr

    @property
    def range_invariant(self) -> bool:
        """Corollary 1: the transformations expose nothing of N(A) (rank M = rank A): A is itself equivariant to
        them (up to the rank tolerance), so learning beyond the range of Aᵀ is impossible with this group."""
        r = self.rank
        return abs(r.gain) < 0.5 + 3 * r.details.get("gain_stderr", 0.0)

    def lines(self) -> list:
        r = self.rank
        pm = (lambda s: f" ± {s:.0f}" if s else "")
        out = [f"identifiability of {self.operator} with {self.transforms}: "
               + ("OK — the rank condition holds" if self.ok
                  else f"FAILS by {r.nullity_M:.0f} of {r.n} directions ({100 * r.nullity_M / r.n:.1f} %) — "
                       "equivariant imaging cannot learn N(A) fully")]
        used = r.details.get("transforms_used", r.n_transforms)
        total = r.details.get("transforms_total", r.n_transforms)
        sub = f" (an evenly spaced subset of {total}: rank M can only be larger with all)" if total > used else ""
        support = r.details.get("support", "all")
        where = (f" (images supported on the {support}: {r.n} of {r.details.get('n_total', r.n)} unknowns)"
                 if support != "all" else "")
        out.append(f"  n = {r.n} unknowns{where}, {r.m} measurement entries per image, |G| = {used} "
                   f"transformations{sub}")
        out.append(f"  rank A = {r.rank_A:.0f}{pm(r.rank_A_stderr)} (nullspace dimension {r.nullity_A:.0f}); "
                   f"rank M = {r.rank_M:.0f}{pm(r.rank_M_stderr)} of n (nullspace {r.nullity_M:.0f}); "
                   f"exposed by the group: {r.gain:.0f}")
        out.append(f"  necessary count: rank A · |G| = {r.rank_A * r.n_transforms:.0f} "
                   f"{'>=' if r.rank_A * r.n_transforms >= r.n else '<'} n = {r.n}")
        if self.range_invariant and r.nullity_A >= 0.5:
            out.append("  Corollary 1: the range of A is invariant to these transformations (A is equivariant to "
                       "them): this group cannot help; use another (e.g. rotations for CT/MRI, shifts for inpainting)")
        if self.multiplicities is not None:
            mu = self.multiplicities
            line = f"  irreps on the grid: max c_j = {mu.max} (n/|G| = {r.n / len(mu.group):.1f})"
            if self.model_dim is not None:
                need = mu.measurements_needed(self.model_dim)
                line += (f"; sufficient for a {self.model_dim}-dimensional model: m > 2k + max c_j + 1, i.e. rank A >= "
                         f"{need}: {'yes' if r.rank_A >= need else 'no'}")
            out.append(line)
        how = ("exact (float64 singular values)" if r.method == "exact" else
               f"matrix-free probing ({r.details.get('probes')} probes x {r.details.get('steps')} Lanczos steps, "
               f"seed {r.details.get('seed')}; ± = Monte-Carlo standard error)")
        out.append(f"  method: {how}; rank = #singular values > {r.rtol:g}·σ_max")
        if r.method == "exact" and not math.isnan(r.gap_M[0]):
            out.append(f"  spectral gap of M at the tolerance: {r.gap_M[0]:.1e} | {r.gap_M[1]:.1e} (relative σ)")
        return out

    def __str__(self):
        return "\n".join(self.lines())


def _describe(transforms) -> str:
    if isinstance(transforms, (list, tuple)):
        return f"{len(transforms)} transformations"
    return repr(transforms) if hasattr(transforms, "elements") else type(transforms).__name__


def identifiability_report(physics, transforms, image_size=None, *, model_dim: Optional[int] = None,
                           method: str = "auto", **kwargs) -> IdentifiabilityReport:
    """Whether the rank condition rank [A T_1; …; A T_|G|] = n holds, the Corollary-1 check (does the group expose any
    of N(A)?), and for grid-permuting groups the irrep multiplicities and the sufficient count m > 2k + max c_j + 1.

    ``method``: 'auto' (exact for n <= 1024, else matrix-free probing), 'exact' or 'probe'; further keyword arguments
    go to `rank_condition` (e.g. ``support='disk'``: the condition for images that vanish outside the disk).
    ``model_dim``: the dimension k of the signal model, if known.
    """
    rank = rank_condition(physics, transforms, image_size, method=method, **kwargs)
    mult = None
    G = transforms if hasattr(transforms, "elements") and hasattr(transforms, "irreps") else None
    if G is not None and not G.continuous and all(g.preserves_grid for g in G.elements()) and \
            rank.details.get("support", "all") == "all":
        h = rank.details.get("image_size")
        if h is not None and h[0] == h[1]:
            mult = irrep_multiplicities(G, h, channels=rank.n // (h[0] * h[1]))
    return IdentifiabilityReport(type(physics).__name__, _describe(transforms), rank, mult, model_dim)
