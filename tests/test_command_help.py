"""Every command-line parser (``python -m equinet`` and its commands and reproductions, the diagnostics, the
portability tool, the proofs runner): every flag and positional has a help text, the help is plain text (no
reStructuredText markup) and names the command as it is typed."""
import re

import pytest

from equinet.utils.cli import Parser, undocumented_flags


def all_parsers():
    from equinet.__main__ import parsers
    from equinet.diagnostics.__main__ import build_parser as diagnostics
    from equinet.diagnostics.family_table import build_parser as family
    from equinet.testing.portability import build_parser as portability
    from proofs.__main__ import build_parser as proofs
    found = list(parsers())
    found += [("python -m equinet.diagnostics", diagnostics()), ("python -m proofs", proofs()),
              ("python -m equinet.diagnostics.family_table", family()),
              ("python -m equinet.testing.portability", portability())]
    return found


PARSERS = all_parsers()


def test_every_entry_point_is_walked():
    names = [n for n, _ in PARSERS]
    assert len(names) == len(set(names)) >= 13
    for must in ("python -m equinet", "python -m equinet train", "python -m equinet basis",
                 "python -m equinet compare", "python -m equinet reproduce toy-1d", "python -m proofs"):
        assert must in names


@pytest.mark.parametrize("name,parser", PARSERS, ids=[n for n, _ in PARSERS])
def test_every_flag_has_help_and_the_help_is_plain_text(name, parser):
    assert isinstance(parser, Parser)  # the contract's parser: one-line errors, exit status 2
    assert parser.prog == name
    assert undocumented_flags(parser) == []
    text = parser.format_help()
    assert text.startswith(f"usage: {name}")
    assert not re.search(r"``|:(func|class|meth|mod):|`[A-Za-z_.]+`|__main__\.py", text), text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_the_walk_finds_an_undocumented_flag():
    p = Parser(prog="python -m demo", description="x")
    p.add_argument("--fine", help="documented")
    p.add_argument("--bare")
    sub = p.add_subparsers(dest="cmd").add_parser("run", help="a subcommand")
    sub.add_argument("target")
    assert undocumented_flags(p) == ["python -m demo: --bare", "python -m demo run: target"]
