"""The trainer's identifiability pre-flight: EI with a group that cannot reveal N(A) is reported and warned about."""
import warnings

import pytest
import torch
from torch import nn

from equinet.data import random_ellipses
from equinet.losses import EILoss, LossSum, MCLoss, SupervisedLoss
from equinet.nets import PinvReconstructor
from equinet.physics import Inpainting, MRI
from equinet.training import Trainer
from equinet.training.preflight import identifiability_preflight, loss_transforms
from equinet.transforms import Shift

SIZE = 12


def _train(loss, physics, **kw):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(physics.channels or 1, 4, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(4, physics.channels or 1, 3, padding=1))
    images = random_ellipses(4, SIZE, seed=1)
    if physics.channels == 2:
        images = torch.cat([images, torch.zeros_like(images)], dim=1)
    return Trainer(PinvReconstructor(net), loss, physics, images, steps=1, batch_size=2, **kw).fit()


def test_transforms_are_found_in_unsupervised_losses_only():
    shift = Shift(SIZE)
    assert loss_transforms(LossSum([MCLoss(), EILoss(shift)])) == [shift]
    assert loss_transforms(SupervisedLoss()) == []


def test_shifts_cannot_help_mri_and_the_trainer_warns():
    """Corollary 1: Cartesian MRI is shift-equivariant, so shifts expose nothing of its nullspace."""
    mri = MRI(SIZE, acceleration=4.0, seed=0)
    lines = []
    with pytest.warns(UserWarning, match="rank condition fails"):
        (report,) = identifiability_preflight(LossSum([MCLoss(), EILoss(Shift(SIZE))]), mri, (SIZE, SIZE),
                                              echo=lines.append)
    assert not report.ok and report.range_invariant
    assert any("Corollary 1" in line for line in lines)
    with pytest.warns(UserWarning, match="rank condition fails"):
        _train(LossSum([MCLoss(), EILoss(Shift(SIZE))]), mri)


def test_shifts_suffice_for_inpainting_and_nothing_is_warned(recwarn):
    physics = Inpainting(SIZE, drop=0.3, seed=0)
    (report,) = identifiability_preflight(EILoss(Shift(SIZE)), physics, (SIZE, SIZE), echo=lambda s: None)
    assert report.ok
    _train(LossSum([MCLoss(), EILoss(Shift(SIZE))]), physics)
    assert not [w for w in recwarn if "rank condition" in str(w.message)]


def test_the_check_can_be_switched_off():
    mri = MRI(SIZE, acceleration=4.0, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _train(LossSum([MCLoss(), EILoss(Shift(SIZE))]), mri, identifiability=False)


def test_off_grid_rotations_are_rechecked_on_the_disk(recwarn):
    """Rotations by any angle lose the corners: CT fails on the full grid but holds on the disk (no warning, the
    disk verdict is echoed); a hole in the middle of an inpainting mask stays hidden under rotations about the
    centre, so the disk check fails too and the trainer warns."""
    from equinet.physics import Radon
    from equinet.transforms import Rotate
    lines = []
    (report,) = identifiability_preflight(EILoss(Rotate()), Radon(16, angles=12), (16, 16), echo=lines.append)
    assert not report.ok
    assert any("on the disk" in line and "holds" in line for line in lines)
    n = round(report.rank.nullity_M)  # the verdict comes first, the full grid's numbers after it
    assert lines[0] == (f"identifiability of Radon with Rotate: holds on the disk where rotations keep pixels in view; "
                        f"{n} corner direction{'s' if n != 1 else ''} outside it cannot be learned")
    assert lines[1].startswith("  full grid: FAILS by")
    assert not [w for w in recwarn if "rank condition" in str(w.message)]
    hole = torch.ones(16, 16)
    hole[6:10, 6:10] = 0
    lines = []
    with pytest.warns(UserWarning, match="rank condition fails"):
        identifiability_preflight(EILoss(Rotate()), Inpainting(16, mask=hole), (16, 16), echo=lines.append)
    assert any("on the disk" in line and "fails" in line for line in lines)
