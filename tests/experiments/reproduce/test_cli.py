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


def test_report_prints_the_table_fitted_to_the_width_and_the_files_written(tmp_path, capsys):
    from equinet.experiments.reproduce.common import _files, report
    (tmp_path / "old.png").write_text("x")
    before = _files(str(tmp_path))
    header = "| problem | method | PSNR test | PSNR rotated | paper | PSNR train | seconds | final loss |"
    row = "| ct | EI | 31.20 ± 1.10 | 30.95 ± 1.20 | 31.06 | 33.10 | 412.5 | 0.00123 |"
    (tmp_path / "table.md").write_text(f"# Title\n\nnotes\n\n{header}\n|---|---|---|---|---|---|---|---|\n{row}\n")
    (tmp_path / "table.csv").write_text("a\n")
    report(str(tmp_path), before, width=60)
    out = capsys.readouterr().out.splitlines()
    table = [line for line in out if line and not line.startswith("wrote ")]
    assert table[0].startswith("problem  method  PSNR test") and all(len(line) <= 60 for line in table)
    assert table[2].startswith("ct       EI      31.20 ± 1.10")
    assert table[-1].startswith("(") and "more columns" in table[-1]  # the columns left out are named
    assert [line for line in out if line.startswith("wrote ")] == [f"wrote {tmp_path / 'table.csv'}",
                                                                   f"wrote {tmp_path / 'table.md'}"]


def test_a_flag_that_does_not_apply_is_refused(tmp_path, capsys):
    assert equinet_main(["reproduce", "pnp-equivariance", "--steps", "3", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unrecognized arguments: --steps 3" in err
    assert not (tmp_path / "o").exists()
    from equinet.experiments.reproduce.common import BUILD_PARSER
    from equinet.experiments.reproduce.pnp_equivariance import main as pnp_main
    helps = {o for a in pnp_main(BUILD_PARSER)._actions for o in a.option_strings}
    assert not {"--steps", "--workers", "--batch-size", "--lr"} & helps and "--out" in helps  # offered where it applies
