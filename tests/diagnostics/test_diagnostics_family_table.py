"""The MRI-family table command: its rows are `family_rank`'s numbers and bad sizes are one-line errors."""
import pytest

from equinet import groups
from equinet.diagnostics import family_rank
from equinet.diagnostics.family_table import main, mri_family_table
from equinet.physics import mri_family


def test_rows_are_the_family_ranks():
    lines = []
    rows = mri_family_table(8, (1, 3), echo=lines.append)
    for row, g in zip(rows, (1, 3)):
        r = family_rank(mri_family(8, g), groups.cyclic(4))
        assert (row["rank_stacked"], row["rank_group"], row["nullity_group"]) == \
            (r.rank_stacked, r.rank_group, r.nullity_group)
    assert len(lines) == 4 and lines[2].startswith("| 1 | 128 | 32 |")


@pytest.mark.parametrize("args,message", [(["--image-size", "50"], "must be 8 to 45"),
                                          (["--masks", "0"], "at least one mask"),
                                          (["--acceleration", "0.5"], "acceleration must be")])
def test_bad_arguments_are_one_line_errors(args, message, capsys):
    from equinet.utils.cli import run_command
    assert run_command(main, args, prog="python -m equinet.diagnostics.family_table") == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
