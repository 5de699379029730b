"""Checkpoints as data only: one ``.npz`` of arrays and a JSON document, versioned, never unpickled.

Layout of ``checkpoint.npz`` (loaded with ``allow_pickle=False``, so an object array is refused, not run):

- ``meta``: UTF-8 JSON as uint8, ``{"format": "socsim-checkpoint", "version": 1, "state": TREE}``;
- ``a0``, ``a1``, ...: the arrays, numeric, bool or fixed-width unicode, that TREE names as ``{"$array": "a0"}``.

TREE is the state as JSON (dicts, lists, numbers, strings, None); a table (the ledger rows of finished
epochs) is ``{"$frame": [[column, {"$array": ...}], ...]}``. :func:`read_checkpoint` checks the structure a
training run needs and names the file and the key on any mismatch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from socsim.base.errors import InputError
from socsim.base.fileio import atomic_write, loads_json, read_npz

FORMAT = "socsim-checkpoint"
VERSION = 1
META = "meta"
ARRAY, FRAME = "$array", "$frame"
_KINDS = "biufcU"
"""numpy dtype kinds a checkpoint may hold: bool, integers, floats, complex, unicode."""


class CheckpointError(InputError):
    """A checkpoint file is unreadable or not what a run needs; the message names the file and the key."""


# encoding ----------------------------------------------------------------------------------------------
def _encode(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _KINDS:
            raise TypeError(f"{where}: cannot store a {value.dtype} array in a checkpoint")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {ARRAY: key}
    if isinstance(value, pd.DataFrame):
        cols = []
        for name in value.columns:
            col = value[name].to_numpy()
            if col.dtype == object:
                if not all(isinstance(v, str) for v in col):
                    raise TypeError(f"{where}.{name}: a text column holds values that are not strings")
                col = col.astype(str)
            cols.append([str(name), _encode(col, arrays, f"{where}.{name}")])
        return {FRAME: cols}
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or k in (ARRAY, FRAME):
                raise TypeError(f"{where}: key {k!r} cannot be stored (keys are strings other than {ARRAY}, {FRAME})")
            out[k] = _encode(v, arrays, f"{where}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{where}: cannot store a {type(value).__name__} in a checkpoint")


def write_checkpoint(path: Path, state: Mapping[str, Any]) -> None:
    """Write ``state`` (JSON-able values, numpy arrays, DataFrames) atomically as a data-only checkpoint."""
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, arrays, "state")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "state": tree}, separators=(",", ":"))
    arrays[META] = np.frombuffer(meta.encode(), dtype=np.uint8)
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


# decoding ----------------------------------------------------------------------------------------------
def _decode(value: Any, arrays: Mapping[str, np.ndarray], where: str) -> Any:
    if isinstance(value, dict):
        if ARRAY in value:
            key = value[ARRAY]
            if len(value) != 1 or not isinstance(key, str) or key not in arrays or key == META:
                raise CheckpointError(f"{where}: names array {key!r}, which the file does not hold")
            return arrays[key]
        if FRAME in value:
            cols = value[FRAME]
            if len(value) != 1 or not isinstance(cols, list) or not all(
                    isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) for c in cols):
                raise CheckpointError(f"{where}: a table is a list of [column name, array] pairs")
            data = {}
            for name, ref in cols:
                col = _decode(ref, arrays, f"{where}.{name}")
                if not isinstance(col, np.ndarray) or col.ndim != 1:
                    raise CheckpointError(f"{where}.{name}: a table column is a 1-D array")
                data[name] = col.astype(object) if col.dtype.kind == "U" else col
            if len({len(c) for c in data.values()}) > 1:
                raise CheckpointError(f"{where}: the table's columns differ in length")
            return pd.DataFrame(data)
        return {k: _decode(v, arrays, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def load_checkpoint(path: Path) -> Any:
    """The state tree of a checkpoint file; CheckpointError naming the file if it is not one (nothing is run)."""
    try:  # headers checked against sizes, object arrays refused before numpy sees them; nothing is unpickled
        arrays = read_npz(path, "checkpoint", stored_only=True)
    except ValueError as exc:
        raise CheckpointError(f"{exc} (socsim checkpoints hold plain arrays only)") from None
    for key, arr in arrays.items():
        if arr.dtype.kind not in _KINDS:
            raise CheckpointError(f"{path}: array {key!r} has dtype {arr.dtype}; checkpoints hold plain arrays only")
    raw = arrays.get(META)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{path}: no '{META}' entry (not a socsim checkpoint)")
    try:
        meta = loads_json(raw.tobytes().decode("utf-8"), f"{path}: '{META}'", "checkpoint metadata")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path}: '{META}' is not UTF-8 JSON: {exc}") from None
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else meta
        raise CheckpointError(f"{path}: not a socsim checkpoint (format {got!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {meta.get('version')!r}; this socsim reads "
                              f"version {VERSION}")
    if set(meta) != {"format", "version", "state"}:
        raise CheckpointError(f"{path}: unexpected keys {sorted(set(meta) - {'format', 'version', 'state'})}")
    return _decode(meta["state"], arrays, "state")
