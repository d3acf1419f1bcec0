"""Linear imaging operators (forward models) and measurement noise.

Every operator is a `LinearPhysics` (a ``torch.nn.Module``): ``op(x)`` is ``A x`` on image batches
``[B, C, H, W]``, ``op.adjoint(y)`` the exact discrete adjoint, ``op.pinv(y)`` an approximate inverse,
``op.measure(x, generator)`` the noisy measurement, ``op.data_fidelity``/``op.grad_data_fidelity`` the
least-squares data term and its gradient, ``op.norm()`` a power-iteration estimate of ``||A||_2``.
See ``docs/physics.md``.
"""

# The order of these imports is the order of the registry (the names a configuration error lists).
# isort: off
from .base import PHYSICS, LinearPhysics, as_image_size
from .noise import NOISES, GaussianBandNoise, GaussianNoise, NoiseModel, NoNoise, PoissonGaussianNoise, PoissonNoise
from .radon import FBP_FILTERS, Radon, fbp_filter
from .mri import MRI, cartesian_line_mask, magnitude, real_to_channels
from .simple import Blur, CompressedSensing, Denoising, Inpainting, SinglePixel, fwht, gaussian_kernel
from .family import (OperatorFamily, PerSampleOperators, StackedOperators, inpainting_family, mri_family,
                     physics_for, radon_family)
from ..utils.registry import import_submodules
# isort: on

import_submodules(__name__, __path__)  # an operator added as one new module registers itself: no edit here

__all__ = [
    "PHYSICS",
    "NOISES",
    "GaussianBandNoise",
    "LinearPhysics",
    "as_image_size",
    "Radon",
    "fbp_filter",
    "FBP_FILTERS",
    "MRI",
    "cartesian_line_mask",
    "real_to_channels",
    "magnitude",
    "Inpainting",
    "Blur",
    "gaussian_kernel",
    "Denoising",
    "CompressedSensing",
    "SinglePixel",
    "fwht",
    "OperatorFamily",
    "PerSampleOperators",
    "StackedOperators",
    "mri_family",
    "inpainting_family",
    "radon_family",
    "physics_for",
    "NoiseModel",
    "NoNoise",
    "GaussianNoise",
    "PoissonNoise",
    "PoissonGaussianNoise",
]
