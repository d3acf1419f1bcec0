"""Tables for the terminal: a Markdown table's rows laid out in fixed-width columns that fit a given width."""
from __future__ import annotations

import shutil
from typing import List, Optional, Sequence

__all__ = ["markdown_rows", "fit_table", "terminal_width"]


def terminal_width(default: int = 100) -> int:
    """Columns of the terminal (``$COLUMNS`` first); ``default`` when the output is not a terminal."""
    return max(40, shutil.get_terminal_size((default, 24)).columns)


def markdown_rows(text: str) -> List[List[str]]:
    """The cells of the first Markdown table in ``text`` (header first, the ``---`` line dropped)."""
    rows, started = [], False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|") and s.endswith("|"):
            if set(s) <= set("|-: "):  # the alignment row
                continue
            cells = [c.strip().replace("\\|", "|") for c in s[1:-1].split(" | ")]
            rows.append([c.strip("|").strip() for c in cells])
            started = True
        elif started:
            break
    return rows


def fit_table(rows: Sequence[Sequence[str]], width: Optional[int] = None) -> str:
    """``rows`` (header first) as aligned text at most ``width`` characters wide (default `terminal_width`):
    columns that do not fit are left out (a last line says how many), over-long cells are cut with ``…``.

    >>> print(fit_table([["method", "PSNR"], ["EI", "31.20"], ["Sup", "33.05"]], width=40))
    method  PSNR
    ------  -----
    EI      31.20
    Sup     33.05
    """
    width = terminal_width() if width is None else width
    rows = [[str(c) for c in r] for r in rows]
    if not rows:
        return ""
    n = max(len(r) for r in rows)
    rows = [list(r) + [""] * (n - len(r)) for r in rows]
    cap = max(8, width // 3)  # no single column may take more than a third of the line
    widths = [min(cap, max(len(r[j]) for r in rows)) for j in range(n)]
    keep = n
    while keep > 1 and sum(widths[:keep]) + 2 * (keep - 1) > width:
        keep -= 1
    if keep == 1:
        widths[0] = min(widths[0], width)

    def cut(text: str, w: int) -> str:
        return text if len(text) <= w else text[:max(0, w - 1)] + "…"

    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(cut(r[j], widths[j]).ljust(widths[j]) for j in range(keep)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * widths[j] for j in range(keep)))
    if keep < n:
        lines.append(f"({n - keep} more column{'s' if n - keep > 1 else ''}: {', '.join(rows[0][keep:])})"[:width])
    return "\n".join(lines)
