"""Measurement datasets: one fixed noise draw per item, independent of batching; y-only vs paired datasets."""
import pytest
import torch

from equinet.data import MeasurementDataset, PairedMeasurementDataset, random_ellipses, simulate_measurements
from equinet.physics import GaussianNoise, Inpainting, PoissonNoise, Radon
from equinet.utils.seeding import generator

X = random_ellipses(6, 12, seed=2)


def test_item_i_depends_on_seed_and_i_only():
    physics = Radon(12, angles=8, noise=GaussianNoise(0.1))
    ds = simulate_measurements(physics, X, seed=7)
    assert type(ds) is MeasurementDataset and not ds.has_ground_truth and len(ds) == 6
    for i in (0, 4):
        assert torch.equal(ds[i], physics.measure(X[i:i + 1], generator(7, i))[0])
    part = simulate_measurements(physics, X[:3], seed=7)  # fewer items: the same first three draws
    assert torch.equal(part.y, ds.y[:3])
    other = simulate_measurements(physics, X, seed=8)
    assert not torch.equal(other.y, ds.y)
    # the noise is really there, with the model's level: y - A x has std sigma
    resid = ds.y - physics(X)
    assert abs(float(resid.std()) - 0.1) < 0.01


def test_paired_dataset_and_batches():
    physics = Inpainting(12, drop=0.3, seed=0, noise=PoissonNoise(0.05))
    ds = simulate_measurements(physics, X, seed=1, ground_truth=True)
    assert isinstance(ds, PairedMeasurementDataset) and ds.has_ground_truth
    x, y = ds[2]
    assert torch.equal(x, X[2]) and torch.equal(y, ds.y[2])
    idx = torch.tensor([5, 0, 3])
    bx, by = ds.batch(idx)
    assert torch.equal(bx, X[idx]) and torch.equal(by, ds.y[idx])
    assert MeasurementDataset(ds.y).batch(idx)[0] is None
    assert torch.equal(simulate_measurements(physics, [X[i] for i in range(6)], seed=1).y, ds.y)  # a dataset


def test_bad_inputs():
    physics = Inpainting(12, drop=0.3)
    with pytest.raises(TypeError, match="measure"):
        simulate_measurements(object(), X)
    with pytest.raises(ValueError, match="seed"):
        simulate_measurements(physics, X, seed=-1)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        simulate_measurements(physics, X[0])
    with pytest.raises(TypeError, match="floating point"):
        MeasurementDataset(torch.zeros(3, 1, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="same number of items"):
        PairedMeasurementDataset(X, X[:2])


def test_a_family_measures_item_i_with_its_member_and_the_dataset_keeps_the_indices():
    from equinet.physics import mri_family
    from equinet.physics.mri import real_to_channels
    fam = mri_family(12, 3, seed=4, noise=GaussianNoise(0.05))
    x = real_to_channels(X)
    ds = simulate_measurements(fam, x, seed=7)
    assert ds.operators.tolist() == [0, 1, 2, 0, 1, 2] and "operators=3" in repr(ds)
    for i in range(6):
        assert torch.equal(ds[i], fam[i % 3].measure(x[i:i + 1], generator(7, i))[0])
    ops = torch.tensor([2, 2, 0, 1, 0, 0])
    paired = simulate_measurements(fam, x, seed=7, ground_truth=True, operators=ops)
    assert paired.operators.tolist() == ops.tolist() and torch.equal(paired.operators_of(torch.tensor([1, 3])),
                                                                     torch.tensor([2, 1]))
    assert torch.equal(paired.y[2], fam[0].measure(x[2:3], generator(7, 2))[0]) and torch.equal(paired.x, x)
    single = simulate_measurements(fam[0], x, seed=7)
    assert single.operators is None and single.operators_of(torch.tensor([0])) is None
    assert torch.equal(single.y[0], ds.y[0])


def test_operator_indices_are_checked():
    from equinet.physics import inpainting_family
    fam = inpainting_family(12, 2)
    with pytest.raises(ValueError, match="single operator"):
        simulate_measurements(Inpainting(12), X, operators=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\)"):
        simulate_measurements(fam, X, operators=torch.tensor([0, 1, 2, 0, 1, 0]))
    with pytest.raises(ValueError, match="one index per image: 6 images, got 2"):
        simulate_measurements(fam, X, operators=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="one index per item: 6 items, got 5"):
        MeasurementDataset(torch.rand(6, 1, 4), operators=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="1-D integer tensor"):
        PairedMeasurementDataset(X, X, operators=torch.zeros(6))
