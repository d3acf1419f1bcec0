"""LoDoPaB-CT (Leuschner et al. 2021) as distributed on Zenodo: HDF5 files of 128 items each.

The folder holds ``ground_truth_{part}_{NNN}.hdf5`` (dataset ``data``, ``[n, 362, 362]``, attenuation images in
[0, 1]) and ``observation_{part}_{NNN}.hdf5`` (dataset ``data``, ``[n, 1000, 513]``, post-log sinograms: 1000
parallel-beam angles in [0, π), 513 detector bins), ``part`` in train / validation / test; item ``j`` of file ``NNN``
is sample ``128 * NNN + j``. Nothing is downloaded: point the loader at the unpacked folder.

* `lodopab_images(path, split, image_size)`: the ground-truth images (a dataset of ``[1, n, n]`` tensors, resized),
  for equinet's own operators (on-line simulation, or `equinet.data.files.measured`).
* `lodopab_pairs(path, split)`: the recorded ``(x [1, 362, 362], y [1, 1000, 513])`` pairs (or ``y`` only) as a
  streaming measurement dataset. LoDoPaB's geometry (ODL, 513 bins) is not one of equinet's ``Radon`` operators.

Splits are LoDoPaB's own parts: ``'train'``, ``'val'`` (its validation part), ``'test'``. Items are read one at a time.
"""
from __future__ import annotations

import os
import re
from typing import List, Tuple

import torch

from .files import DataFormatError, ImageItems, find_files, optional_size, require_h5py
from .streaming import StreamingMeasurementDataset

__all__ = ["lodopab_images", "lodopab_pairs", "LODOPAB_PARTS"]

#: equinet split name -> LoDoPaB part
LODOPAB_PARTS = {"train": "train", "val": "validation", "test": "test"}
_EXPECTS = ("a LoDoPaB-CT folder with ground_truth_{part}_NNN.hdf5 / observation_{part}_NNN.hdf5 files "
            "(an HDF5 dataset 'data' in each)")


def _part(split: str) -> str:
    if split not in LODOPAB_PARTS:
        raise ValueError(f"split must be one of {tuple(LODOPAB_PARTS)}, got {split!r}")
    return LODOPAB_PARTS[split]


class _Files:
    """The files of one kind ('ground_truth' or 'observation') and part, with their item counts (metadata only)."""

    def __init__(self, path, kind: str, part: str):
        self.h5 = require_h5py("LoDoPaB-CT")
        files = find_files(path, [f"{kind}_{part}_*.hdf5"], _EXPECTS + f" (none for {kind}, part {part!r})")
        numbered = []
        for f in files:
            m = re.fullmatch(rf"{kind}_{part}_(\d+)\.hdf5", os.path.basename(f))
            if m:
                numbered.append((int(m.group(1)), f))
        self.files: List[str] = [f for _, f in sorted(numbered)]
        self.counts: List[int] = []
        self.shape = None
        for f in self.files:
            try:
                with self.h5.File(f, "r") as h:
                    d = h["data"]
                    if d.ndim != 3:
                        raise DataFormatError(f"{f!r}: dataset 'data' has shape {d.shape}; expected [n, H, W]")
                    self.counts.append(int(d.shape[0]))
                    self.shape = tuple(d.shape[1:])
            except (OSError, KeyError) as err:
                raise DataFormatError(f"{f!r} cannot be read as LoDoPaB-CT ({type(err).__name__}: {err}); "
                                      f"expected {_EXPECTS}") from None
        self.n = sum(self.counts)
        if self.n == 0:
            raise DataFormatError(f"the {kind} files of part {part!r} under {os.fspath(path)!r} hold no items")

    def locate(self, i: int) -> Tuple[str, int]:
        for f, c in zip(self.files, self.counts):
            if i < c:
                return f, i
            i -= c
        raise IndexError(i)

    def read(self, i: int) -> torch.Tensor:
        f, j = self.locate(i)
        with self.h5.File(f, "r") as h:
            return torch.from_numpy(h["data"][j].astype("float32"))[None]


def lodopab_images(path, split: str = "train", image_size=None) -> ImageItems:
    """LoDoPaB-CT ground-truth images of ``split``, ``[1, n, n]`` each (resized to ``image_size`` if given, an int or
    pair; antialiased), read on demand."""
    gt = _Files(path, "ground_truth", _part(split))
    return ImageItems(gt.n, gt.read, optional_size(image_size), f"LoDoPaB-CT {split} ground truth")


def lodopab_pairs(path, split: str = "train", ground_truth: bool = True) -> StreamingMeasurementDataset:
    """LoDoPaB-CT sinograms ``y [1, 1000, 513]`` of ``split`` with their images ``x [1, 362, 362]``
    (``ground_truth=False``: sinograms only), read on demand."""
    part = _part(split)
    obs = _Files(path, "observation", part)
    gt = _Files(path, "ground_truth", part) if ground_truth else None
    if gt is not None and gt.counts != obs.counts:
        raise DataFormatError(f"LoDoPaB-CT part {part!r}: ground truth files hold {gt.counts} items, observation "
                              f"files {obs.counts}; expected the same numbers")

    def read(i):
        return (gt.read(i) if gt is not None else None), obs.read(i)

    return StreamingMeasurementDataset(obs.n, read, ground_truth, f"LoDoPaB-CT {split} from {os.fspath(path)!r}")
