"""Learning from several operators (the imaging paper's "Multiple Operators" and "Model identification"): 4x
single-coil MRI where each training image was measured with one of g Cartesian masks (g = 1, 2, 4, 8; item i with
mask i mod g, nested families: the g masks are the first g of the 8), measurements only. MOI (MC with each item's
mask + cross-mask consistency), EI (MC + quarter-turn equivariance), MOI+EI, and supervised training on the same
measurements, against the identifiability prediction: the dimension of the joint null space of the g masks, without
and with quarter turns (`equinet.diagnostics.family_rank`). ``python -m equinet reproduce multi-operator``;
docs/multi_operator.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch

from ...diagnostics.family import family_rank
from ...groups import cyclic
from ...physics import magnitude, mri_family, real_to_channels
from ...transforms import Rot90
from ...utils.seeding import derived_seed
from .common import LABELS, UNetRunConfig, check_fields, check_methods, cli, data_and_methods_flags, images_for, pm
from .engine import Problem, run_method_table

__all__ = ["MultiOperatorConfig", "build_problems", "family_of", "identifiability", "run_multi_operator", "main"]

METHODS = ("pinv", "moi", "ei", "moi_ei", "sup")
#: the largest image side whose ranks are computed exactly (2 N² unknowns, dense Gram matrices)
MAX_RANK_SIDE = 45
#: the data sizes of the quick and converged protocols (small enough for exact ranks)
SIZES = dict(image_size=32, n_train=64, n_test=16)


@dataclass(frozen=True)
class MultiOperatorConfig(UNetRunConfig):
    """Settings (see `quick`, `full`): the family sizes ``masks`` and the methods."""

    methods: Tuple[str, ...] = METHODS
    masks: Tuple[int, ...] = (1, 2, 4, 8)
    acceleration: float = 4.0
    alpha: float = 1.0

    def __post_init__(self):
        check_fields(self, ("image_size", "n_train", "n_test", "steps", "batch_size", "width", "scales", "workers"),
                     ("lr", "alpha", "acceleration"))
        check_methods(self, METHODS)
        if not self.masks or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in self.masks):
            raise ValueError(f"masks must be family sizes >= 1, got {self.masks!r}")
        if max(self.masks) > self.n_train:
            raise ValueError(f"masks: a family of {max(self.masks)} masks needs at least as many training images "
                             f"(n_train = {self.n_train})")

    @classmethod
    def quick(cls, **kw):
        """32x32 phantoms, 64 training / 16 test images, a width-16 two-scale U-Net, 600 steps of 4 images: 4 family
        sizes x 4 trained methods on 2 CPU cores."""
        base = dict(mode="quick", **SIZES, steps=600, batch_size=4, lr=1e-3, width=16, scales=2, workers=2,
                    threads=1, device="cpu", unet="v1", batch_norm=False)
        return cls(**{**base, **kw})

    @classmethod
    def converged(cls, **kw):
        """Every method until the plateau rule holds on held-out images measured by the family (each with its own
        mask), then a cool-down, at the quick protocol's size (32x32, 64 training / 16 test images), so that the
        families' ranks stay exact: 2 to 30 minutes per method and family on one CPU core."""
        from .converged import CONVERGED
        return cls(**{**CONVERGED, **SIZES, **kw})


#: the converged results' gaps: how far each measurements-only method stays below supervised training
GAPS = (("Sup − MOI", "sup", "moi"), ("Sup − EI", "sup", "ei"), ("Sup − MOI+EI", "sup", "moi_ei"))


def family_of(cfg: MultiOperatorConfig, g: int):
    """The family of ``g`` masks (member ``k``'s lines from the seed derived from the run seed and ``k``: the first
    ``g`` masks of every larger family)."""
    return mri_family(cfg.image_size, g, acceleration=cfg.acceleration, seed=derived_seed(cfg.seed, 30) % 2 ** 31)


def build_problems(cfg: MultiOperatorConfig) -> Dict[str, Problem]:
    """``{'masks<g>': Problem}``: the same images, measured (noise-free) by a family of ``g`` masks."""
    ph = lambda k, key, split: real_to_channels(images_for(cfg, k, key, split))  # noqa: E731
    x_train, x_test = ph(cfg.n_train, 31, "train"), ph(cfg.n_test, 32, "test")
    x_val = ph(cfg.n_val, 33, "val") if cfg.converge is not None else None
    problems = {}
    for g in cfg.masks:
        fam = family_of(cfg, g)
        ops = {"train": fam.assignment(cfg.n_train), "test": fam.assignment(cfg.n_test)}
        with torch.no_grad():
            y_train, y_test = fam.select(ops["train"])(x_train), fam.select(ops["test"])(x_test)
            val = None
            if x_val is not None:  # converged mode: held-out images, item i measured by mask i mod g as every split
                ops["val"] = fam.assignment(cfg.n_val)
                val = (x_val, fam.select(ops["val"])(x_val), ops["val"])
        problems[f"masks{g}"] = Problem(fam, Rot90(), cfg.alpha, x_train, y_train, {"test": (x_test, y_test)},
                                        channels=2, metric_image=magnitude, operators=ops, validation=val)
    return problems


