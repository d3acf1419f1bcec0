"""Steerable kernel solver: bases of kernels k with k(Hx) π_in(H) = π_out(H) k(x), sampled on the pixel grid."""
from .angular import AngularBasis, angular_basis_analytic, angular_basis_numerical  # noqa: F401
from .sampling import SamplingRule, sample_basis  # noqa: F401
from .basis import (DEFAULT_RULE, angular_basis, cache_info, clear_cache, steerable_basis,  # noqa: F401
                    steerable_basis_numpy)

__all__ = ["steerable_basis", "steerable_basis_numpy", "angular_basis", "angular_basis_analytic",
           "angular_basis_numerical", "AngularBasis", "SamplingRule", "sample_basis", "DEFAULT_RULE",
           "clear_cache", "cache_info"]
