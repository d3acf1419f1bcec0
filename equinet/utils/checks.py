"""Argument checks shared by every sub-package: one rule per kind of argument, one wording per error.

Each check returns the normalised value or raises an error that names the argument and what was expected
(``ValueError`` for a wrong value, ``TypeError`` for a wrong kind of object). Seeds follow
`equinet.utils.seeding.check_seed` (a non-negative int; bools refused).
"""
from __future__ import annotations

import math
import numbers
from typing import Optional, Tuple

import torch

from .seeding import check_seed

__all__ = ["check_positive_int", "check_nonnegative_int", "check_seed", "check_positive_float", "check_bool",
           "check_image_size", "check_mask", "check_floating", "check_finite", "check_nonnegative_float", "check_int",
           "check_real", "check_number", "check_at_most", "check_memory", "available_memory", "format_bytes",
           "MemoryEstimateError"]


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def check_positive_int(value, name: str) -> int:
    """``value`` as an int >= 1 (bools and floats refused)."""
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_nonnegative_int(value, name: str) -> int:
    """``value`` as an int >= 0 (bools and floats refused)."""
    if not _is_int(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def check_positive_float(value, name: str) -> float:
    """``value`` as a finite float > 0 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_bool(value, name: str) -> bool:
    """``value`` if it is a bool (``'no'``, ``0`` or ``None`` are refused: they are not the same thing)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_image_size(image_size, name: str = "image_size") -> Tuple[int, int]:
    """An int ``n`` (for ``n x n``) or a pair ``(H, W)`` of positive ints, as a tuple ``(H, W)``."""
    if _is_int(image_size):
        size = (int(image_size), int(image_size))
    elif isinstance(image_size, (tuple, list, torch.Size)) and len(image_size) == 2 \
            and all(_is_int(s) for s in image_size):
        size = (int(image_size[0]), int(image_size[1]))
    else:
        raise TypeError(f"{name} must be an int or a pair of ints (H, W), got {image_size!r}")
    if min(size) < 1:
        raise ValueError(f"{name} must be positive, got {size}")
    return size


def check_mask(mask, shape: Tuple[int, ...], name: str = "mask", dims: Optional[str] = None,
               dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """A 0/1 mask of exactly ``shape`` (``dims`` names the axes in the error, e.g. ``'(H, W)'``), as a detached
    copy of dtype ``dtype`` (default: torch's default)."""
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(mask)
    if tuple(mask.shape) != tuple(shape):
        what = f"{dims} = {tuple(shape)}" if dims else f"{tuple(shape)}"
        raise ValueError(f"{name} must have shape {what}, got {tuple(mask.shape)}")
    if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} entries must be 0 or 1")
    return mask.detach().to(torch.get_default_dtype() if dtype is None else dtype).clone()


def check_floating(t, name: str, dtypes: Tuple[torch.dtype, ...] = (torch.float32, torch.float64)) -> torch.Tensor:
    """``t`` if it is a tensor of one of ``dtypes`` (default float32/float64)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in dtypes:
        raise TypeError(f"{name} must have dtype in {[str(d).replace('torch.', '') for d in dtypes]}, got "
                        f"{str(t.dtype).replace('torch.', '')}")
    return t


def check_finite(t: torch.Tensor, name: str) -> torch.Tensor:
    """``t`` if it has no NaN or inf entries."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contain NaN or inf; clean or mask them first")
    return t


def check_nonnegative_float(value, name: str) -> float:
    """``value`` as a finite float >= 0 (bools refused), e.g. a loss weight."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_int(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int >= ``minimum``: a TypeError for a non-integer (bools included), a ValueError below it.

    >>> check_int(3, "kernel_size", 1)
    3
    >>> check_int(2.5, "kernel_size", 1)
    Traceback (most recent call last):
    ...
    TypeError: kernel_size must be an integer >= 1, got 2.5
    """
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_real(value, name: str, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float >= ``minimum`` (> with ``strict``): a TypeError for a non-number (bools
    included), a ValueError for a value out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(f"{name} must be finite and {'>' if strict else '>='} {minimum:g}, got {value}")
    return value


def check_number(value, name: str, minimum: Optional[float] = None, maximum: Optional[float] = None,
                 strict_minimum: bool = False) -> float:
    """``value`` as a finite float in ``[minimum, maximum]`` (``(minimum, maximum]`` with ``strict_minimum``);
    NaN, inf, bools and non-numbers refused.

    >>> check_number(0.5, "lr", 0, strict_minimum=True)
    0.5
    >>> check_number(float("inf"), "lr", 0, strict_minimum=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0, got inf
    """
    bound = ""
    if minimum is not None:
        bound = f" {'>' if strict_minimum else '>='} {minimum:g}"
    if maximum is not None:
        bound += (" and" if bound else "") + f" <= {maximum:g}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or (minimum is not None and (float(value) <= minimum if strict_minimum else float(value) < minimum)) \
            or (maximum is not None and float(value) > maximum):
        raise ValueError(f"{name} must be a finite number{bound}, got {value!r}")
    return float(value)


def check_at_most(value: int, name: str, maximum: int, why: str = "") -> int:
    """``value`` if it is at most the documented bound ``maximum`` (``why``: the reason, for the message)."""
    if value > maximum:
        raise ValueError(f"{name} = {value} is above the supported maximum {maximum}" + (f" ({why})" if why else ""))
    return value


def format_bytes(n: float) -> str:
    """``n`` bytes in readable units.

    >>> format_bytes(3 * 2 ** 30)
    '3.0 GB'
    """
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EB"  # pragma: no cover


def available_memory() -> int:
    """Bytes this process may allocate at most: the machine's physical memory, lowered by an address-space limit
    (``ulimit -v``) or a cgroup memory limit when one is set."""
    import os
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        limit = 2 ** 62
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft)
    except (ImportError, ValueError, OSError):  # pragma: no cover
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit():
                limit = min(limit, int(text))
        except OSError:
            pass
    return int(limit)


class MemoryEstimateError(ValueError):
    """A size whose memory estimate exceeds what the machine has (refused before allocating anything)."""


def check_memory(nbytes: float, what: str) -> float:
    """Refuse (`MemoryEstimateError`, a ``ValueError``) when ``what`` needs about ``nbytes`` bytes, more than
    `available_memory`; the message gives the estimate.

    >>> check_memory(1e3, "a small array")
    1000.0
    """
    avail = available_memory()
    if not nbytes <= avail:
        raise MemoryEstimateError(f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                                  f"{format_bytes(avail)} this machine allows; use smaller sizes")
    return float(nbytes)
