"""One validation path for configurations: a component's typed options (a dataclass's fields, or the keyword
parameters of a class with typed defaults) are its schema; a table (a TOML section, a dict of command-line
options) is checked against that schema and the component is built from its registry.

>>> from dataclasses import dataclass
>>> @dataclass
... class Blur:
...     sigma: float = 1.0
...     size: int = 5
>>> schema_of(Blur)
{'sigma': ((<class 'int'>, <class 'float'>), 1.0), 'size': ((<class 'int'>,), 5)}
>>> construct("physics", Blur, {"sigma": 2})
Blur(sigma=2, size=5)
>>> construct("physics", Blur, {"sigma": "wide"})
Traceback (most recent call last):
...
equinet.utils.config.ConfigError: physics.sigma must be a number, got 'wide' (str)
"""
from __future__ import annotations

import dataclasses
import inspect
import typing
from typing import Any, Callable, Dict, Optional, Tuple

from .registry import Registry

__all__ = ["ConfigError", "REQUIRED", "NUMBER", "schema_of", "check_value", "check_table", "choice", "named",
           "construct", "build_named"]


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the key and what was expected."""


#: a schema default meaning "must be given"
REQUIRED = "REQUIRED"
#: the accepted types of a real number (ints are numbers; bools are not)
NUMBER = (int, float)
_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "an array",
          dict: "a table"}


def type_name(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(dict.fromkeys("a number" if t in (int, float) and len(types) == 2 else _NAMES.get(t, t.__name__)
                                     for t in types))


def _types_of_default(default) -> Optional[tuple]:
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, int):
        return (int,)
    if isinstance(default, float):
        return NUMBER
    if isinstance(default, str):
        return (str,)
    return None


_PLAIN = {bool: (bool,), int: (int,), float: NUMBER, str: (str,), dict: (dict,), list: (list,), tuple: (list,)}


def _types_of_hint(hint) -> Optional[tuple]:
    """The configuration types of an annotation: plain types, ``Optional[...]`` of them, tuples (arrays); None (no
    check here: the component checks) for anything else."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in _PLAIN:
        return _PLAIN[hint]
    if origin is tuple:
        return (list,)
    if origin is typing.Union:
        parts = [a for a in args if a is not type(None)]
        if len(parts) == 1:
            return _types_of_hint(parts[0])
    return None


def schema_of(component, skip: Tuple[str, ...] = ()) -> Dict[str, tuple]:
    """``{key: (accepted types or None (any), default or REQUIRED)}`` of a dataclass's fields (types from the
    annotations) or of the keyword parameters of a class / function (types from the defaults); a key without a
    type accepts anything, which the component itself then checks."""
    out: Dict[str, tuple] = {}
    if dataclasses.is_dataclass(component):
        hints = typing.get_type_hints(component)
        for f in dataclasses.fields(component):
            if f.name in skip or not f.init:
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else REQUIRED)
            out[f.name] = (_types_of_hint(hints[f.name]), default)
        return out
    for name, p in inspect.signature(component).parameters.items():
        if name in skip or name == "self" or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        default = REQUIRED if p.default is inspect.Parameter.empty else p.default
        out[name] = (_types_of_default(default), default)
    return out


def check_value(path: str, value, types) -> None:
    """``value`` is of one of ``types`` (bools are not numbers); a `ConfigError` naming ``path`` otherwise."""
    if types is None:
        return
    types = types if isinstance(types, tuple) else (types,)
    ok = any(isinstance(value, t) and not (isinstance(value, bool) and t in (int, float)) for t in types)
    if not ok:
        raise ConfigError(f"{path} must be {type_name(types)}, got {value!r} ({type(value).__name__})")


def check_table(path: str, table, schema: Dict[str, tuple]) -> Dict[str, Any]:
    """The table with every key of ``schema`` (given, or its default); unknown keys, wrong types and missing
    required keys are `ConfigError`s."""
    if not isinstance(table, dict):
        raise ConfigError(f"[{path}] must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise ConfigError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in "
                          f"[{path}]; expected keys: {', '.join(sorted(schema))}")
    out = {}
    for key, (types, default) in schema.items():
        where = f"{path}.{key}" if path else key
        if key in table:
            check_value(where, table[key], types)
            out[key] = table[key]
        elif default == REQUIRED:
            raise ConfigError(f"missing key {where} ({type_name(types) if types else 'a value'})")
        else:
            out[key] = default
    return out


def choice(path: str, value, choices) -> str:
    """``value`` if it is one of ``choices`` (a `ConfigError` listing them otherwise)."""
    if value not in choices:
        raise ConfigError(f"{path} = {value!r} is unknown; expected one of {', '.join(map(repr, choices))}")
    return value


def named(path: str, table, registry: Registry) -> tuple:
    """``(name, the other keys)`` of a table ``{name = ..., ...}`` whose name is registered in ``registry``."""
    if not isinstance(table, dict):
        raise ConfigError(f"[{path}] must be a table with a name, got {table!r}")
    if "name" not in table:
        raise ConfigError(f"[{path}] needs name = one of {', '.join(map(repr, registry.names()))}")
    check_value(f"{path}.name", table["name"], str)
    choice(f"{path}.name", table["name"], registry.names())
    return table["name"], {k: v for k, v in table.items() if k != "name"}


def construct(path: str, cls, kwargs: Dict[str, Any], fixed: Optional[Dict[str, Any]] = None,
              convert: Optional[Dict[str, Callable]] = None):
    """``cls(**fixed, **kwargs)`` with the keys checked against ``cls``'s schema (`schema_of`) and ``convert[key]
    (path, value)`` applied to the keys it names; the component's own errors become `ConfigError`s."""
    fixed, convert = dict(fixed or {}), dict(convert or {})
    schema = schema_of(cls)
    var_kw = not dataclasses.is_dataclass(cls) and any(
        p.kind == p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values())
    allowed = sorted(set(schema) - set(fixed))
    kwargs = dict(kwargs)
    for key, value in kwargs.items():
        where = f"{path}.{key}"
        if key in fixed or (key not in schema and not var_kw):
            raise ConfigError(f"unknown key {key!r} in [{path}]; {cls.__name__} accepts: {', '.join(allowed)}")
        if key in convert:
            kwargs[key] = convert[key](where, value)
        elif key in schema:
            check_value(where, value, schema[key][0])
    missing = [n for n, (_, d) in schema.items() if d == REQUIRED and n not in kwargs and n not in fixed]
    if missing:
        raise ConfigError(f"[{path}] ({cls.__name__}) needs {', '.join(missing)}")
    try:
        return cls(**fixed, **kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"[{path}] ({cls.__name__}): {err}") from None


def build_named(path: str, table, registry: Registry, fixed: Optional[Dict[str, Any]] = None,
                convert: Optional[Dict[str, Callable]] = None):
    """Build the component a table names: ``registry.get(table['name'])`` constructed with the other keys."""
    name, kwargs = named(path, table, registry)
    return construct(path, registry.get(name), kwargs, fixed, convert)
