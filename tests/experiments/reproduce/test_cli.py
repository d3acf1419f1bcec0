"""The ``reproduce`` subcommand: dispatch by name, one-line refusals before any work."""
import pytest

from equinet.utils.cli import UsageError

from equinet.__main__ import main as equinet_main
from equinet.experiments.reproduce import REPRODUCTIONS, main


def test_unknown_name_is_refused():
    with pytest.raises(UsageError, match="unknown reproduction 'bogus'; expected one of: ei-table1, toy-1d"):
        main(["bogus"])
    with pytest.raises(UsageError, match="missing NAME; expected one of"):
        main([])


def test_bad_value_is_one_line(tmp_path, capsys):
    assert equinet_main(["reproduce", "toy-1d", "--steps", "0", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "steps must be a positive int" in err
    assert not (tmp_path / "o").exists()  # refused before the output folder was created


def test_every_reproduction_has_a_main():
    import importlib
    for name, mod in REPRODUCTIONS.items():
        assert callable(importlib.import_module(f"equinet.experiments.reproduce.{mod}").main), name
