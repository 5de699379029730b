"""Typed, validated parameter dataclasses and their loading from TOML tables.

Every configuration class in socsim is a frozen dataclass whose fields are declared with
:func:`param`, which records the unit, the allowed range, a one-line meaning and the source.
:class:`Params` validates every field in ``__post_init__``; :func:`from_mapping` builds a
dataclass from a (TOML) mapping and reports unknown or bad fields by their dotted path; :func:`dumps_toml` writes
a mapping back as TOML (a sweep point's resolved config, a config given to the API as an object).
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Mapping, TypeVar

from socsim.base.errors import InputError

T = TypeVar("T")


class ConfigError(InputError):
    """A configuration value is unknown, mistyped or out of range; the message names the field."""


def param(default: Any, *, unit: str = "", lo: float | None = None, hi: float | None = None,
          doc: str = "", source: str = "") -> Any:
    """Declare a parameter field: default, unit, inclusive range [lo, hi], meaning and source."""
    meta = {"unit": unit, "lo": lo, "hi": hi, "doc": doc, "source": source}
    if is_dataclass(default) or isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: value, metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_value(path: str, tp: Any, value: Any) -> Any:
    """Check ``value`` against the annotation ``tp``; returns the value converted (enum by name)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check_value(path, arg, value)
            except ConfigError as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
        raise ConfigError(f"bad value {value!r}", field=path)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"expected a list, got {value!r}", field=path)
        return tuple(_check_value(f"{path}[{i}]", inner, v) for i, v in enumerate(value))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if isinstance(value, tp):
            return value
        names = [m.name.lower() for m in tp]
        if isinstance(value, str) and value.lower() in names:
            return tp[value.upper()]
        raise ConfigError(f"expected one of {names}, got {value!r}", field=path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", field=path)
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"expected an integer, got {value!r}", field=path)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", field=path)
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            digits = str(abs(value))
            raise ConfigError(f"an integer of {len(digits)} digits is beyond the range of a float",
                              field=path) from None
        if not math.isfinite(number):  # NaN fails every range comparison; inf is no physical value here
            raise ConfigError(f"expected a finite number, got {value!r}", field=path)
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"expected a string, got {value!r}", field=path)
        return value
    if is_dataclass(tp):
        if isinstance(value, tp):
            return value
        raise ConfigError(f"expected a table for {_type_name(tp)}, got {value!r}", field=path)
    return value


FLOAT_LIMIT = 1e15
"""A float field without a declared bound is still bounded by +-FLOAT_LIMIT: a finite but absurd value
(1e300 uA) would otherwise overflow inside the physics instead of being refused here."""


def bounds(f: dataclasses.Field, tp: Any) -> tuple[Any, Any]:
    """The inclusive (lo, hi) of a field: as declared, and +-FLOAT_LIMIT where a float field declares none."""
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    if tp is float:
        lo = -FLOAT_LIMIT if lo is None else lo
        hi = FLOAT_LIMIT if hi is None else hi
    return lo, hi


def _bound_text(v: Any) -> str:
    return f"{v:.0e}" if isinstance(v, float) and abs(v) == FLOAT_LIMIT else str(v)


def _range_text(lo: Any, hi: Any) -> str:
    return f"[{'-inf' if lo is None else _bound_text(lo)}, {'inf' if hi is None else _bound_text(hi)}]"


