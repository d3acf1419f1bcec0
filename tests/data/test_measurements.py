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
