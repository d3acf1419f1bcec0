"""Reproductions of the papers' learning results on offline data, one module each, on the shared runner
(`equinet.experiments.runner`). ``python -m equinet reproduce NAME [--quick | --full] [--out DIR] [--seed S]``;
one docs page each (``docs/reproduce_<name>.md``).

* ``ei-table1``: Table 1 of the EI paper (sparse-view CT and inpainting; A†y, MC, EI, EI-adv, Sup, EI-sup).
* ``toy-1d``: Fig. 3 of the EI paper (1-D inpainting of scaled triangles, with and without shift invariance).
* ``bias-free``: Fig. 6 of the imaging paper (DnCNN denoisers with and without biases, plain and equivariant).
* ``mri-ei``: Fig. 8 of the imaging paper (4x MRI; A†y, MC, EI with rotations, Sup).
* ``lowdose-ct-rei``: Fig. 9 of the imaging paper (50-view CT, Poisson-Gaussian noise; A†y, EI, REI, Sup).
* ``design-plus-learning``: Sec. VI of the imaging paper ({CNN, C8} proximal nets x {Sup, EI}, two training sizes).
"""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from . import bias_free, design_plus_learning, ei_table1, lowdose_ct_rei, mri_ei, toy_1d

__all__ = ["REPRODUCTIONS", "main"]

#: command name -> module of equinet.experiments.reproduce
REPRODUCTIONS = {"ei-table1": "ei_table1", "toy-1d": "toy_1d", "bias-free": "bias_free", "mri-ei": "mri_ei",
                 "lowdose-ct-rei": "lowdose_ct_rei", "design-plus-learning": "design_plus_learning"}
_MODULES = {"ei-table1": ei_table1, "toy-1d": toy_1d, "bias-free": bias_free, "mri-ei": mri_ei,
            "lowdose-ct-rei": lowdose_ct_rei, "design-plus-learning": design_plus_learning}


def main(argv: Optional[Sequence[str]] = None):
    """``reproduce NAME [options]``: run the reproduction ``NAME`` (see `REPRODUCTIONS`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m equinet reproduce {" + ",".join(REPRODUCTIONS) + "} [--quick | --full] [--out DIR] " \
            "[--seed S] [options]"
    if not argv or argv[0] in ("-h", "--help"):
        print(usage + "\n\n" + __doc__)
        return None
    name = argv.pop(0)
    if name not in REPRODUCTIONS:
        raise SystemExit(f"unknown reproduction {name!r}; expected one of {tuple(REPRODUCTIONS)}\n{usage}")
    module = _MODULES[name]
    return module.main(argv, prog=f"python -m equinet reproduce {name}")
