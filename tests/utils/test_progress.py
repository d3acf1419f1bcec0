import io
import math

import pytest

from equinet.utils.progress import Progress, format_time


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_rate_and_eta_from_clock():
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(total=100, desc="run", file=out, clock=clock, log_interval=0)
    assert bar.eta() == math.inf and bar.rate() == 0.0
    clock.t += 10
    bar.update(25, postfix="loss=0.5")
    assert bar.rate() == pytest.approx(2.5)
    assert bar.eta() == pytest.approx(30.0)  # 75 units left at 2.5 units/s
    line = out.getvalue().strip().splitlines()[-1]
    assert line.startswith("run  25%|") and "25/100" in line and "[0:10<0:30, 2.5 it/s]" in line
    assert line.endswith("loss=0.5")
    clock.t += 30
    bar.update(75)
    assert bar.eta() == 0.0
    bar.close()
    lines = out.getvalue().strip().splitlines()
    assert lines[-1].startswith("run 100%|" + "#" * 24 + "|") and "100/100" in lines[-1]
    assert len(lines) == 2  # close() does not repeat an already drawn final line


def test_iterator_wrapper_counts_and_closes():
    clock, out = FakeClock(), io.StringIO()
    seen = []
    bar = Progress(range(7), desc="it", file=out, clock=clock, log_interval=0)
    for i in bar:
        clock.t += 0.5
        seen.append(i)
    assert seen == list(range(7)) and bar.n == 7 and bar.closed
    assert "7/7" in out.getvalue().strip().splitlines()[-1]
    # slow items are reported as seconds per unit
    slow = Progress(total=4, file=io.StringIO(), clock=clock)
    clock.t += 4
    slow.update(1)
    assert "4 s/it" in slow.render()


def test_throttling_on_files_and_tty_redraw():
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(total=1000, file=out, clock=clock, log_interval=10.0)
    for _ in range(999):
        clock.t += 0.01  # 10 s in total -> at most 2 lines before the end
        bar.update(1)
    assert len(out.getvalue().splitlines()) <= 2
    bar.update(1)  # reaching the total always draws
    assert "1000/1000" in out.getvalue().splitlines()[-1]

    tty = TTY()
    bar = Progress(total=3, file=tty, clock=clock, min_interval=0.0)
    bar.update(1)
    bar.write("hello")
    bar.update(2)
    bar.close()
    text = tty.getvalue()
    assert "\r" in text and "hello\n" in text and text.endswith("\n") and "3/3" in text


def test_quiet_prints_nothing_but_counts():
    out = io.StringIO()
    with Progress(total=5, quiet=True, file=out) as bar:
        for _ in range(5):
            bar.update()
        bar.write("msg")
    assert out.getvalue() == "" and bar.n == 5 and bar.closed


def test_bad_input():
    with pytest.raises(ValueError, match="total"):
        Progress(iter([1, 2]))  # no length, no total
    with pytest.raises(ValueError, match="total"):
        Progress(total=0)
    bar = Progress(total=2, quiet=True)
    with pytest.raises(ValueError):
        bar.update(-1)
    with pytest.raises(TypeError):
        iter(bar).__next__()
    bar.close()
    with pytest.raises(RuntimeError):
        bar.update(1)


def test_format_time():
    assert format_time(5) == "0:05" and format_time(65) == "1:05" and format_time(3725) == "1:02:05"
    assert format_time(math.inf) == "?"
