"""state_dict / load_state_dict on every array model: a model rebuilt from the same parameters and seed, with
the saved state loaded, continues bit-identically; STATE lists every attribute that use changes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from socsim.base.errors import InputError
from tests.physics.conftest import build
from tests.physics.test_models import COLS, ROWS, _codes, _session, _weights

NOISY = {"adc": {"bits": 6, "i_max_ua": 20.0}, "device": {"endurance_pulses": 30.0}}
"""Noise on (the defaults), a narrow ADC that saturates and an endurance limit, so every counter moves."""
CACHES = {"_cache", "_version", "_state", "_state_key", "_read_costs"}
"""Attributes derived from the state (rebuilt on demand), not state themselves."""


def _continue(xb) -> list[np.ndarray]:
    """Further use after a checkpoint: reads (noise from the generator), pulses, programming, drift."""
    out = [xb.mvm(_codes(7), 0, 0, COLS, 8, 5.0), xb.mvm_t(_codes(8, n=COLS), 0, 0, ROWS, 8, 5.0)]
    rep = xb.pulse(np.full((ROWS, COLS), 2, np.int32), 0, 0, 6.0)
    out.append(np.array([getattr(rep, k) for k in rep.__dataclass_fields__]))
    rep = xb.write_verify(_weights(9), np.ones((ROWS, COLS), bool), 0, 0, 7.0)
    out.append(np.array([getattr(rep, k) for k in rep.__dataclass_fields__]))
    out += [xb.read_weights(0, 0, ROWS, COLS, 1e4), np.array([xb.saturated_conversions()])]
    return out


def _state_json(state: dict) -> dict:
    """What a checkpoint keeps of the state: arrays as they are, the rest through JSON."""
    return {k: v if isinstance(v, np.ndarray) else json.loads(json.dumps(v)) for k, v in state.items()}


def test_restored_model_continues_bit_identically(model):
    used = build(model, NOISY, seed=3)
    for _ in range(3):
        _session(used)
    restored = build(model, NOISY, seed=3)
    restored.load_state_dict(_state_json(used.state_dict()))
    for a, b in zip(_continue(used), _continue(restored)):
        np.testing.assert_array_equal(a, b)


def _changed(fresh, used, prefix: str = "") -> set[str]:
    """Dotted names of attributes (of the model and of its parts) whose value differs."""
    out = set()
    for name, value in vars(used).items():
        if name in CACHES:
            continue
        old = vars(fresh).get(name)
        if isinstance(value, np.ndarray):
            if not np.array_equal(value, old, equal_nan=value.dtype.kind == "f"):
                out.add(prefix + name)
        elif isinstance(value, np.random.Generator):
            if value.bit_generator.state != old.bit_generator.state:
                out.add(prefix + name)
        elif isinstance(value, (bool, int, float)):
            if value != old:
                out.add(prefix + name)
        elif hasattr(value, "__dict__") and not isinstance(value, type) and type(value).__module__.startswith(
                "socsim.physics"):
            out |= _changed(old, value, f"{prefix}{name}.")
    return out


def test_state_lists_every_attribute_that_use_changes(model):
    fresh, used = build(model, NOISY, seed=3), build(model, NOISY, seed=3)
    for _ in range(3):
        _session(used)
    _continue(used)
    missing = _changed(fresh, used) - set(type(used).STATE)
    assert not missing, f"{type(used).__name__}.STATE misses {sorted(missing)}: a checkpoint would lose them"


def test_mismatched_state_is_refused_before_anything_changes(model):
    xb = build(model, seed=1)
    xb.load_weights(_weights(), 0, 0, 0.0)
    state = xb.state_dict()
    before = {k: v.copy() for k, v in state.items() if isinstance(v, np.ndarray)}
    bad = dict(state)
    name = next(k for k, v in state.items() if isinstance(v, np.ndarray))
    bad[name] = np.zeros((2, 2), state[name].dtype)
    with pytest.raises(InputError, match=f"state {name}: expected a") as info:  # a bad state file: the user's
        xb.load_state_dict(bad)
    kind = type(xb).__name__
    assert info.value.field == f"{kind} state {name}" and str(info.value).startswith(f"{kind} state {name}: expected")
    with pytest.raises(InputError, match="missing|unknown") as info:
        xb.load_state_dict({**state, "no_such": 1})
    assert str(info.value) == f"{kind} state: unknown no_such"
    for k, v in before.items():
        np.testing.assert_array_equal(xb.state_dict()[k], v)
