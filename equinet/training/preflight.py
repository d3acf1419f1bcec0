"""Checks run once before training: the (loss, physics, data, model) combination works, and, for losses that learn
from measurements alone through a group of transformations (EI, REI, adversarial EI), whether that group can
reveal the nullspace of the operator at all (Theorem 1 / Corollary 1 of the EI paper, `equinet.diagnostics`).
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from ..losses.base import Loss

__all__ = ["run_preflights", "preflight", "identifiability_preflight", "loss_transforms", "rotates_off_grid"]

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
    for t in loss_transforms(loss):
        report = identifiability_report(physics, t, image_size, max_transforms=PREFLIGHT_TRANSFORMS)
        for line in report.lines():
            echo(line)
        if not report.ok and rotates_off_grid(t):
            # off-grid rotations move corner pixels out of the field of view: those directions are never exposed on
            # the full grid, whatever A is. Ask the question for images supported on the disk (ellipse phantoms,
            # what parallel-beam CT sees) before warning.
            disk = identifiability_report(physics, t, image_size, max_transforms=PREFLIGHT_TRANSFORMS, support="disk")
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


def run_preflights(loss: Loss, physics, y: torch.Tensor, model: nn.Module, identifiability: bool,
                   quiet: bool = False) -> None:
    """What a run checks before its first step: `preflight` on one measurement ``y``, and (``identifiability``)
    `identifiability_preflight`, printed to stderr unless ``quiet``."""
    import sys
    preflight(loss, physics, y, model)
    if identifiability:
        echo = (lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr))
        identifiability_preflight(loss, physics, tuple(physics.adjoint(y).shape[-2:]), echo=echo)
