"""A small dependency-free progress bar with rate and time estimate (ETA), written to stderr.

Use it as an iterator wrapper or with manual updates::

    for batch in Progress(loader, desc="train"):
        ...

    with Progress(total=1000, desc="run") as bar:
        for step in range(1000):
            ...
            bar.update(1, postfix=f"loss={loss:.3g}")

On a terminal the bar redraws one line in place (at most every ``min_interval`` seconds); on a file or pipe it
writes a full line at most every ``log_interval`` seconds, so logs stay readable. ``quiet=True`` prints nothing.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable, Iterable, Optional

__all__ = ["Progress", "format_time"]


def format_time(seconds: float) -> str:
    """``seconds`` as ``M:SS`` or ``H:MM:SS`` (``?`` when unknown)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class Progress:
    """Progress over ``total`` units: count, percentage, elapsed time, rate and ETA.

    Args:
        iterable: optional iterable to wrap (its ``len`` gives ``total`` when ``total`` is not given).
        total: number of units of work (required for manual use; > 0).
        desc: label printed before the bar.
        unit: name of one unit in the rate (``it/s``).
        quiet: print nothing (the counters and `eta` still work).
        file: output stream (default ``sys.stderr``).
        width: number of characters of the bar itself.
        min_interval: minimum seconds between redraws on a terminal.
        log_interval: minimum seconds between lines when ``file`` is not a terminal.
        clock: time source (seconds); injectable for tests.
    """

    def __init__(self, iterable: Optional[Iterable] = None, total: Optional[float] = None, desc: str = "",
                 unit: str = "it", quiet: bool = False, file=None, width: int = 24, min_interval: float = 0.1,
                 log_interval: float = 10.0, clock: Callable[[], float] = time.monotonic):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        if total is None:
            raise ValueError("Progress needs total (the number of units of work) or an iterable with a length")
        if isinstance(total, bool) or not isinstance(total, (int, float)) or not math.isfinite(total) or total <= 0:
            raise ValueError(f"total must be a finite number > 0, got {total!r}")
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        self.iterable, self.total, self.desc, self.unit = iterable, total, str(desc), str(unit)
        self.quiet, self.width = bool(quiet), width
        self.file = sys.stderr if file is None else file
        isatty = getattr(self.file, "isatty", None)
        self.tty = bool(isatty()) if callable(isatty) else False
        self.interval = float(min_interval if self.tty else log_interval)
        self.clock = clock
        self.n = 0.0
        self.postfix = ""
        self.start = clock()
        self._last_draw = -math.inf
        self._last_len = 0
        self._drawn: Optional[tuple] = None  # (n, postfix) of the last line drawn
        self.closed = False

    # ------------------------------------------------------------------ counters
    @property
    def elapsed(self) -> float:
        """Seconds since the bar was created."""
        return self.clock() - self.start

    def rate(self) -> float:
        """Units per second so far (0 before any progress)."""
        e = self.elapsed
        return self.n / e if e > 0 and self.n > 0 else 0.0

    def eta(self) -> float:
        """Estimated seconds to completion at the average rate so far (``inf`` before any progress)."""
        r = self.rate()
        if self.n >= self.total:
            return 0.0
        return (self.total - self.n) / r if r > 0 else math.inf

    def render(self) -> str:
        """The status line, e.g. ``run  42%|##########--------------| 42/100 [0:10<0:14, 4.20 it/s] loss=0.1``."""
        frac = min(max(self.n / self.total, 0.0), 1.0)
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        num = (lambda v: f"{v:g}" if v != int(v) else f"{int(v)}")
        r = self.rate()
        rate = f"{r:.3g} {self.unit}/s" if r >= 1 or r == 0 else f"{1 / r:.3g} s/{self.unit}"
        line = (f"{self.desc + ' ' if self.desc else ''}{100 * frac:3.0f}%|{bar}| {num(self.n)}/{num(self.total)} "
                f"[{format_time(self.elapsed)}<{format_time(self.eta())}, {rate}]")
        return line + (f" {self.postfix}" if self.postfix else "")

    # ------------------------------------------------------------------ updates
    def update(self, n: float = 1, postfix: Optional[str] = None) -> None:
        """Advance by ``n`` units (and optionally replace the postfix text)."""
        if self.closed:
            raise RuntimeError("update() on a closed Progress")
        if isinstance(n, bool) or not isinstance(n, (int, float)) or not math.isfinite(n) or n < 0:
            raise ValueError(f"n must be a finite number >= 0, got {n!r}")
        self.n += n
        if postfix is not None:
            self.postfix = str(postfix)
        self._maybe_draw()

    def set_postfix(self, text: str) -> None:
        """Replace the text printed after the bar (e.g. the current loss)."""
        self.postfix = str(text)
        self._maybe_draw()

    def write(self, text: str) -> None:
        """Print a message line without garbling the bar (ignored when quiet)."""
        if self.quiet:
            return
        if self.tty and self._last_len:
            self.file.write("\r" + " " * self._last_len + "\r")
            self._last_len = 0
        self.file.write(str(text) + "\n")
        self.file.flush()
        if self.tty:
            self._draw()

    def _maybe_draw(self) -> None:
        if self.quiet:
            return
        now = self.clock()
        finished = self.n >= self.total and (self._drawn is None or self._drawn[0] < self.total)
        if now - self._last_draw >= self.interval or finished:
            self._draw(now)

    def _draw(self, now: Optional[float] = None) -> None:
        self._last_draw = self.clock() if now is None else now
        self._drawn = (self.n, self.postfix)
        line = self.render()
        if self.tty:
            pad = max(0, self._last_len - len(line))
            self.file.write("\r" + line + " " * pad)
            self._last_len = len(line)
        else:
            self.file.write(line + "\n")
        self.file.flush()

    def close(self) -> None:
        """Draw the final state and end the line (idempotent)."""
        if self.closed:
            return
        self.closed = True
        if self.quiet:
            return
        if self.tty:
            self._draw()
            self.file.write("\n")
        elif self._drawn != (self.n, self.postfix):
            self._draw()
        self.file.flush()

    # ------------------------------------------------------------------ protocols
    def __iter__(self):
        if self.iterable is None:
            raise TypeError("this Progress wraps no iterable; use update() instead")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
