"""The identifiability table of MRI families: ranks of one mask, of the stacked masks and of the stacked masks with
quarter turns, for families of several sizes (exact, float64; `equinet.diagnostics.family_rank`).

    python -m equinet.diagnostics.family_table [--image-size 16] [--masks 1 2 4 8]
"""
from __future__ import annotations

import time
from typing import List

from ..groups import cyclic
from ..physics.family import mri_family
from .family import family_rank

__all__ = ["mri_family_table", "main"]


def mri_family_table(image_size: int = 16, counts=(1, 2, 4, 8), acceleration: float = 4.0, seed: int = 0,
                     echo=print) -> List[dict]:
    """For MRI families (`equinet.physics.mri_family`) of each size in ``counts``: the member rank, the stacked
    rank and, with quarter turns (``groups.cyclic(4)``), the rank that equivariant imaging can reach; one row per
    family size, printed as a Markdown table by ``echo``."""
    rows = []
    echo("| masks | n | rank of one mask | stacked rank | joint null space | with C4: rank | with C4: null space | s |")
    echo("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for g in counts:
        t0 = time.perf_counter()
        r = family_rank(mri_family(image_size, g, acceleration=acceleration, seed=seed), cyclic(4))
        secs = time.perf_counter() - t0
        row = dict(masks=g, n=r.n, member_rank=r.member_ranks[0], rank_stacked=r.rank_stacked,
                   nullity_stacked=r.nullity_stacked, rank_group=r.rank_group, nullity_group=r.nullity_group,
                   seconds=round(secs, 1))
        echo(f"| {g} | {r.n} | {row['member_rank']} | {r.rank_stacked} | {r.nullity_stacked} | {r.rank_group} | "
             f"{r.nullity_group} | {secs:.1f} |")
        rows.append(row)
    return rows


def build_parser():
    from ..utils.cli import Parser
    ap = Parser(prog="python -m equinet.diagnostics.family_table",
                description="Identifiability of MRI families: the ranks of one mask, of the stacked masks and of the "
                            "stacked masks with quarter turns, for families of several sizes (exact, float64).")
    ap.add_argument("--image-size", type=int, default=16, help="image side N (N x N complex images, 8 to 45)")
    ap.add_argument("--masks", type=int, nargs="+", default=[1, 2, 4, 8], help="family sizes (numbers of masks)")
    ap.add_argument("--acceleration", type=float, default=4.0, help="undersampling factor of every mask")
    ap.add_argument("--seed", type=int, default=0, help="seed of the family's masks")
    return ap


def main(argv=None):
    from ..utils.cli import user_input
    a = build_parser().parse_args(argv)
    with user_input():
        if not 8 <= a.image_size <= 45:  # 2 N² <= 4096 unknowns: the exact route's dense Gram matrices
            raise ValueError(f"--image-size {a.image_size}: must be 8 to 45 (2 N² unknowns, at most 4096)")
        for g in a.masks:
            if g < 1:
                raise ValueError(f"--masks {g}: a family needs at least one mask")
        mri_family(a.image_size, 1, acceleration=a.acceleration, seed=a.seed)  # refuses a bad acceleration or seed
    mri_family_table(a.image_size, a.masks, a.acceleration, a.seed)


if __name__ == "__main__":
    import sys

    from ..utils.cli import run_command
    sys.exit(run_command(main, prog="python -m equinet.diagnostics.family_table"))
