"""The command-line contract every entry point shares (``python -m equinet ...``, ``python -m
equinet.diagnostics``, ``python -m equinet.testing.portability``, ``python -m proofs``, torchrun):

* a user error (a bad flag, value, file, size or device) is one line ``PROG: error: ...`` naming the value and
  what is allowed, exit status 2, raised before any work (`UsageError`; `user_input` turns the ``ValueError``,
  ``TypeError``, ``OSError`` and ``ImportError`` of a validation block into one);
* a full disk or an unwritable path met during the work is one line naming the path, exit status 1;
* Ctrl-C (``KeyboardInterrupt``) is one line, exit status 130 (checkpoints are written atomically, so the last one
  is whole);
* a run that diverged (``FloatingPointError``: non-finite loss or weights) is one line, exit status 1;
* anything else is a bug: its traceback is kept, followed by one line saying so, exit status 1.

Under torchrun only rank 0 prints the error line (every rank exits with the same status).

Example:

    >>> def body(argv):
    ...     ap = Parser(prog="python -m demo", description="Add one to N.")
    ...     ap.add_argument("n", type=int, help="a number")
    ...     print(ap.parse_args(argv).n + 1)
    >>> run_command(body, ["41"], prog="python -m demo")
    42
    0
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import shutil
import signal
import sys
import traceback
from typing import Callable, Iterator, List, Optional, Sequence

__all__ = ["UsageError", "Parser", "user_input", "run_command", "plain_text", "undocumented_flags",
           "check_writable_file"]

#: errno values of storage failures (full disk, quota, file too large, read-only, permission, path not a folder)
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                  errno.EISDIR}


class UsageError(ValueError):
    """A user error: printed as one line ``PROG: error: MESSAGE`` with exit status 2, before any work
    (``prog``: the command that refused it, when more precise than the entry point's name)."""

    prog: Optional[str] = None


@contextlib.contextmanager
def user_input(what: Optional[str] = None) -> Iterator[None]:
    """Inside the block, a ``ValueError``, ``TypeError``, ``OSError`` or ``ImportError`` is the user's input being
    refused (a check, a constructor, a file that cannot be read): it becomes a `UsageError` with the same message
    (prefixed ``what: `` when given)."""
    try:
        yield
    except UsageError:
        raise
    except (ValueError, TypeError, OSError, ImportError) as err:
        raise UsageError(_one_line(f"{what}: {_message(err)}" if what else _message(err))) from None


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename is not None and str(err.filename) not in str(err.args[-1]):
        return f"{err.strerror or err}: {err.filename!r}"
    return str(err) or type(err).__name__


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class _PlainFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's paragraphs as written (plain text), shows every default in the help, and fits the
    terminal, at most 100 columns."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        width = min(100, max(40, shutil.get_terminal_size((100, 24)).columns)) - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is not None and action.default is not False and action.default != argparse.SUPPRESS \
                and "%(default)" not in text \
                and "default" not in text and not isinstance(action, argparse._StoreConstAction):
            text += " (default: %(default)s)"
        return text


def _wrap(text: str) -> str:
    """Wrap ``text`` to the help width: a paragraph of unindented lines is refilled as one (bullets ``* `` as
    items, with a hanging indent); indented lines (examples, ``name   text`` rows) are kept, long ones wrapped with a
    hanging indent."""
    import textwrap
    width = min(100, max(40, shutil.get_terminal_size((100, 24)).columns)) - 2
    out: List[str] = []
    para: List[str] = []

    def flush():
        if para:
            hang = "  " if para[0].startswith("* ") else ""
            out.append(textwrap.fill(" ".join(para), width, subsequent_indent=hang, break_on_hyphens=False))
            para.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
            out.append("")
        elif line[0] not in " \t" and not (line.endswith(":") and " " not in line.strip()):  # not "commands:"
            if line.startswith("* "):
                flush()
            para.append(line.strip())
        else:
            flush()
            m = re.match(r"^(\s*)(\* |\S+\s{2,})?", line)
            hang = 0 if m is None else len(m.group(0)) if m.group(2) else len(m.group(1))
            out.append(textwrap.fill(line, width, subsequent_indent=" " * hang, break_on_hyphens=False)
                       if len(line) > width else line)
    flush()
    return "\n".join(out)


class Parser(argparse.ArgumentParser):
    """An ``argparse`` parser of the contract: its errors are one line (``PROG: error: ... (see --help)``, exit
    status 2), its description is printed as plain text (`plain_text`), and defaults are shown."""

    def __init__(self, *args, **kw):
        kw.setdefault("formatter_class", _PlainFormatter)
        if kw.get("description"):
            kw["description"] = _wrap(plain_text(kw["description"]))
        if kw.get("epilog"):
            kw["epilog"] = _wrap(plain_text(kw["epilog"]))
        super().__init__(*args, **kw)

    def error(self, message: str):
        err = UsageError(_one_line(message) + " (see --help)")
        err.prog = self.prog
        raise err


def plain_text(doc: str) -> str:
    """A docstring as a terminal shows it: no reStructuredText/Markdown markup (````code````, ```name```,
    ``:role:`x```), common indentation removed.

    >>> plain_text("Run ``make test``; see `Trainer` and :func:`psnr`.")
    'Run make test; see Trainer and psnr.'
    """
    import textwrap
    text = textwrap.dedent(doc).strip("\n")
    text = re.sub(r":[a-z]+:`([^`]*)`", r"\1", text)
    text = text.replace("``", "").replace("::\n", ":\n")
    return re.sub(r"`([^`]*)`", r"\1", text)


def undocumented_flags(parser: argparse.ArgumentParser) -> List[str]:
    """The options and positionals of ``parser`` (and of its sub-parsers) without a help text."""
    bad = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                bad += undocumented_flags(sub)
            continue
        if not action.help or action.help == argparse.SUPPRESS:
            bad.append(f"{parser.prog}: {'/'.join(action.option_strings) or action.dest}")
    return bad


def check_writable_file(path: str, flag: str = "") -> str:
    """Refuse (`UsageError`) a file path that cannot be written: a folder, or under a file or an unwritable folder.
    Nothing is created."""
    path = os.fspath(path)
    name = f"{flag} {path!r}" if flag else repr(path)
    if os.path.isdir(path):
        raise UsageError(f"{name} is a folder; give a file path")
    p = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(p):
        p = os.path.dirname(p)
    if not os.path.isdir(p):
        raise UsageError(f"{name} cannot be written: {p!r} is a file, not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(f"{name} cannot be written: the folder {p!r} is not writable")
    return path


def _rank() -> int:
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _say(prog: str, text: str) -> None:
    if _rank() == 0:
        print(f"{prog}: {_one_line(text)}", file=sys.stderr, flush=True)


def run_command(body: Callable[[Sequence[str]], object], argv: Optional[Sequence[str]] = None, *,
                prog: str, interrupted: str = "", exit: bool = False) -> int:
    """Run ``body(argv)`` under the contract of this module; returns the exit status (``exit=True``: leaves the
    interpreter with it, for ``if __name__ == "__main__"``). ``body`` returns an exit status (an int; anything else,
    e.g. None or the command's result, is 0).
    ``interrupted``: what to say after Ctrl-C (e.g. where the last checkpoint is)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    if hasattr(signal, "SIGXFSZ"):  # a file-size limit becomes an OSError (EFBIG) instead of killing the process
        with contextlib.suppress(ValueError):  # not the main thread
            previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        code = _guarded(body, argv, prog, interrupted)
    finally:
        if previous is not None:
            signal.signal(signal.SIGXFSZ, previous)
    if exit:
        sys.exit(code)
    return code


def _guarded(body, argv, prog: str, interrupted: str) -> int:
    try:
        code = body(argv)
        return code if isinstance(code, int) and not isinstance(code, bool) else 0  # a result (rows, a summary): 0
    except SystemExit as e:  # argparse's --help and explicit exits
        if e.code is None or isinstance(e.code, int):
            return e.code or 0
        _say(prog, f"error: {e.code}")
        return 1
    except UsageError as err:
        _say(err.prog or prog, f"error: {err}")
        return 2
    except KeyboardInterrupt as err:
        detail = str(err) if str(err) and not str(err).startswith("signal ") else interrupted
        _say(getattr(err, "prog", None) or prog, "interrupted" + (f": {detail}" if detail else ""))
        return 130
    except FloatingPointError as err:
        _say(getattr(err, "prog", None) or prog, f"error: {err}")
        return 1
    except OSError as err:
        if err.errno in STORAGE_ERRORS and err.filename is not None:
            _say(getattr(err, "prog", None) or prog, f"error: cannot write {err.filename!r}: {err.strerror}"
                 + ("; files already written (checkpoints included) are whole" if err.errno in
                    (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else ""))
            return 1
        return _internal(prog, err)
    except MemoryError as err:
        _say(prog, f"error: out of memory ({err or 'MemoryError'}); use smaller sizes")
        return 1
    except Exception as err:
        return _internal(prog, err)


def _internal(prog: str, err: BaseException) -> int:
    traceback.print_exc()
    _say(prog, f"internal error ({type(err).__name__}): this is a bug in equinet, not a problem with your input; "
         "the traceback above shows where it happened")
    return 1
