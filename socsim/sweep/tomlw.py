"""A minimal TOML writer for config mappings (tables of scalars and lists of scalars).

Used to save each sweep point's resolved config as a self-contained ``config.toml`` that
``socsim train --config`` and ``socsim run --config`` load unchanged. Floats are written with
``repr``, which ``tomllib`` reads back to the identical float.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _scalar(value: Any) -> str:
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
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} value {value!r} as TOML")


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """TOML text of a nested mapping; ``header`` becomes leading comment lines."""
    lines = [f"# {line}" for line in header.splitlines()]

    def table(node: Mapping[str, Any], path: list[str]) -> None:
        scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in node.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            lines.append("")
            lines.append("[" + ".".join(_key(p) for p in path) + "]")
        for k, v in scalars:
            lines.append(f"{_key(k)} = {_scalar(v)}")
        for k, v in tables:
            table(v, [*path, k])

    table(data, [])
    return "\n".join(lines) + "\n"
