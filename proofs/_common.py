"""Shared bookkeeping of the proof scripts: a claim, its measured checks (each next to its tolerance) and its
controls (the same check on a case where the claim's hypothesis is broken: it must fail, or the check could not
tell)."""
from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

#: every Claim created in this process, in order (read by ``python -m proofs``)
REGISTRY: list = []


class Claim:
    """``claim.check(label, measured, tol)`` asserts measured <= tol; ``claim.control(label, measured, tol)``
    asserts the same check FAILS (measured > tol) on a case that breaks the hypothesis. ``finish()`` prints the
    verdict and returns the exit status (0 iff every check holds and every control fails)."""

    def __init__(self, number, title: str, source: str):
        self.number, self.title, self.source = number, title, source
        self.rows: list = []
        self.t0 = time.perf_counter()
        REGISTRY.append(self)
        print(f"Claim {number}: {title}\n  source: {source}")

    def _add(self, kind, label, measured, tol, passed):
        measured = float(measured)
        self.rows.append((kind, label, measured, float(tol), bool(passed)))
        cmp = "<=" if measured <= tol else ">"
        verdict = ("holds" if passed else "FAILS") if kind == "claim" else (
            "fails as predicted" if passed else "PASSES (the check cannot tell!)")
        print(f"  [{kind:7s}] {label}: {measured:.3e} {cmp} tol {tol:.1e}  -> {verdict}")

    def check(self, label: str, measured: float, tol: float) -> bool:
        ok = math.isfinite(float(measured)) and float(measured) <= tol
        self._add("claim", label, measured, tol, ok)
        return ok

    def control(self, label: str, measured: float, tol: float) -> bool:
        ok = not (math.isfinite(float(measured)) and float(measured) <= tol)
        self._add("control", label, measured, tol, ok)
        return ok

    def note(self, text: str) -> None:
        print(f"  note: {text}")

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r[4] for r in self.rows)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t0

    def worst(self, kind: str):
        """(measured, tol) of the check of this kind closest to its tolerance (largest measured/tol ratio for
        claims, smallest for controls)."""
        rows = [r for r in self.rows if r[0] == kind]
        if not rows:
            return None
        ratio = (lambda r: r[2] / r[3] if r[3] > 0 else r[2] - r[3])  # noqa: E731
        key = ratio if kind == "claim" else (lambda r: -ratio(r))
        r = max(rows, key=key)
        return r[2], r[3]

    def finish(self) -> int:
        n_claim = sum(r[0] == "claim" for r in self.rows)
        n_ctrl = sum(r[0] == "control" for r in self.rows)
        if not n_ctrl:
            print("  no control case: a claim without a failing control is not verified")
        ok = self.ok and n_ctrl > 0
        print(f"  {n_claim} checks, {n_ctrl} controls, {self.seconds:.1f} s")
        print("claim verified" if ok else "claim NOT verified")
        return 0 if ok else 1


def rel(a, b) -> float:
    """‖a − b‖ / ‖b‖ (‖a − b‖ if b = 0)."""
    nb = float(b.norm())
    d = float((a - b).norm())
    return d / nb if nb > 0 else d
