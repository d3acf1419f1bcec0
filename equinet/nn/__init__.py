"""Equivariant layers on plain tensors: field types, steerable convolutions, nonlinearities, pooling, resampling,
normalisation; every module exports to standard torch modules."""
from .alias_free import AliasFreeNonlinearity  # noqa: F401
from .alias_free_quincunx import QuincunxAliasFreeNonlinearity  # noqa: F401
from .averaging import GroupAveraged, RandomlyAveraged  # noqa: F401
from .basis_expansion import BasisExpansion  # noqa: F401
from .conv import SteerableConv2d  # noqa: F401
from .export import is_standard, plain  # noqa: F401
from .field_type import FieldType, as_field_type, check_same_type, is_permutation  # noqa: F401
from .misc import Identity, trivial_projector  # noqa: F401
from .module import EquivariantModule, EquivariantSequential  # noqa: F401
from .nonlinearity import GatedNonlinearity, LeakyReLU, NormNonlinearity, PointwiseNonlinearity, ReLU  # noqa: F401
from .normalization import EquivariantBatchNorm, EquivariantInstanceNorm  # noqa: F401
from .pooling import GroupPooling, NormPooling  # noqa: F401
from .resampling import Downsample2x, Upsample2x  # noqa: F401

__all__ = ["FieldType", "as_field_type", "check_same_type", "is_permutation", "EquivariantModule",
           "EquivariantSequential", "BasisExpansion", "SteerableConv2d", "trivial_projector", "is_standard", "plain",
           "Identity", "PointwiseNonlinearity", "ReLU", "LeakyReLU", "NormNonlinearity", "GatedNonlinearity",
           "AliasFreeNonlinearity", "QuincunxAliasFreeNonlinearity", "GroupPooling", "NormPooling", "Downsample2x",
           "Upsample2x", "EquivariantBatchNorm", "EquivariantInstanceNorm", "GroupAveraged", "RandomlyAveraged"]
