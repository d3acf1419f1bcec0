"""Small utilities: atomic I/O, progress reporting, seeding."""
from .io import atomic_path, save_figure, write_json  # noqa: F401
from .seeding import check_seed, derived_seed, generator  # noqa: F401