def identifiability(cfg: MultiOperatorConfig) -> Dict[int, dict]:
    """Per family size: the joint null space of the masks and what remains of it with quarter turns (exact ranks;
    empty above `MAX_RANK_SIDE`)."""
    if cfg.image_size > MAX_RANK_SIDE:
        return {}
    out = {}
    for g in cfg.masks:
        r = family_rank(family_of(cfg, g), cyclic(4))
        out[g] = dict(n=r.n, rank_stacked=r.rank_stacked, nullity_stacked=r.nullity_stacked,
                      rank_group=r.rank_group, nullity_group=r.nullity_group)
    return out


def _psnr(rows: List[dict]) -> Dict[Tuple[str, str], float]:
    return {(r["problem"], r["method"]): r["psnr_mean"] for r in rows if r["test_set"] == "test"}


def _targets(cfg: MultiOperatorConfig):
    def targets(rows):
        v, out = _psnr(rows), []
        lo, hi = f"masks{min(cfg.masks)}", f"masks{max(cfg.masks)}"
        for m in ("moi", "moi_ei"):
            if lo != hi and (lo, m) in v and (lo, "sup") in v:
                a, b = v[(lo, "sup")] - v[(lo, m)], v[(hi, "sup")] - v[(hi, m)]
                out.append((f"more masks bring {LABELS[m]} closer to Sup (Sup − method, "
                            f"{min(cfg.masks)} -> {max(cfg.masks)} masks)", f"{a:.2f} -> {b:.2f} dB", b < a))
        return out
    return targets


def _appendix(cfg: MultiOperatorConfig, ranks: Dict[int, dict]):
    def appendix(rows):
        v = _psnr(rows)
        shown = [m for m in cfg.methods if m != "pinv"]
        lines = ["## Identifiability and PSNR by family size", "",
                 "| masks | joint null space | with quarter turns | " + " | ".join(
                     f"PSNR {LABELS[m]}" for m in shown) + " |",
                 "| ---: | ---: | ---: |" + " ---: |" * len(shown)]
        for g in cfg.masks:
            r = ranks.get(g)
            null = "" if r is None else f"{r['nullity_stacked']} of {r['n']}"
            nullg = "" if r is None else f"{r['nullity_group']} of {r['n']}"
            lines.append(f"| {g} | {null} | {nullg} | " + " | ".join(pm(v.get((f'masks{g}', m))) for m in shown)
                         + " |")
        return "\n".join(lines) + "\n"
    return appendix


def run_multi_operator(cfg: MultiOperatorConfig, out: str = "outputs/reproduce/multi-operator",
                       progress: bool = True, results: Optional[str] = None):
    """Run the multi-operator reproduction; writes ``table.*`` (with the identifiability section) and
    ``reconstructions_masks<g>.png``. Returns the rows."""
    if not isinstance(cfg, MultiOperatorConfig):
        raise TypeError(f"cfg must be a MultiOperatorConfig, got {type(cfg).__name__}")
    ranks = identifiability(cfg)
    what = 'images of ' + cfg.data if cfg.data else 'ellipse phantoms'
    notes = (f"{cfg.image_size}x{cfg.image_size} {what}, {cfg.acceleration:g}x Cartesian line masks, families of "
             f"{', '.join(map(str, cfg.masks))} masks (item i measured by mask i mod g, noise-free), {cfg.n_train} "
             f"training / {cfg.n_test} test images (each test image with its own mask of the family), quarter turns "
             f"for EI, α = {cfg.alpha:g}, PSNR of the magnitude.")
    return run_method_table(cfg, out, build_problems, "Multiple operators: 4x MRI from g masks", progress, notes,
                            _targets(cfg), results=results, name="multi-operator", gaps=GAPS,
                            appendix=_appendix(cfg, ranks))


def _mask_counts(text: str) -> Tuple[int, ...]:
    import argparse
    try:
        return tuple(int(v) for v in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected family sizes such as '1,2,4,8', got {text!r}") from None


def _flags(ap) -> None:
    data_and_methods_flags(METHODS)(ap)
    ap.add_argument("--masks", type=_mask_counts, default=None,
                    help="family sizes, e.g. '1,2,4,8' (each family: the first g masks of the largest)")


def main(argv=None, prog=None):
    """``python -m equinet reproduce multi-operator [--quick | --full] [--out DIR] [--seed S] ...``"""
    return cli("multi-operator", "Multiple operators: 4x MRI from 1, 2, 4, 8 masks, MOI vs EI vs MOI+EI vs "
               "supervised, beside the identifiability of each family.", MultiOperatorConfig, run_multi_operator,
               argv, prog, extra=_flags)
