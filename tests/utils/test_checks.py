"""One rule per kind of argument (equinet.utils.checks), shared by physics, data, nets and unrolled."""
import math

import pytest
import torch

from equinet.utils.checks import (check_bool, check_finite, check_floating, check_image_size, check_mask,
                                  check_nonnegative_int, check_positive_float, check_positive_int, check_seed)


def test_integers_floats_and_bools():
    assert check_positive_int(3, "n") == 3 and check_nonnegative_int(0, "n") == 0 and check_seed(7) == 7
    for bad in (0, -1, 1.0, True, "2", None):
        with pytest.raises(ValueError, match="n must be a positive int"):
            check_positive_int(bad, "n")
    for bad in (-1, 0.5, False):
        with pytest.raises(ValueError, match="seed must be a non-negative int"):
            check_seed(bad)
    assert check_positive_float(0.25, "tau") == 0.25
    for bad in (0.0, -1e-3, math.nan, math.inf, True, "1"):
        with pytest.raises(ValueError, match="tau must be a finite number > 0"):
            check_positive_float(bad, "tau")
    assert check_bool(False, "bias") is False
    for bad in ("no", 0, None):
        with pytest.raises(TypeError, match="bias must be True or False"):
            check_bool(bad, "bias")


def test_sizes_masks_dtypes_and_finiteness():
    assert check_image_size(5) == (5, 5) and check_image_size((4, 6)) == (4, 6)
    assert check_image_size(torch.Size([3, 2])) == (3, 2)
    with pytest.raises(TypeError, match="image_size must be an int or a pair"):
        check_image_size((4, 6.0))
    with pytest.raises(ValueError, match="image_size must be positive"):
        check_image_size((0, 3))
    m = check_mask([[0, 1], [1, 1]], (2, 2), "mask", "(H, W)")
    assert m.dtype == torch.get_default_dtype() and m.tolist() == [[0, 1], [1, 1]]
    with pytest.raises(ValueError, match=r"mask must have shape \(H, W\) = \(2, 3\), got \(2, 2\)"):
        check_mask(m, (2, 3), "mask", "(H, W)")
    with pytest.raises(ValueError, match="0 or 1"):
        check_mask(torch.full((2, 2), 0.5), (2, 2))
    x = torch.zeros(2, dtype=torch.float64)
    assert check_floating(x, "x") is x
    for bad in (torch.zeros(2, dtype=torch.float16), torch.zeros(2, dtype=torch.int64), torch.zeros(2) + 0j):
        with pytest.raises(TypeError, match="x must have dtype in"):
            check_floating(bad, "x")
    with pytest.raises(ValueError, match="NaN or inf"):
        check_finite(torch.tensor([1.0, math.nan]), "y")


def test_physics_and_data_share_the_seed_rule():
    from equinet.data import EllipsePhantoms
    from equinet.physics import MRI, Inpainting
    for make in (lambda s: MRI(8, seed=s), lambda s: Inpainting(8, seed=s), lambda s: EllipsePhantoms(2, 8, seed=s)):
        for bad in (-1, 1.5, True):
            with pytest.raises(ValueError, match="seed must be a non-negative int"):
                make(bad)


def test_finite_numbers_and_bounds():
    from equinet.utils.checks import check_at_most, check_number
    assert check_number(2, "lr", 0, strict_minimum=True) == 2.0 and check_number(0.0, "wd", 0) == 0.0
    for bad, match in ((math.inf, "lr must be a finite number > 0, got inf"), (math.nan, "got nan"),
                       (0.0, "> 0, got 0.0"), (True, "got True"), ("1", "got '1'")):
        with pytest.raises(ValueError, match=match):
            check_number(bad, "lr", 0, strict_minimum=True)
    with pytest.raises(ValueError, match=r"p must be a finite number >= 0 and <= 1, got 1.5"):
        check_number(1.5, "p", 0, 1)
    assert check_at_most(3, "scales", 10) == 3
    with pytest.raises(ValueError, match=r"scales = 40 is above the supported maximum 10 \(why\)"):
        check_at_most(40, "scales", 10, "why")


def test_memory_estimates_are_checked_against_the_address_space_limit(monkeypatch):
    import resource

    from equinet.utils.checks import MemoryEstimateError, available_memory, check_memory, format_bytes
    machine = available_memory()
    assert 2 ** 26 < machine < 2 ** 50
    monkeypatch.setattr(resource, "getrlimit", lambda which: (2 ** 30, resource.RLIM_INFINITY))  # ulimit -v 1 GB
    assert available_memory() == min(machine, 2 ** 30)
    assert check_memory(2 ** 29, "half") == 2 ** 29
    with pytest.raises(MemoryEstimateError, match=r"^two images needs about 2.0 GB of memory, more than the 1.0 GB"):
        check_memory(2 ** 31, "two images")
    assert format_bytes(1536) == "1.5 kB" and format_bytes(12) == "12 bytes"
