"""Steerable kernel solver: bases of kernels k with k(Hx) π_in(H) = π_out(H) k(x), sampled on the pixel grid.

>>> from equinet import groups, kernels
>>> G = groups.cyclic(4)
>>> B = kernels.steerable_basis(G.trivial, G.regular, kernel_size=3)   # [n_basis, out, in, k, k]
>>> tuple(B.shape)
(6, 4, 1, 3, 3)
"""
from .angular import AngularBasis, angular_basis_analytic, angular_basis_numerical  # noqa: F401
from .basis import DEFAULT_RULE, angular_basis, cache_info, clear_cache, steerable_basis, steerable_basis_numpy  # noqa: F401
from .sampling import SamplingRule, sample_basis  # noqa: F401

__all__ = ["steerable_basis", "steerable_basis_numpy", "angular_basis", "angular_basis_analytic",
           "angular_basis_numerical", "AngularBasis", "SamplingRule", "sample_basis", "DEFAULT_RULE",
           "clear_cache", "cache_info"]
