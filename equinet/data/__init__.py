"""Offline, seed-deterministic data: ellipse phantoms, crops of scikit-image's photographs, 1-D triangles.

Nothing is downloaded. Item ``i`` of every generator depends only on ``(seed, i)``. See ``docs/data.md``.
"""

from .natural import GRAY_IMAGES, RGB_IMAGES, NaturalImageCrops, load_image, natural_image_crops
from .phantoms import (SHEPP_LOGAN_MODIFIED, SHEPP_LOGAN_ORIGINAL, EllipsePhantoms, random_ellipses,
                       render_ellipses, shepp_logan)
from .signals import shifted_triangles, triangle
from .measurements import MeasurementDataset, PairedMeasurementDataset, simulate_measurements

__all__ = [
    "random_ellipses",
    "EllipsePhantoms",
    "render_ellipses",
    "shepp_logan",
    "SHEPP_LOGAN_MODIFIED",
    "SHEPP_LOGAN_ORIGINAL",
    "NaturalImageCrops",
    "natural_image_crops",
    "load_image",
    "GRAY_IMAGES",
    "RGB_IMAGES",
    "shifted_triangles",
    "triangle",
    "MeasurementDataset",
    "PairedMeasurementDataset",
    "simulate_measurements",
]
