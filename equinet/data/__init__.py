"""Offline, seed-deterministic data: ellipse phantoms, crops of scikit-image's photographs, 1-D triangles; and
loaders of real data on disk (LoDoPaB-CT, fastMRI single-coil knee, folders of images; HDF5 needs the
``equinet-imaging[data]`` extra), streamed item by item.

Nothing is downloaded. Item ``i`` of every generator depends only on ``(seed, i)``. See ``docs/data.md``.

>>> from equinet.data import DATASETS, random_ellipses
>>> x = random_ellipses(2, 16, seed=0)
>>> tuple(x.shape), float(x.min()) >= 0.0, DATASETS.names()
((2, 1, 16, 16), True, ('ellipses', 'natural', 'natural_train', 'natural_test'))
"""

# The order of these imports is the order of the registry (the names a configuration error lists).
# isort: off
from .registry import DATASETS
from .phantoms import (SHEPP_LOGAN_MODIFIED, SHEPP_LOGAN_ORIGINAL, EllipsePhantoms, random_ellipses,
                       render_ellipses, shepp_logan)
from .natural import (
    GRAY_IMAGES,
    RGB_IMAGES,
    TEST_PHOTOS,
    TRAIN_PHOTOS,
    NaturalImageCrops,
    load_image,
    natural_image_crops,
)
from .signals import shifted_triangles, triangle
from .measurements import MeasurementDataset, PairedMeasurementDataset, simulate_measurements
from .streaming import StreamingMeasurementDataset, split_indices
from .files import DataFormatError, measured
from .lodopab import lodopab_images, lodopab_pairs
from .fastmri import fastmri_images, fastmri_pairs
from .image_folder import image_folder, read_image
from .real import data_kind, real_images
from ..utils.registry import import_submodules
# isort: on

import_submodules(__name__, __path__)  # a dataset added as one new module registers itself: no edit here

__all__ = [
    "DATASETS",
    "random_ellipses",
    "EllipsePhantoms",
    "render_ellipses",
    "shepp_logan",
    "SHEPP_LOGAN_MODIFIED",
    "SHEPP_LOGAN_ORIGINAL",
    "NaturalImageCrops",
    "natural_image_crops",
    "TRAIN_PHOTOS",
    "TEST_PHOTOS",
    "load_image",
    "GRAY_IMAGES",
    "RGB_IMAGES",
    "shifted_triangles",
    "triangle",
    "MeasurementDataset",
    "PairedMeasurementDataset",
    "simulate_measurements",
    "StreamingMeasurementDataset",
    "split_indices",
    "DataFormatError",
    "measured",
    "lodopab_images",
    "lodopab_pairs",
    "fastmri_images",
    "fastmri_pairs",
    "image_folder",
    "read_image",
    "data_kind",
    "real_images",
]
