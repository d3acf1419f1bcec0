"""Small utilities: atomic I/O, progress reporting, seeding, argument checks."""
from .checks import (  # noqa: F401
                     check_bool,
                     check_finite,
                     check_floating,
                     check_image_size,
                     check_mask,
                     check_nonnegative_int,
                     check_positive_float,
                     check_positive_int,
)
from .io import atomic_path, save_figure, write_json  # noqa: F401
from .seeding import check_seed, derived_seed, generator  # noqa: F401

__all__ = ["atomic_path", "save_figure", "write_json", "check_seed", "derived_seed", "generator", "check_bool",
           "check_finite", "check_floating", "check_image_size", "check_mask", "check_nonnegative_int",
           "check_positive_float", "check_positive_int"]
