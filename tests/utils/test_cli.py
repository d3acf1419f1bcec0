"""The command-line contract's outcomes, one per kind of failure (`equinet.utils.cli.run_command`)."""
import errno

import pytest

from equinet.utils.cli import Parser, UsageError, plain_text, run_command, user_input


def outcome(body, capsys, argv=()):
    code = run_command(body, list(argv), prog="python -m demo")
    return code, capsys.readouterr().err


def raising(err):
    def body(argv):
        raise err
    return body


def test_each_failure_has_its_status_and_one_line(capsys):
    def bad_value(argv):
        with user_input("--size"):
            raise ValueError("must be >= 1, got 0")
    assert outcome(bad_value, capsys) == (2, "python -m demo: error: --size: must be >= 1, got 0\n")
    full = OSError(errno.ENOSPC, "No space left on device", "out/checkpoint.pt")
    code, err = outcome(raising(full), capsys)
    assert code == 1 and err.startswith("python -m demo: error: cannot write 'out/checkpoint.pt': No space left")
    assert outcome(raising(KeyboardInterrupt("the last checkpoint in out is whole")), capsys) == \
        (130, "python -m demo: interrupted: the last checkpoint in out is whole\n")
    assert outcome(raising(FloatingPointError("the weights became NaN or inf at step 3")), capsys) == \
        (1, "python -m demo: error: the weights became NaN or inf at step 3\n")
    assert outcome(lambda argv: None, capsys) == (0, "")
    assert outcome(lambda argv: 3, capsys) == (3, "")


def test_a_bug_keeps_its_traceback_and_says_so(capsys):
    code, err = outcome(raising(KeyError("oops")), capsys)
    lines = err.strip().splitlines()
    assert code == 1 and lines[0] == "Traceback (most recent call last):" and "KeyError: 'oops'" in err
    assert lines[-1].startswith("python -m demo: internal error (KeyError): this is a bug in equinet")
    code, err = outcome(raising(OSError(errno.EIO, "I/O error")), capsys)  # not a storage error with a path
    assert code == 1 and "Traceback" in err


def test_parser_errors_are_one_line_and_help_exits_zero(capsys):
    def body(argv):
        ap = Parser(prog="python -m demo", description="Demo ``x``.")
        ap.add_argument("--n", type=int, default=0, help="a number")
        ap.parse_args(argv)
    assert outcome(body, capsys, ["--n", "x"]) == \
        (2, "python -m demo: error: argument --n: invalid int value: 'x' (see --help)\n")
    code, err = outcome(body, capsys, ["--help"])
    assert code == 0 and err == ""
    with pytest.raises(UsageError):
        body(["--bogus"])
    assert plain_text("Use ``make``: :class:`Trainer` or `fit`.") == "Use make: Trainer or fit."
