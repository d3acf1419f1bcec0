"""python -m equinet COMMAND [options]: the main demos, training runs and reproductions (see README.md)."""
from __future__ import annotations

import sys
from typing import Iterator, Optional, Sequence, Tuple

from .utils.cli import Parser, UsageError, run_command

PROG = "python -m equinet"
#: subcommand -> one-line description (shown by --help and by the error for a missing or unknown name)
COMMANDS = {
    "compare": "translation- vs roto-translation-equivariant unrolled PGD on CT and MRI (--quick, the default: "
               "about 3 min on 2 idle CPU cores; --full: the whole protocol); results in --out (default "
               "outputs/comparison)",
    "basis": "solve, print and plot a steerable kernel basis (about 10 s); figure in --out (default outputs)",
    "train": "train a reconstruction network from a TOML configuration (CONFIG.toml [--resume] [--out DIR]; also "
             "under torchrun --nproc_per_node=N -m equinet train ...)",
    "estimate": "parameters, activation memory per step and the measured time of a short probe of a training "
                "run (CONFIG.toml; nothing is written)",
    "results": "print the table of a converged results file (FILE), or compare training recipes on one entry "
               "(FILE FILE ... --entry ct/ei [--figure PNG])",
    "reproduce": "reproduce a result of the papers (NAME [--quick | --full] [--out DIR] [--seed S]); "
                 "python -m equinet reproduce --help lists the names",
}


def build_parser() -> Parser:
    """The top-level parser: a subcommand name, then that command's own options."""
    ap = Parser(prog=PROG, description="Equivariant imaging with steerable networks: demos, training runs and "
                "reproductions of the papers' results.",
                epilog="commands:\n" + "\n".join(f"  {k:10s} {v}" for k, v in COMMANDS.items())
                + f"\n\nEach command's options: {PROG} COMMAND --help")
    ap.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    ap.add_argument("command", nargs="?", metavar="COMMAND", help="one of: " + ", ".join(COMMANDS))
    ap.add_argument("args", nargs="...", metavar="...", help="the command's options (COMMAND --help lists them)")
    return ap


def parsers() -> Iterator[Tuple[str, object]]:
    """Every parser of ``python -m equinet`` (the top level, each command, each reproduction), for tests."""
    from .demo_basis import build_parser as basis
    from .experiments.comparison.cli import build_parser as compare
    from .experiments.reproduce import REPRODUCTIONS, reproduction_parser
    from .experiments.reproduce import build_parser as reproduce
    from .experiments.reproduce.converged import build_parser as results
    from .training.cli import build_parser as train
    from .training.estimate import build_parser as estimate
    yield PROG, build_parser()
    yield f"{PROG} compare", compare("quick", f"{PROG} compare")
    yield f"{PROG} basis", basis()
    yield f"{PROG} train", train()
    yield f"{PROG} estimate", estimate()
    yield f"{PROG} reproduce", reproduce()
    yield f"{PROG} results", results()
    for name in REPRODUCTIONS:
        yield f"{PROG} reproduce {name}", reproduction_parser(name)


def _dispatch(argv: Sequence[str]) -> Optional[int]:
    argv = list(argv)
    try:
        return _run(argv)
    except (UsageError, KeyboardInterrupt, FloatingPointError, OSError) as err:
        # name the subcommand in the line the contract prints: "python -m equinet train: error: ..."
        if getattr(err, "prog", None) is None and argv and argv[0] in COMMANDS:
            # (any of these exceptions: utils.cli reads the tag back with getattr)
            setattr(err, "prog", f"{PROG} {argv[0]}" + (f" {argv[1]}" if argv[0] == "reproduce" and len(argv) > 1
                                                        and not argv[1].startswith("-") else ""))
        raise


def _run(argv: list) -> Optional[int]:
    if argv and argv[0] in COMMANDS:  # the command parses its own options (and its own --help)
        cmd, rest = argv[0], argv[1:]
    else:
        a = build_parser().parse_args(argv)
        if a.version:
            from . import __version__
            print(f"equinet {__version__}")
            return 0
        names = ", ".join(COMMANDS)
        if a.command is None:
            raise UsageError(f"missing COMMAND; expected one of: {names}")
        raise UsageError(f"unknown command {a.command!r}; expected one of: {names}")
    if cmd == "train":
        from .training.cli import main as train_main
        train_main(rest)
        return 0
    if cmd == "estimate":
        from .training.estimate import main as estimate_main
        estimate_main(rest)
        return 0
    if cmd == "reproduce":
        from .experiments.reproduce import main as reproduce_main
        reproduce_main(rest)
        return 0
    if cmd == "results":
        from .experiments.reproduce.converged import main as results_main
        results_main(rest)
        return 0
    if cmd == "basis":
        from .demo_basis import main as basis_main
        basis_main(rest)
        return 0
    from .experiments.comparison import main as compare_main
    compare_main(rest, default_mode="quick", prog=f"{PROG} compare")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m equinet COMMAND ...`` under the command-line contract (`equinet.utils.cli`)."""
    return run_command(_dispatch, argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
