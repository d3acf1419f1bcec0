"""The public kernel solver: `steerable_basis`, with an in-process cache."""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import torch

from ..groups.representation import Representation
from ..utils.checks import check_at_most, check_int
from .angular import AngularBasis, angular_basis_analytic, angular_basis_numerical, check_pair
from .canonical import ordered_coefficients, ordered_orthonormal
from .sampling import SamplingRule, sample_factors

DEFAULT_RULE = SamplingRule()
#: version of the basis construction; bumped whenever the elements of a basis change (it is part of every layer's
#: state-dict signature, so checkpoints of another version are refused at load time)
BASIS_VERSION = 2
METHODS = ("analytic", "numerical")

_CACHE: "OrderedDict[tuple, np.ndarray]" = OrderedDict()
_CACHE_SIZE = 512
_LOCK = threading.Lock()


def clear_cache() -> None:
    """Empty the basis cache (it holds at most 512 entries, least recently used dropped first)."""
    with _LOCK:
        _CACHE.clear()


def cache_info() -> dict:
    """Number of cached bases and the cache capacity."""
    return {"entries": len(_CACHE), "capacity": _CACHE_SIZE}


#: the largest steerable kernel (a 65x65 filter already spans most images it is applied to)
MAX_KERNEL_SIZE = 65


def _check_kernel_size(kernel_size) -> int:
    k = check_int(kernel_size, "kernel_size", 1)
    return check_at_most(k, "kernel_size", MAX_KERNEL_SIZE,
                         "the basis is solved on kernel_size² samples per entry")


def angular_basis(in_rep: Representation, out_rep: Representation, max_frequency: int,
                  method: str = "analytic") -> AngularBasis:
    """The angular solution space per frequency (see `equinet.kernels.angular`)."""
    if method == "analytic":
        return angular_basis_analytic(in_rep, out_rep, max_frequency)
    if method == "numerical":
        return angular_basis_numerical(in_rep, out_rep, max_frequency)
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")


def steerable_basis_numpy(in_rep: Representation, out_rep: Representation, kernel_size: int = 5,
                          method: str = "analytic", rule: SamplingRule | None = None,
                          orthonormalize: bool = True, copy: bool = True) -> np.ndarray:
    """`steerable_basis` as a float64 numpy array: a fresh copy, or with ``copy=False`` the cached array
    itself, read-only (no copy of a large basis)."""
    k = _check_kernel_size(kernel_size)
    rule = DEFAULT_RULE if rule is None else rule
    if not isinstance(rule, SamplingRule):
        raise TypeError(f"rule must be a SamplingRule, got {type(rule).__name__}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    check_pair(in_rep, out_rep)
    key = (in_rep.key, out_rep.key, k, method, rule.key, orthonormalize)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit.copy() if copy else hit
    Fmax = max((F for _, F in rule.rings(k)), default=0)
    ang = angular_basis(in_rep, out_rep, Fmax, method)
    fac = sample_factors(ang, k, rule)
    if not orthonormalize or fac.size == 0:
        B = fac.dense()
    else:
        # canonical: Gram-Schmidt in the fixed order ring, frequency, angular solution (unique, machine-independent),
        # from the factored Gram matrix; the dense route handles the rare rule with dependent elements
        Bo = fac.orthonormal(ordered_coefficients)
        if Bo is not None:
            B = Bo
        else:
            D = fac.dense()
            B = ordered_orthonormal(D.reshape(D.shape[0], -1))[1].reshape(-1, *D.shape[1:])
    B.setflags(write=False)
    with _LOCK:
        _CACHE[key] = B
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return B.copy() if copy else B


_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}


def steerable_basis(in_rep: Representation, out_rep: Representation, kernel_size: int = 5,
                    method: str = "analytic", rule: SamplingRule | None = None, orthonormalize: bool = True,
                    dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A basis of the steerable kernels k with k(Hx) π_in(H) = π_out(H) k(x) (eq. 12), sampled on the grid.

    Returns a tensor ``[n_basis, out_rep.size, in_rep.size, kernel_size, kernel_size]``; pixel (row, col) of a kernel
    is the point (col - c, c - row), c = (k - 1)/2, and a kernel is used as an ``F.conv2d`` weight. With
    ``orthonormalize`` the elements are orthonormal in the Frobenius inner product and dependent ones are
    dropped; the orthonormal basis is *canonical* (`equinet.kernels.canonical`): the same elements, to
    rounding, on every machine and for both routes. ``method`` picks the route ('analytic' or 'numerical').
    Identical requests are served from an in-process cache (`clear_cache`).
    """
    B = steerable_basis_numpy(in_rep, out_rep, kernel_size, method, rule, orthonormalize)  # a fresh copy
    np_dtype = _NUMPY_DTYPES.get(dtype)
    if np_dtype is not None:  # numpy's cast: no torch kernel start-up on the first call of a process
        return torch.from_numpy(np.ascontiguousarray(B, dtype=np_dtype))
    return torch.from_numpy(np.ascontiguousarray(B)).to(dtype)
