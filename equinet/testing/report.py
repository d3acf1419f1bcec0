"""The result of an equivariance check: one row per (element, image size), printable and serialisable."""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReportRow:
    """One measured element.

    ``element`` is a group element (or a scale factor, or the label of a user transform); ``angle`` (degrees) and
    ``reflection`` are None when they do not apply. ``grid`` is True when the transformation is exact on pixels
    (grid-preserving elements, scalings, user transforms): such rows are held to ``atol``, the others to
    ``offgrid_atol``. ``rel_error`` = ‖lhs − rhs‖ / ‖rhs‖ and ``max_abs_error`` are read on ``region``.
    """

    element: object
    angle: float | None
    reflection: bool | None
    grid: bool
    size: int | None
    input: str
    region: str
    rel_error: float
    max_abs_error: float

    @property
    def label(self) -> str:
        return repr(self.element) if not isinstance(self.element, str) else self.element

    def to_dict(self) -> dict:
        return {"element": self.label, "angle_deg": self.angle, "reflection": self.reflection, "grid": self.grid,
                "size": self.size, "input": self.input, "region": self.region, "rel_error": self.rel_error,
                "max_abs_error": self.max_abs_error}


def _fails(err: float, tol: float) -> bool:
    return not (err <= tol)  # NaN fails


@dataclass
class EquivarianceReport:
    """Rows of measured errors plus what was checked and how (``protocol``).

    ``report.max_error()`` is the largest relative error, ``max_error(grid=True)`` / ``max_error(grid=False)``
    restrict it to exact / off-grid rows (None when there are none); ``str(report)`` is a table; ``to_dict()`` is
    JSON-serialisable.
    """

    title: str
    rows: list[ReportRow]
    protocol: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    def max_error(self, grid: bool | None = None) -> float | None:
        errs = [r.rel_error for r in self.rows if grid is None or r.grid == grid]
        if not errs:
            return None
        return float("nan") if any(math.isnan(e) for e in errs) else max(errs)

    def failures(self, atol: float | None, offgrid_atol: float | None = None) -> list[ReportRow]:
        """Rows above their tolerance: exact rows against ``atol``, off-grid rows against ``offgrid_atol``
        (a tolerance of None checks nothing)."""
        out = []
        for r in self.rows:
            tol = atol if r.grid else offgrid_atol
            if tol is not None and _fails(r.rel_error, tol):
                out.append(r)
        return out

    def format(self, atol: float | None = None, offgrid_atol: float | None = None) -> str:
        """The table; with tolerances, a status column ('ok', 'FAIL', or '-' for unchecked rows)."""
        status = atol is not None or offgrid_atol is not None
        head = ["element", "angle°", "flip", "grid", "size", "input", "region", "rel. error", "max abs. error"]
        if status:
            head.append("status")
        lines = []
        for r in self.rows:
            cells = [r.label, "-" if r.angle is None else f"{r.angle:.4g}",
                     "-" if r.reflection is None else ("yes" if r.reflection else "no"),
                     "yes" if r.grid else "no", "-" if r.size is None else str(r.size), r.input, r.region,
                     f"{r.rel_error:.3e}", f"{r.max_abs_error:.3e}"]
            if status:
                tol = atol if r.grid else offgrid_atol
                cells.append("-" if tol is None else ("FAIL" if _fails(r.rel_error, tol) else "ok"))
            lines.append(cells)
        widths = [max(len(str(c)) for c in col) for col in zip(head, *lines)]
        fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        out = [self.title]
        out += [f"  {k}: {v}" for k, v in self.info.items()]
        out += [fmt(head), fmt(["-" * w for w in widths])] + [fmt(c) for c in lines]
        me = self.max_error()
        out.append(f"max relative error: {me:.3e}" if me is not None else "max relative error: (no rows)")
        if self.protocol:
            out.append("protocol:")
            out += [f"  - {p}" for p in self.protocol]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()

    def to_dict(self) -> dict:
        return {"title": self.title, "info": {k: str(v) for k, v in self.info.items()},
                "protocol": list(self.protocol), "max_error": self.max_error(),
                "max_error_grid": self.max_error(grid=True), "max_error_offgrid": self.max_error(grid=False),
                "rows": [r.to_dict() for r in self.rows]}
