"""Reproductions of the papers' learning results on offline data, one module each, on the shared runner
(`equinet.experiments.runner`). ``python -m equinet reproduce NAME [--quick | --full] [--out DIR] [--seed S]``;
one docs page each (``docs/reproduce_<name>.md``).

* ``ei-table1``: Table 1 of the EI paper (sparse-view CT and inpainting; A†y, MC, EI, EI-adv, Sup, EI-sup).
* ``toy-1d``: Fig. 3 of the EI paper (1-D inpainting of scaled triangles, with and without shift invariance).
* ``bias-free``: Fig. 6 of the imaging paper (DnCNN denoisers with and without biases, plain and equivariant).
* ``mri-ei``: Fig. 8 of the imaging paper (4x MRI; A†y, MC, EI with rotations, Sup).
* ``lowdose-ct-rei``: Fig. 9 of the imaging paper (50-view CT, Poisson-Gaussian noise; A†y, EI, REI, Sup).
* ``design-plus-learning``: Sec. VI of the imaging paper ({CNN, C8} proximal nets x {Sup, EI}, two training sizes).
* ``multi-operator``: multiple operators (4x MRI from 1, 2, 4, 8 masks; MOI, EI, MOI+EI, Sup; identifiability).
* ``pnp-equivariance``: Terris et al. CVPR 2024 (PnP with shipped denoisers, equivariant by design vs by averaging).
"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from . import (
    bias_free,
    design_plus_learning,
    ei_table1,
    lowdose_ct_rei,
    mri_ei,
    multi_operator,
    pnp_equivariance,
    toy_1d,
)

__all__ = ["REPRODUCTIONS", "main", "build_parser", "reproduction_parser"]

#: command name -> module of equinet.experiments.reproduce
REPRODUCTIONS = {"ei-table1": "ei_table1", "toy-1d": "toy_1d", "bias-free": "bias_free", "mri-ei": "mri_ei",
                 "lowdose-ct-rei": "lowdose_ct_rei", "design-plus-learning": "design_plus_learning",
                 "multi-operator": "multi_operator", "pnp-equivariance": "pnp_equivariance"}
_MODULES = {"ei-table1": ei_table1, "toy-1d": toy_1d, "bias-free": bias_free, "mri-ei": mri_ei,
            "lowdose-ct-rei": lowdose_ct_rei, "design-plus-learning": design_plus_learning,
            "multi-operator": multi_operator, "pnp-equivariance": pnp_equivariance}


PROG = "python -m equinet reproduce"


def build_parser():
    """The parser of ``reproduce`` itself (the reproduction's name; each reproduction parses its own options)."""
    from ...utils.cli import Parser
    from .common import QUICK_MINUTES
    lines = "\n".join(f"  {n:22s} {_summary(n)} (--quick: about {QUICK_MINUTES[n]} min)" for n in REPRODUCTIONS)
    ap = Parser(prog=PROG, description="Reproduce a result of the papers on offline data; one docs page each "
                "(docs/reproduce_<name>.md). Times are measured wall times on 2 idle CPU cores.",
                epilog=f"reproductions:\n{lines}\n\nEach one's options: {PROG} NAME --help")
    ap.add_argument("name", nargs="?", metavar="NAME", help="one of: " + ", ".join(REPRODUCTIONS))
    ap.add_argument("options", nargs="...", metavar="...", help="the reproduction's options (NAME --help)")
    return ap


def _summary(name: str) -> str:
    for line in __doc__.splitlines():
        if line.startswith(f"* ``{name}``: "):
            return line.split(": ", 1)[1].rstrip(".")
    return ""


def reproduction_parser(name: str):
    """The parser of reproduction ``name`` (built, nothing run)."""
    from .common import BUILD_PARSER
    module = _MODULES[name]
    return module.main(BUILD_PARSER, prog=f"{PROG} {name}")


def main(argv: Optional[Sequence[str]] = None):
    """``reproduce NAME [options]``: run the reproduction ``NAME`` (see `REPRODUCTIONS`); a missing or unknown name
    raises `equinet.utils.cli.UsageError` listing them."""
    from ...utils.cli import UsageError
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in REPRODUCTIONS:
        a = build_parser().parse_args(argv)  # --help, or the missing/unknown name below
        what = "missing NAME" if a.name is None else f"unknown reproduction {a.name!r}"
        raise UsageError(f"{what}; expected one of: {', '.join(REPRODUCTIONS)}")
    name = argv.pop(0)
    module = _MODULES[name]
    return module.main(argv, prog=f"{PROG} {name}")
