"""fastMRI single-coil knee volumes (Zbontar et al. 2018), as distributed: one HDF5 file per volume.

Each ``*.h5`` file holds ``kspace`` (complex64, ``[slices, H, W]``, centred k-space, e.g. 640 x 368) and
``reconstruction_esc`` (float32, ``[slices, 320, 320]``, the cropped magnitude reference), with the attribute
``max`` (the largest value of ``reconstruction_esc`` in the volume). fastMRI's k-space convention is equinet's
(``fftshift(fft2(ifftshift(x)), norm="ortho")``), so:

* `fastmri_pairs(path, split, mask)`: ``x = ifft2c(kspace)`` as two channels (real, imaginary), ``[2, H, W]``, and
  ``y = mask * kspace`` in the same layout: exactly ``equinet.physics.MRI((H, W), mask=mask)(x)``. Both are divided
  by the volume's ``max``. ``mask=None`` gives the fully sampled k-space.
* `fastmri_images(path, split, image_size)`: the ``reconstruction_esc`` magnitudes divided by ``max``, ``[1, n, n]``
  (resized to ``image_size``), for equinet's own MRI operator (``equinet.physics.real_to_channels``).

Splits are by volume (never slices of one knee in two splits): `equinet.data.streaming.split_indices` over the
sorted file names with ``seed`` and ``fractions``; ``'all'`` keeps every volume (e.g. fastMRI's own val folder).
Slices are read one at a time.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np
import torch

from .files import DataFormatError, ImageItems, find_files, optional_size, require_h5py
from .streaming import StreamingMeasurementDataset, split_indices

__all__ = ["fastmri_images", "fastmri_pairs"]

_EXPECTS = ("a fastMRI single-coil folder of *.h5 volumes with datasets 'kspace' [slices, H, W] (complex) and "
            "'reconstruction_esc' [slices, 320, 320]")


class _Volumes:
    def __init__(self, path, split: str, seed: int, fractions: Sequence[float], need: str):
        self.h5 = require_h5py("fastMRI")
        files = find_files(path, ["*.h5"], _EXPECTS)
        keep = split_indices(len(files), split, fractions, seed).tolist()
        self.files = [files[k] for k in keep]
        if not self.files:
            raise DataFormatError(f"split {split!r} of the {len(files)} fastMRI volumes under {os.fspath(path)!r} is "
                                  f"empty; use split='all' or more volumes")
        self.need = need
        self.index = []  # (file, slice)
        for f in self.files:
            try:
                with self.h5.File(f, "r") as h:
                    d = h[need]
                    if d.ndim != 3 or (need == "kspace" and not np.issubdtype(d.dtype, np.complexfloating)):
                        raise DataFormatError(f"{f!r}: '{need}' has shape {d.shape} and dtype {d.dtype}; expected "
                                              f"[slices, H, W]" + (" complex" if need == "kspace" else ""))
                    self.index += [(f, s) for s in range(d.shape[0])]
            except (OSError, KeyError) as err:
                raise DataFormatError(f"{f!r} cannot be read as a fastMRI volume ({type(err).__name__}: {err}); "
                                      f"expected {_EXPECTS}") from None

    def read(self, i: int):
        f, s = self.index[i]
        with self.h5.File(f, "r") as h:
            scale = float(h.attrs["max"]) if "max" in h.attrs else None
            return h[self.need][s], scale


def fastmri_images(path, split: str = "all", image_size=None, seed: int = 0,
                   fractions: Sequence[float] = (0.8, 0.1, 0.1)) -> ImageItems:
    """Reference magnitudes (``reconstruction_esc / max``) of the volumes of ``split``, ``[1, n, n]`` each."""
    vols = _Volumes(path, split, seed, fractions, "reconstruction_esc")

    def read(i):
        img, scale = vols.read(i)
        img = torch.from_numpy(np.asarray(img, dtype=np.float32))[None]
        return img / (scale if scale else max(float(img.max()), 1e-12))

    return ImageItems(len(vols.index), read, optional_size(image_size), f"fastMRI {split} reconstruction_esc")


def fastmri_pairs(path, split: str = "all", mask: Optional[torch.Tensor] = None, seed: int = 0,
                  fractions: Sequence[float] = (0.8, 0.1, 0.1), ground_truth: bool = True
                  ) -> StreamingMeasurementDataset:
    """``(x, y)`` slices of the volumes of ``split``: ``x = ifft2c(kspace) / max`` ``[2, H, W]`` and ``y = mask *
    kspace / max`` ``[2, H, W]`` (``mask`` ``(H, W)`` of 0/1, e.g. ``equinet.physics.MRI((H, W)).mask``; None = fully
    sampled); ``ground_truth=False`` gives ``y`` only."""
    vols = _Volumes(path, split, seed, fractions, "kspace")

    def read(i):
        k, scale = vols.read(i)
        k = torch.from_numpy(np.asarray(k, dtype=np.complex64))
        k = k / (scale if scale else max(float(k.abs().max()), 1e-12))
        if mask is not None and tuple(mask.shape) != tuple(k.shape):
            raise DataFormatError(f"the mask has shape {tuple(mask.shape)}, the k-space of {vols.index[i][0]!r} "
                                  f"{tuple(k.shape)}; expected the same (H, W)")
        x = None
        if ground_truth:
            z = torch.fft.fftshift(torch.fft.ifft2(torch.fft.ifftshift(k, dim=(-2, -1)), norm="ortho"), dim=(-2, -1))
            x = torch.stack((z.real, z.imag))
        y = torch.stack((k.real, k.imag))
        if mask is not None:
            y = y * mask.to(y.dtype)
        return x, y

    return StreamingMeasurementDataset(len(vols.index), read, ground_truth,
                                       f"fastMRI {split} k-space from {os.fspath(path)!r}")
