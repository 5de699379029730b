"""Saving and restoring the mutable state of an array model by attribute name (for data-only checkpoints).

A model lists the attributes that change after construction in ``STATE`` (dotted for a part's attribute,
e.g. ``adc.saturated``); everything else is rebuilt from the config and seed. Values are numpy arrays
(restored in place: same shape and dtype), a ``numpy.random.Generator`` (saved as its bit generator's
state, a JSON-able dict) or plain numbers.

A restored state is checked before anything changes: arrays of the same shape and dtype, every float finite,
every integer (a counter) in 0..MAX_COUNT, and each value inside the model's own physical range
(``Crossbar.state_bounds``: conductances within the device's range, drift exponents in [0, 1], ...).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from socsim.base.errors import InputError

RNG_KEY = "bit_generator_state"
MAX_COUNT = 2 ** 62
"""Largest counter (reads, programming operations, writes) a restored state may hold."""


def _owner(obj: Any, dotted: str) -> tuple[Any, str]:
    *parts, leaf = dotted.split(".")
    for part in parts:
        obj = getattr(obj, part)
    return obj, leaf


def get_state(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """``{name: value}`` of ``names`` (arrays copied, a generator as ``{RNG_KEY: state}``)."""
    out: dict[str, Any] = {}
    for name in names:
        owner, leaf = _owner(obj, name)
        value = getattr(owner, leaf)
        if isinstance(value, np.random.Generator):
            out[name] = {RNG_KEY: value.bit_generator.state}
        elif isinstance(value, np.ndarray):
            out[name] = value.copy()
        elif isinstance(value, (bool, int, float, np.integer, np.floating)):
            out[name] = value.item() if isinstance(value, np.generic) else value
        else:
            raise TypeError(f"{type(obj).__name__}.{name}: cannot save a {type(value).__name__}")
    return out


def set_state(obj: Any, names: tuple[str, ...], state: Mapping[str, Any]) -> None:
    """Restore what :func:`get_state` returned; a mismatch is an InputError (a bad state file) whose field names the
    attribute."""
    kind = type(obj).__name__
    if not isinstance(state, Mapping):
        raise InputError(f"expected a table of {', '.join(names)}, got {type(state).__name__}", field=f"{kind} state")
    missing, extra = [n for n in names if n not in state], sorted(set(state) - set(names))
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unknown {', '.join(extra)}"] if extra else []
        raise InputError("; ".join(parts), field=f"{kind} state")
    bounds = obj.state_bounds() if hasattr(obj, "state_bounds") else {}
    for name in names:  # check everything before changing anything
        _check(kind, name, getattr(*_owner(obj, name)), state[name])
        _check_range(kind, name, state[name], bounds.get(name))
    for name in names:
        owner, leaf = _owner(obj, name)
        current, value = getattr(owner, leaf), state[name]
        if isinstance(current, np.random.Generator):
            current.bit_generator.state = value[RNG_KEY]
        elif isinstance(current, np.ndarray):
            current[...] = value
        else:
            setattr(owner, leaf, value)


def _check(kind: str, name: str, current: Any, value: Any) -> None:
    where = f"{kind} state {name}"
    if isinstance(current, np.random.Generator):
        saved = value.get(RNG_KEY) if isinstance(value, Mapping) else None
        if not isinstance(saved, Mapping) or saved.get("bit_generator") != current.bit_generator.state["bit_generator"]:
            raise InputError(f"expected the state of a {current.bit_generator.state['bit_generator']} generator",
                             field=where)
        probe = type(current.bit_generator)()
        try:
            probe.state = dict(saved)
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise InputError(f"not a generator state: {exc}", field=where) from None
    elif isinstance(current, np.ndarray):
        if not isinstance(value, np.ndarray) or value.shape != current.shape or value.dtype != current.dtype:
            got = (f"{value.dtype} {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__)
            raise InputError(f"expected a {current.dtype} array of shape {current.shape}, got {got}", field=where)
    elif not _same_kind(current, value):
        raise InputError(f"expected a {type(current).__name__}, got {value!r}", field=where)


def _check_range(kind: str, name: str, value: Any, bound: tuple[float, float, str] | None) -> None:
    """Finite floats, counters in 0..MAX_COUNT, and ``bound`` = (lo, hi, unit) inclusive when given."""
    where = f"{kind} state {name}"
    if isinstance(value, Mapping):  # a generator state, checked by _check
        return
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise InputError("holds NaN or inf; expected finite numbers", field=where)
    elif arr.dtype.kind in "iu" and arr.size:
        if int(arr.min()) < 0 or int(arr.max()) > MAX_COUNT:
            bad = int(arr.min()) if int(arr.min()) < 0 else int(arr.max())
            raise InputError(f"{bad} is not a count in 0..2^62", field=where)
    elif arr.dtype.kind == "O":  # a Python int beyond 64 bits
        raise InputError(f"{value!r} is not a count in 0..2^62", field=where)
    if bound is not None and arr.size and arr.dtype.kind in "fiu":
        lo, hi, unit = bound
        low, high = float(arr.min()), float(arr.max())
        if low < lo or high > hi:
            raise InputError(f"{low if low < lo else high:g} {unit} is outside the device's range [{lo:g}, {hi:g}] "
                             f"{unit}", field=where)


def _same_kind(current: Any, value: Any) -> bool:
    """A bool for a bool, an integer for an integer, a number for a float."""
    if isinstance(current, (bool, np.bool_)):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(current, (int, np.integer)):
        return isinstance(value, int)
    return isinstance(value, (int, float))
