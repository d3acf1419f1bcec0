"""The ``reproduce`` subcommand: dispatch by name, one-line refusals before any work."""
import pytest

from equinet.__main__ import main as equinet_main
from equinet.experiments.reproduce import REPRODUCTIONS, main


def test_unknown_name_is_refused():
    with pytest.raises(SystemExit, match="unknown reproduction 'bogus'"):
        main(["bogus"])


def test_bad_value_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        equinet_main(["reproduce", "toy-1d", "--steps", "0", "--out", str(tmp_path / "o")])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "steps must be a positive int" in err
    assert not (tmp_path / "o").exists()  # refused before the output folder was created


def test_every_reproduction_has_a_main():
    import importlib
    for name, mod in REPRODUCTIONS.items():
        assert callable(importlib.import_module(f"equinet.experiments.reproduce.{mod}").main), name
