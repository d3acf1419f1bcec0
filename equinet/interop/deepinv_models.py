"""equinet networks and datasets in deepinv, deepinv datasets in equinet (deepinv imported on first use).

* `to_deepinv_model(model)`: an equinet reconstructor ``model(y, physics)`` as a ``deepinv.models.Reconstructor``;
  the deepinv physics it is called with is seen through `as_physics`, so deepinv's trainer, losses and metrics
  drive it unchanged.
* `to_deepinv_denoiser(net)`: an image-to-image equinet network as a ``deepinv.models.Denoiser``
  (``denoiser(x, sigma)``; the network does not take σ), for deepinv's PnP and unrolled solvers.
* `from_deepinv_dataset(ds)`: a deepinv dataset (items ``x``, ``(x, y)``, ``(nan, y)`` or dicts with ``"x"`` /
  ``"y"``) for equinet's trainer: images (``y`` simulated on line) or a streaming measurement dataset.
* `to_deepinv_dataset(ds)`: an equinet measurement dataset with items as deepinv expects them (dicts).
* `adapt_training(physics, data)`: what the equinet trainer does with deepinv objects it is given.
"""
from __future__ import annotations

from collections.abc import Sized
from typing import Any, cast

import torch
from torch import nn
from torch.utils.data import Dataset

from ..data.measurements import MeasurementDataset
from ..data.streaming import StreamingMeasurementDataset
from .deepinv_physics import as_physics, is_deepinv, require_deepinv

__all__ = ["to_deepinv_model", "to_deepinv_denoiser", "from_deepinv_dataset", "to_deepinv_dataset",
           "adapt_training"]

_CLASSES: dict[str, type] = {}


def _classes():
    if not _CLASSES:
        dinv = require_deepinv()
        reconstructor: Any = dinv.models.Reconstructor  # deepinv's classes, imported at run time
        denoiser: Any = dinv.models.Denoiser

        class EquinetReconstructor(reconstructor):
            """An equinet ``model(y, physics)`` as a deepinv reconstructor (see `to_deepinv_model`)."""

            def __init__(self, model: nn.Module):
                super().__init__()
                self.model = model

            def forward(self, y, physics, **kwargs):
                return self.model(y, as_physics(physics))

        class EquinetDenoiser(denoiser):
            """An equinet image-to-image network as a deepinv denoiser (see `to_deepinv_denoiser`)."""

            def __init__(self, net: nn.Module):
                super().__init__()
                self.net = net

            def forward(self, x, sigma=None, **kwargs):
                return self.net(x)

        _CLASSES.update(reconstructor=EquinetReconstructor, denoiser=EquinetDenoiser)
    return _CLASSES


def to_deepinv_model(model: nn.Module):
    """An equinet reconstruction network (``model(y, physics) -> x``: ``UnrolledPGD``, ``PinvReconstructor``) as a
    ``deepinv.models.Reconstructor``; its parameters are ``model``'s own (``wrapper.model is model``)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"to_deepinv_model expects a torch.nn.Module called as model(y, physics), "
                        f"got {type(model).__name__}")
    return _classes()["reconstructor"](model)


def to_deepinv_denoiser(net: nn.Module):
    """An equinet image-to-image network ``[B, C, H, W] -> [B, C, H, W]`` as a ``deepinv.models.Denoiser``
    (called ``denoiser(x, sigma)``; σ is not used by the network), e.g. the prior of ``deepinv.optim.PnP``."""
    if not isinstance(net, nn.Module):
        raise TypeError(f"to_deepinv_denoiser expects a torch.nn.Module (image -> image), got {type(net).__name__}")
    return _classes()["denoiser"](net)


# ------------------------------------------------------------------------------------------- datasets
def _split_item(item, i: int):
    """``(x or None, y or None)`` of one deepinv dataset item."""
    if isinstance(item, dict):
        x, y = item.get("x"), item.get("y")
        params = item.get("params")
    elif isinstance(item, torch.Tensor):
        x, y, params = item, None, None
    elif isinstance(item, (tuple, list)) and len(item) in (1, 2, 3):
        x = item[0]
        y = item[1] if len(item) >= 2 and not isinstance(item[1], dict) else None
        params = item[-1] if len(item) >= 2 and isinstance(item[-1], dict) else None
    else:
        raise TypeError(f"item {i} of the deepinv dataset is a {type(item).__name__}; expected a tensor x, a tuple "
                        "(x, y) / (x, y, params) or a dict with 'x' and/or 'y'")
    if params:
        raise ValueError(f"item {i} carries physics parameters {sorted(params)}: equinet's trainer uses one fixed "
                         "operator; generate the dataset without a physics generator")
    if isinstance(x, float) or (isinstance(x, torch.Tensor) and x.is_floating_point() and bool(torch.isnan(x).all())):
        x = None  # deepinv's placeholder for "no ground truth"
    for name, t in (("x", x), ("y", y)):
        if t is not None and not isinstance(t, torch.Tensor):
            raise TypeError(f"item {i}: {name} must be a tensor, got {type(t).__name__} (give the deepinv dataset a "
                            "transform such as torchvision.transforms.ToTensor())")
    return x, y


class _Images(Dataset):
    """The images of a dataset whose items carry ``x`` (tuples or dicts)."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return _split_item(self.ds[i], i)[0]


