"""The trainer with an operator family: each item measured, reconstructed, scored and validated with its own member;
an interrupted run resumes bit for bit; a checkpoint of another family is refused; mismatched data in one line."""
import math
import warnings

import pytest
import torch
from torch import nn

from equinet.data import random_ellipses, simulate_measurements
from equinet.losses import EILoss, Loss, LossSum, MOILoss
from equinet.nets import PinvReconstructor
from equinet.physics import GaussianNoise, Inpainting, inpainting_family
from equinet.training import CosineSchedule, Trainer, read_csv
from equinet.training.evaluation import evaluate
from equinet.training.preflight import identifiability_preflight
from equinet.training.sampling import batch_indices
from equinet.transforms import Rot90

IMAGES = random_ellipses(14, 12, seed=3)
VAL = random_ellipses(3, 12, seed=9)


def _family(seed=0):
    return inpainting_family(12, 3, drop=0.5, seed=seed, noise=GaussianNoise(0.02))


def _model():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 1, 3, padding=1))
    return PinvReconstructor(net, residual=True, init="pinv")


def _weights(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _run(out, steps=8, stop=None, family=None, images=False, micro_batches=2):
    fam = _family() if family is None else family
    data = IMAGES if images else simulate_measurements(fam, IMAGES, seed=5)
    val = simulate_measurements(fam, VAL, seed=6, ground_truth=True)
    model = _model()

    def cb(step, value):
        if step == stop:
            raise KeyboardInterrupt

    t = Trainer(model, LossSum([MOILoss(noise=True), EILoss(Rot90(), weight=0.5)]), fam, data, steps=steps,
                batch_size=4, micro_batches=micro_batches, seed=2, val_every=4, validation=val,
                optimizer=lambda p: torch.optim.Adam(p, lr=2e-3), scheduler=lambda o, n: CosineSchedule(o, n, 1e-4),
                out=out, checkpoint_every=3, callback=cb, plots=False, identifiability=False)
    return t.fit(), model


@pytest.mark.parametrize("images", [False, True], ids=["fixed-measurements", "images"])
def test_interrupted_and_resumed_multi_operator_run_is_bitwise_the_uninterrupted_one(tmp_path, images):
    ref, m_ref = _run(str(tmp_path / "a"), images=images)
    assert set(ref.terms) == {"moi_mc", "moi", "ei"} and all(math.isfinite(v) for v in ref.loss)
    with pytest.raises(KeyboardInterrupt):
        _run(str(tmp_path / "b"), stop=5, images=images)  # interrupted after step 5, checkpoint at 3
    h, m = _run(str(tmp_path / "b"), images=images)
    assert h.resumed_from == 3
    assert h.loss == ref.loss and h.terms == ref.terms and h.validation == ref.validation
    assert torch.equal(_weights(m), _weights(m_ref))
    assert read_csv(str(tmp_path / "b" / "log.csv")) == read_csv(str(tmp_path / "a" / "log.csv"))


def test_a_checkpoint_of_another_family_is_refused(tmp_path):
    _run(str(tmp_path), steps=3)
    with pytest.raises(ValueError, match="operator_family"):
        _run(str(tmp_path), steps=3, family=_family(seed=1))


class Record(Loss):
    """Records the per-sample operator of every slice (and a trivially differentiable term)."""
    name = "rec"

    def __init__(self):
        super().__init__()
        self.seen = []

    def terms(self, inputs):
        self.seen.append((inputs.physics.operators.clone(), inputs.y.detach().clone()))
        return {"rec": (inputs.physics(inputs.x1) - inputs.y).pow(2).mean()}


@pytest.mark.parametrize("images", [False, True], ids=["fixed-measurements", "images"])
def test_each_item_is_seen_with_its_own_member(images):
    fam = _family()
    ds = simulate_measurements(fam, IMAGES, seed=5)
    loss = Record()
    Trainer(_model(), loss, fam, IMAGES if images else ds, steps=3, batch_size=4, micro_batches=1, seed=2,
            identifiability=False).fit()
    for step, (ops, y) in enumerate(loss.seen):
        ids = batch_indices(len(IMAGES), 4, 2, step)
        assert torch.equal(ops, ids % 3 if images else ds.operators[ids])
        for b, i in enumerate(ids.tolist()):  # zero exactly where the item's own member drops pixels
            assert bool((y[b, 0][fam[ops[b]].mask == 0] == 0).all())
            if not images:
                assert torch.equal(y[b], ds.y[i])


def test_validation_reconstructs_each_item_with_its_own_member():
    fam = _family()
    val = simulate_measurements(fam, VAL, seed=6, ground_truth=True, operators=torch.tensor([2, 0, 1]))
    model = _model()
    got = evaluate(model, fam, val, batch_size=2)
    from equinet.metrics import psnr
    with torch.no_grad():
        per = [float(psnr(model(val.y[i:i + 1], fam[k]), val.x[i:i + 1])) for i, k in enumerate([2, 0, 1])]
    assert got["psnr"] == pytest.approx(sum(per) / 3, rel=1e-6)


def test_mismatched_data_and_physics_are_refused_in_one_line():
    fam, single = _family(), Inpainting(12, drop=0.5)
    ds = simulate_measurements(fam, IMAGES, seed=5)
    plain = simulate_measurements(single, IMAGES, seed=5)
    cases = [
        (dict(physics=fam, data=plain), "the physics is an OperatorFamily but the training data carry no operator"),
        (dict(physics=single, data=ds), "the training data carry per-sample operator indices but the physics is a "
                                        "single operator"),
        (dict(physics=inpainting_family(12, 2), data=ds), r"the training data: operator indices must lie in \[0, 2\)"),
        (dict(physics=fam, data=ds, validation=simulate_measurements(single, VAL, ground_truth=True)),
         "the validation data carry no operator indices"),
        (dict(physics=fam, data=IMAGES, measure=lambda x, g: x), "measure= simulates one operator"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            Trainer(_model(), MOILoss(), steps=1, batch_size=2, **kwargs)
        assert "\n" not in str(err.value)


def test_the_first_step_check_runs_with_per_sample_operators():
    fam = _family()
    t = Trainer(_model(), MOILoss(), fam, simulate_measurements(fam, IMAGES, seed=5), steps=2, batch_size=4,
                validation=simulate_measurements(fam, VAL, seed=6, ground_truth=True), identifiability=False)
    before = _weights(t.model).clone()
    t.check()
    assert torch.equal(_weights(t.model), before)


def test_the_identifiability_preflight_judges_the_whole_family():
    """One mask with quarter turns leaves 12 directions unseen (a warning); three masks with them see all."""
    for g, warns in ((1, True), (3, False)):
        fam = inpainting_family(12, g, drop=0.5, seed=0)
        t = Trainer(_model(), LossSum([MOILoss(), EILoss(Rot90())]), fam, simulate_measurements(fam, IMAGES),
                    steps=1, batch_size=4, identifiability=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t.fit()
        messages = [str(w.message) for w in caught if "rank condition fails" in str(w.message)]
        assert bool(messages) == warns and all("by 12 of 144 directions" in m for m in messages)


def test_moi_alone_is_warned_about_the_families_joint_null_space():
    """No group: the pre-flight reports the rank of the stacked masks and warns about their joint null space."""
    for g in (1, 3):
        fam = inpainting_family(12, g, drop=0.5, seed=0)
        union = int(torch.stack([m.mask for m in fam]).amax(0).sum())
        lines: list = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            identifiability_preflight(MOILoss(), fam.stacked(), (12, 12), echo=lines.append)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            assert identifiability_preflight(LossSum([MOILoss(), EILoss(Rot90())]), fam.stacked(), (12, 12),
                                             echo=lambda line: None)  # with a group: the group's report instead
        assert lines[0].endswith(f"= {union} of n = 144 (exact, rtol 1e-05)")
        assert [str(w.message) for w in caught if "joint null space" in str(w.message)] == \
            [f"MOILoss: the {g} operators of the family leave {144 - union} of 144 directions unseen (their joint null "
             "space): no loss learns them from these measurements alone; add a group (EI) that exposes them "
             "(equinet.diagnostics.family_rank)"]
