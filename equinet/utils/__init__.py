"""Small utilities: atomic I/O, progress reporting."""
from .io import atomic_path, save_figure, write_json  # noqa: F401