@dataclass(frozen=True)
class Params:
    """Base of every configuration dataclass: validates each field's type and range."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in fields(self):
            path = f"{type(self).__name__}.{f.name}"
            value = _check_value(path, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            lo, hi = bounds(f, hints[f.name])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if (lo is not None and value < lo) or (hi is not None and value > hi):
                    unit = f" {f.metadata['unit']}" if f.metadata.get("unit") else ""
                    raise ConfigError(f"{path} = {value}{unit} is out of range; allowed "
                                      f"{_range_text(lo, hi)}")
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses override and raise ConfigError naming the fields."""

    @classmethod
    def inherit(cls, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """The table ``data`` with the keys one field takes from another filled in (before it is read); subclasses
        override (none by default)."""
        return data


def from_mapping(cls: type[T], data: Mapping[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; errors name ``where.field`` and what is allowed."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a table, got {data!r}", field=where or cls.__name__)
    if issubclass(cls, Params):
        data = cls.inherit(data)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in known:
            removed = getattr(cls, "REMOVED", {}).get(key)
            if removed:
                raise ConfigError(f"no longer a field: {removed}", field=path)
            raise ConfigError(f"unknown field; {cls.__name__} has: {', '.join(sorted(known))}", field=path)
        tp = hints[key]
        if is_dataclass(tp) and isinstance(value, Mapping):
            kwargs[key] = from_mapping(tp, value, path)
        elif typing.get_origin(tp) is tuple and is_dataclass(typing.get_args(tp)[0]):
            inner = typing.get_args(tp)[0]
            if not isinstance(value, list):
                raise ConfigError("expected an array of tables", field=path)
            kwargs[key] = tuple(from_mapping(inner, v, f"{path}[{i}]") for i, v in enumerate(value))
        else:
            kwargs[key] = _check_value(path, tp, value)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        prefix = f"{cls.__name__}."
        if where and exc.field and exc.field.startswith(prefix):  # the field as the TOML table names it
            raise ConfigError(exc.what, field=f"{where}.{exc.field[len(prefix):]}") from None
        msg = str(exc)
        if where and msg.startswith(prefix):
            msg = f"{where}.{msg[len(prefix):]}"
        raise ConfigError(msg) from None


def to_mapping(obj: Any) -> Any:
    """Plain dict/list form of a config dataclass (enums by lower-case name), for JSON/TOML output."""
    if is_dataclass(obj):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.name.lower()
    if isinstance(obj, tuple):
        return [to_mapping(v) for v in obj]
    return obj


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` laid on top, table by table."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def describe(cls: type, prefix: str = "") -> list[dict[str, str]]:
    """One row per leaf parameter of ``cls`` (dotted name, type, default, unit, range, doc, source)."""
    rows: list[dict[str, str]] = []
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        name = f"{prefix}{f.name}"
        tp = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if is_dataclass(tp):
            rows.extend(describe(tp, name + "."))
            continue
        lo, hi = bounds(f, tp)
        rows.append({
            "name": name,
            "type": _type_name(tp),
            "default": str(to_mapping(default)),
            "unit": f.metadata.get("unit", ""),
            "range": "" if lo is None and hi is None else _range_text(lo, hi),
            "doc": f.metadata.get("doc", ""),
            "source": f.metadata.get("source", ""),
        })
    return rows


_TOML_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _TOML_BARE_KEY.match(key) else json.dumps(key)


def _toml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value)  # 'inf', '-inf', '1e-08', '0.1' are all TOML floats
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string uses the same escapes
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")


def dumps_toml(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text of a nested mapping of scalars and lists of scalars (a config mapping: :func:`to_mapping`), which
    ``tomllib`` reads back to the same values (floats written with ``repr``); ``header`` becomes leading comment
    lines."""
    lines = [f"# {line}" for line in header.splitlines()]

    def table(node: Mapping[str, Any], path: list[str]) -> None:
        scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in node.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            lines.append("")
            lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
        for k, v in scalars:
            lines.append(f"{_toml_key(k)} = {_toml_scalar(v)}")
        for k, v in tables:
            table(v, [*path, k])

    table(data, [])
    return "\n".join(lines) + "\n"


ABSENT = "(absent)"
"""What :func:`dotted_differences` gives for a key one side lacks."""


def dotted_differences(before: dict[str, Any], after: dict[str, Any],
                       prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(DOTTED.KEY, old, new)`` for every leaf of two nested mappings that differs, :data:`ABSENT` for a key one
    side lacks (a table one side lacks is one leaf), keys sorted."""
    out = []
    for key in sorted(set(before) | set(after), key=str):
        a, b = before.get(key, ABSENT), after.get(key, ABSENT)
        if isinstance(a, dict) and isinstance(b, dict):
            out += dotted_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append((f"{prefix}{key}", a, b))
    return out
