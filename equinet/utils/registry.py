"""Registries of named components: each kind (networks, losses, transforms, physics, noise models, datasets,
reconstructors) has one `Registry`, defined on the floor of that kind, and each component registers itself where it
is defined. The TOML configuration, the command lines and the experiments look names up here (no import by name).

>>> from equinet.utils.registry import Registry
>>> SHAPES = Registry("shape")
>>> @SHAPES.register("square")
... class Square:
...     pass
>>> SHAPES.get("square") is Square, SHAPES.names()
(True, ('square',))
>>> SHAPES.get("circle")
Traceback (most recent call last):
...
ValueError: unknown shape 'circle'; expected one of 'square'
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Dict, Generic, Iterable, Iterator, Tuple, TypeVar

__all__ = ["Registry", "import_submodules"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> components of one ``kind`` (used in error messages: ``unknown <kind> 'x'; expected one of ...``)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register('name')`` on a class or function; a name is registered once."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} name must be a non-empty string, got {name!r}")

        def deco(obj: T) -> T:
            old = self._items.get(name)
            if old is not None and old is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered ({old!r})")
            self._items[name] = obj
            return obj
        return deco

    def get(self, name: str) -> T:
        """The component registered as ``name`` (a ValueError listing the known names otherwise)."""
        if name not in self._items:
            raise ValueError(f"unknown {self.kind} {name!r}; expected one of {', '.join(map(repr, self._items))}")
        return self._items[name]

    def names(self) -> Tuple[str, ...]:
        """The registered names, in registration order."""
        return tuple(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._items)})"


def import_submodules(package: str, path: Iterable[str], exclude: Tuple[str, ...] = ()) -> None:
    """Import every public module of a package (its files, found on disk; not names from a configuration), so that
    a component added as one new file registers itself without editing the package's ``__init__``. Modules whose
    name starts with ``_`` and those in ``exclude`` are skipped."""
    for info in pkgutil.iter_modules(list(path)):
        if not info.name.startswith("_") and info.name not in exclude:
            importlib.import_module(f"{package}.{info.name}")
