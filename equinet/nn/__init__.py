"""Equivariant layers on plain tensors: field types, steerable convolutions, nonlinearities, pooling, resampling,
normalisation; every module exports to standard torch modules."""
from .field_type import FieldType, as_field_type, check_same_type, is_permutation  # noqa: F401
from .module import EquivariantModule, EquivariantSequential  # noqa: F401
from .conv import SteerableConv2d, trivial_projector  # noqa: F401