def from_deepinv_dataset(ds, measurements: bool = True):
    """A deepinv dataset as training data for ``equinet.training.Trainer``.

    Items ``x`` (a tensor) or ``(x, params-free)``: the images, with ``y`` simulated on line by the trainer.
    Items with measurements (``(x, y)``, ``(nan, y)``, dicts with ``"y"``, e.g. from
    ``deepinv.datasets.generate_dataset``): a `StreamingMeasurementDataset` (paired when ``x`` is there), read item
    by item. ``measurements=False`` keeps only the images of paired items.
    """
    if isinstance(ds, MeasurementDataset):
        return ds
    if not (hasattr(ds, "__len__") and hasattr(ds, "__getitem__")):
        raise TypeError(f"expected a torch Dataset (len and indexing), got {type(ds).__name__}")
    n = len(ds)
    if n == 0:
        raise ValueError("the deepinv dataset is empty")
    x0, y0 = _split_item(ds[0], 0)
    if y0 is None or not measurements:
        if x0 is None:
            raise ValueError("the deepinv dataset's items have neither images nor measurements")
        return ds if isinstance(ds[0], torch.Tensor) else _Images(ds)
    paired = x0 is not None

    def read(i):
        x, y = _split_item(ds[i], i)
        if y is None or (paired and x is None):
            raise ValueError(f"item {i} of the deepinv dataset lacks {'y' if y is None else 'x'}, item 0 has it")
        return x, y

    return StreamingMeasurementDataset(n, read, paired, f"from {type(ds).__name__}")


class _DeepinvItems(Dataset):
    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        x, y = self.ds.batch(torch.tensor([i]))
        return {"y": y[0]} if x is None else {"x": x[0], "y": y[0]}


def to_deepinv_dataset(ds):
    """An equinet `MeasurementDataset` with items ``{"y": y}`` or ``{"x": x, "y": y}`` (deepinv's dataset format,
    for its trainer with ``online_measurements=False``); an image tensor ``[N, C, H, W]`` becomes a dataset of its
    images (for ``online_measurements=True``)."""
    if isinstance(ds, MeasurementDataset):
        return _DeepinvItems(ds)
    if isinstance(ds, torch.Tensor) and ds.dim() == 4:
        return torch.utils.data.TensorDataset(ds)
    raise TypeError(f"expected an equinet MeasurementDataset or an image tensor [N, C, H, W], got {type(ds).__name__}")


def adapt_training(physics, data):
    """``(physics, data)`` as equinet's trainer uses them: a deepinv operator through `as_physics`, a deepinv dataset
    (or any dataset whose items are tuples or dicts) through `from_deepinv_dataset`; equinet objects unchanged."""
    physics = as_physics(physics)
    if is_deepinv(data) or (isinstance(data, Dataset) and not isinstance(data, MeasurementDataset)
                            and len(cast(Sized, data)) > 0 and isinstance(data[0], (tuple, list, dict))):
        data = from_deepinv_dataset(data)
    return physics, data
