"""Real images for the reproductions' ``--data PATH``: the kind of data is recognised from the path.

* a folder (or file) of ``ground_truth_*_NNN.hdf5``: LoDoPaB-CT ground truth (`equinet.data.lodopab`);
* a folder (or file) of fastMRI ``*.h5`` volumes: the ``reconstruction_esc`` magnitudes (`equinet.data.fastmri`);
* a folder of PNG / TIFF / JPEG files: the images (`equinet.data.image_folder`).

`real_images(path, n, image_size, split, seed)` reads ``n`` images of ``split`` (a seeded choice when the split
holds more; only those are read) as one ``[n, 1, size, size]`` tensor, in place of the synthetic phantoms.
"""
from __future__ import annotations

import fnmatch
import glob
import os

import torch

from ..utils.seeding import check_seed, generator
from .fastmri import fastmri_images
from .files import DataFormatError
from .image_folder import IMAGE_PATTERNS, image_folder
from .lodopab import lodopab_images

__all__ = ["data_kind", "real_images", "DATA_KINDS"]

DATA_KINDS = ("lodopab", "fastmri", "images")


def data_kind(path) -> str:
    """``'lodopab'``, ``'fastmri'`` or ``'images'`` for the data at ``path`` (`DataFormatError` naming the three
    layouts when none fits)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataFormatError(f"--data {path!r} does not exist")
    folder, name = (path, "*") if os.path.isdir(path) else os.path.split(path)
    has = lambda pattern: any(fnmatch.fnmatch(os.path.basename(f), pattern)  # noqa: E731
                              for f in glob.glob(os.path.join(folder, name)))
    if has("ground_truth_*.hdf5"):
        return "lodopab"
    if has("*.h5"):
        return "fastmri"
    if any(has(p) for p in IMAGE_PATTERNS):
        return "images"
    raise DataFormatError(f"{path!r} holds none of: LoDoPaB-CT ground_truth_*.hdf5 files, fastMRI *.h5 volumes, "
                          "or PNG/TIFF/JPEG images")


def real_images(path, n: int, image_size, split: str = "train", seed: int = 0) -> torch.Tensor:
    """``n`` images ``[n, 1, image_size, image_size]`` of ``split`` from the data at ``path`` (see the module
    docstring); a seeded choice of ``n`` among the split's images (``seed``), read one at a time."""
    kind = data_kind(path)
    if kind == "lodopab":
        ds = lodopab_images(path, split, image_size)
    elif kind == "fastmri":
        ds = fastmri_images(path, split, image_size, seed=seed)
    else:
        ds = image_folder(path, split, image_size, channels=1, seed=seed)
    if len(ds) < n:
        raise DataFormatError(f"the {split!r} split of {os.fspath(path)!r} ({kind}) holds {len(ds)} images; "
                              f"{n} are needed (lower n_train / n_test or add images)")
    pick = torch.randperm(len(ds), generator=generator(check_seed(seed), 6))[:n].sort().values
    return torch.stack([ds[int(i)] for i in pick])
