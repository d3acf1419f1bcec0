"""Checks run once before training: the (loss, physics, data, model) combination works, and, for losses that learn
from measurements alone through a group of transformations (EI, REI, adversarial EI), whether that group can
reveal the nullspace of the operator at all (Theorem 1 / Corollary 1 of the EI paper, `equinet.diagnostics`).
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from ..losses.base import Loss

__all__ = ["check_weights_finite", "run_first_step_check", "run_preflights", "preflight", "identifiability_preflight",
           "loss_transforms", "rotates_off_grid"]

#: transformations checked before training (evenly spaced; a few seconds at 32x32): a lower bound of rank M
PREFLIGHT_TRANSFORMS = 16


@torch.no_grad()
def preflight(loss: Loss, physics, y: torch.Tensor, model: nn.Module) -> None:
    """Checks run once before training on an example batch of measurements ``y``: ``y`` is finite and is a
    measurement of ``physics`` (its adjoint applies), and ``model(y, physics)`` returns images of the operator's
    input shape. This is the one place for pre-flight checks of a (loss, physics, data) combination."""
    if not bool(torch.isfinite(y).all()):
        raise ValueError("the training measurements contain NaN or inf")
    back = physics.adjoint(y) if callable(getattr(physics, "adjoint", None)) else None
    was = model.training
    model.eval()  # no batch-norm statistics are updated by this check
    try:
        x1 = model(y, physics)
    finally:
        model.train(was)
    if not isinstance(x1, torch.Tensor):
        raise TypeError(f"model(y, physics) must return a tensor, got {type(x1).__name__}")
    if back is not None and x1.shape != back.shape:
        raise ValueError(f"model(y, physics) returns shape {tuple(x1.shape)}, but the operator's images have shape "
                         f"{tuple(back.shape)}")


def loss_transforms(loss: Loss) -> list:
    """The transformations (``.transform``) of the unsupervised parts of ``loss``: what EI learns the nullspace with.
    Empty for supervised losses (they see the ground truth, identifiability is not in question)."""
    if loss.needs_ground_truth:
        return []
    found: list = []
    for m in loss.modules():
        t = getattr(m, "transform", None)
        if t is not None and all(t is not f for f in found):
            found.append(t)
    return found


def rotates_off_grid(transform) -> bool:
    """Whether ``transform`` contains rotations that do not preserve the pixel grid (``equinet.transforms.Rotate``,
    or a group transform with elements such as 45° turns): their images lose the corners of the field of view."""
    from ..groups.group import PlanarGroup
    from ..transforms import Rotate
    if isinstance(transform, Rotate):
        return True
    group = transform if isinstance(transform, PlanarGroup) else getattr(transform, "group", None)
    return isinstance(group, PlanarGroup) and (group.continuous or
                                               any(not g.preserves_grid for g in group.elements()))


def identifiability_preflight(loss: Loss, physics, image_size, echo=print):
    """For an unsupervised loss with transformations, compute `equinet.diagnostics.identifiability_report`
    of (physics, transformation), ``echo`` its lines, and warn (``UserWarning``) when the rank condition fails:
    then no unsupervised loss with this group can learn the whole nullspace of A. For off-grid rotations a failure
    on the full grid is re-checked for images supported on the disk (``support='disk'``); the warning is raised only
    if the condition fails there too. Returns the reports (empty list
    when there is nothing to check)."""
    from ..diagnostics import identifiability_report
    reports = []
    _family_preflight(loss, physics, image_size, echo)
    for t in loss_transforms(loss):
        report = identifiability_report(physics, t, image_size, max_transforms=PREFLIGHT_TRANSFORMS)
        disk = None
        if not report.ok and rotates_off_grid(t):
            # off-grid rotations move corner pixels out of the field of view: those directions are never exposed on
            # the full grid, whatever A is. Ask the question for images supported on the disk (ellipse phantoms,
            # what parallel-beam CT sees) before warning.
            disk = identifiability_report(physics, t, image_size, max_transforms=PREFLIGHT_TRANSFORMS, support="disk")
            if disk.ok:  # the verdict first; the full-grid numbers follow
                echo(f"identifiability of {report.operator} with {report.transforms}: holds on the disk where "
                     f"rotations keep pixels in view; {report.rank.nullity_M:.0f} corner direction"
                     f"{'s' if round(report.rank.nullity_M) != 1 else ''} outside it cannot be learned")
        for line in report.lines():
            echo(line if disk is None or not disk.ok else "  full grid: " + line.split(": ", 1)[-1]
                 if line.startswith("identifiability of") else line)
        if disk is not None:
            verdict = ("holds" if disk.ok else f"fails by {disk.rank.nullity_M:.0f} of {disk.rank.n} directions")
            echo(f"  on the disk where rotations keep pixels in view ({disk.rank.n} of {report.rank.n} unknowns): the "
                 f"rank condition {verdict} (rank M = {disk.rank.rank_M:.0f})"
                 + ("; images that are non-zero outside this disk have directions no rotation exposes"
                    if disk.ok else ""))
            if disk.ok:
                reports.append(report)
                continue
        if not report.ok:
            warnings.warn(f"{type(loss).__name__}: the rank condition fails for {type(physics).__name__} with "
                          f"{report.transforms} by {report.rank.nullity_M:.0f} of {report.rank.n} directions "
                          f"(rank M = {report.rank.rank_M:.0f} < n = {report.rank.n} with "
                          f"{report.rank.details.get('transforms_used', report.rank.n_transforms)} evenly spaced "
                          "transformations "
                          "checked; more can only raise rank M): "
                          "equivariant imaging cannot learn the whole nullspace of this operator with this group",
                          UserWarning, stacklevel=3)
        reports.append(report)
    return reports


def _family_preflight(loss: Loss, physics, image_size, echo) -> None:
    """An unsupervised loss without transformations on an operator family (``physics`` its stacked operator): echo
    the rank of the stacked operators and warn when they leave directions unseen (no group can then expose them)."""
    from ..physics.family import StackedOperators
    if not isinstance(physics, StackedOperators) or loss.needs_ground_truth or loss_transforms(loss):
        return
    from ..diagnostics import rank_condition
    r = rank_condition(physics, [lambda x: x], image_size)
    g = len(physics.family)
    echo(f"identifiability of the {g} operators of the family: rank [A_1; ...; A_{g}] = {r.rank_A:.0f} of n = {r.n} "
         f"({r.method}, rtol {r.rtol:g})")
    if r.nullity_A >= 0.5:
        warnings.warn(f"{type(loss).__name__}: the {g} operators of the family leave {r.nullity_A:.0f} of {r.n} "
                      "directions unseen (their joint null space): no loss learns them from these measurements alone; "
                      "add a group (EI) that exposes them (equinet.diagnostics.family_rank)", UserWarning, stacklevel=4)


def run_preflights(loss: Loss, physics, y: torch.Tensor, model: nn.Module, identifiability: bool,
                   quiet: bool = False, identifiability_physics=None) -> None:
    """What a run checks before its first step: `preflight` on one measurement ``y``, and (``identifiability``)
    `identifiability_preflight` of ``identifiability_physics`` (default ``physics``; the stacked operator of an
    operator family), printed to stderr unless ``quiet``."""
    import sys
    preflight(loss, physics, y, model)
    if identifiability:
        echo = (lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr))
        identifiability_preflight(loss, physics if identifiability_physics is None else identifiability_physics,
                                  tuple(physics.adjoint(y).shape[-2:]), echo=echo)


def first_batch_preflights(trainer) -> None:
    """`run_preflights` of a `Trainer` on the first item of its first batch (measured with generator 0 if the
    data are images), with the stacked operator of an operator family for the identifiability check."""
    from .sampling import batch_indices
    t, dev = trainer, trainer.ctx.device
    ids = batch_indices(t.data.n, t.batch_size, t.seed, 0)[:1]
    x, y = t.data.fetch(ids)
    physics = t.physics_of(ids)
    y = (t.measure or physics.measure)(x.to(dev), torch.Generator().manual_seed(0)) if y is None else y
    run_preflights(t.loss, physics, y.to(dev), t.model, t.config.identifiability and t.ctx.is_main,
                   quiet=t.progress is False, identifiability_physics=None if t.family is None else t.family.stacked())


def run_first_step_check(trainer) -> None:
    """The first step's checks of a `Trainer`, run without training or writing anything (the command line calls it
    before it writes its first file): the first batch's measurements are finite and fit the physics and the model
    (`preflight`), the loss gives a finite value on them, and the validation metrics accept the validation images.
    The model, the loss and every random state are left as they were. Raises ``ValueError``/``TypeError``."""
    from ..losses.base import LossInputs, total
    from ..metrics import psnr, ssim
    from ..physics.family import physics_for
    from .checkpoint import forked_rng
    from .evaluation import _operators_of
    from .sampling import batch_indices, step_generator
    t, dev = trainer, trainer.ctx.device
    ids = torch.tensor_split(batch_indices(t.data.n, t.batch_size, t.seed, 0), t.micro_batches)[0]
    loss_state = {k: v.clone() for k, v in t.loss.state_dict().items()}
    was = t.model.training
    with forked_rng(dev), torch.no_grad():
        x, y = t.data.fetch(ids)
        x = None if x is None else x.to(dev)
        g = step_generator(t.seed, 0, 0, t.micro_batches)
        physics = t.physics_of(ids)
        y = (t.measure or physics.measure)(x, g) if y is None else y.to(dev)
        preflight(t.loss, physics, y, t.model)
        t.model.eval()
        try:
            with t.precision.autocast():  # as the steps will run
                terms = t.loss(LossInputs(y, physics, t.model, t.model(y, physics), g,
                                          x if t.loss.needs_ground_truth else None))
        finally:
            t.model.train(was)
            t.loss.load_state_dict(loss_state)
        if t.validation is not None:  # the metrics accept the validation images (e.g. SSIM's window)
            iv = torch.arange(min(1, len(t.validation)))
            xv, yv = t.validation.batch(iv)
            t.model.eval()
            try:
                with t.precision.autocast():
                    uv, xv = t.model(yv.to(dev), physics_for(t.physics, _operators_of(t.validation, iv))), xv.to(dev)
            finally:
                t.model.train(was)
            psnr(uv, xv, t.config.data_range), ssim(uv, xv, t.config.data_range)
        tot = total(terms)
        if not bool(torch.isfinite(tot)):
            raise ValueError(f"the loss is not finite on the first batch ({float(tot)}: "
                             f"{ {k: float(v) for k, v in terms.items()} }); check its weights and the data")


def check_weights_finite(params, step: int, lr: float, loss: float) -> None:
    """A FloatingPointError when an update made a weight NaN or inf (``step`` 0-based; ``lr`` and ``loss`` of it)."""
    if not bool(torch.stack([torch.isfinite(p.detach()).all() for p in params]).all()):
        raise FloatingPointError(
            f"the weights became NaN or inf at step {step + 1} (learning rate {lr:g}, loss before the update "
            f"{loss:.4g}); lower the learning rate, set grad_clip, or check the loss weights")
