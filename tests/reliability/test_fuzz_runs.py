"""The end-to-end property: ``socsim run programs/mlp_infer.s`` on a config with 1-3 fields changed (to values of
any type, out of range, or in range far from the default) exits 2 (bad config, the field named), exits 3 (a trap
with its PC), or gives a result that passes the sanity checks; never exit 0 with a silently wrong result."""

from __future__ import annotations

import dataclasses
import enum
import math
import time
import tomllib
import typing

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import isa
from socsim.base.configtools import ConfigError, describe
from socsim.config.soc import SocConfig, load_config
from socsim.physics import crossbar_models
from socsim.physics.adc import adc_models
from socsim.sim import Soc, Trap
from tests.reliability.conftest import _EXAMPLES, ROOT
from tests.reliability.mutate import TOML_VALUES
from tests.reliability.sanity import check_config, check_result

PROGRAM = isa.assemble_file(ROOT / "programs" / "mlp_infer.s")
LEAVES = {row["name"]: row for row in describe(SocConfig) if row["name"] not in ("controller.max_cycles", "name")}
GEOMETRY = ("tiles.rows", "tiles.bitlines", "tiles.count")
"""Sized fields kept to at most twice their default (a 4095 x 8190 array per tile is gigabytes of device state)."""


def _near(row: dict) -> st.SearchStrategy:
    """In-range values of a numeric field far from its default: its bounds, 0, 1/10, 1/2, 2 and 10 times it."""
    default = float(row["default"])
    lo, hi = (float(v) for v in row["range"].strip("[]").split(", ")) if row["range"] else (-math.inf, math.inf)
    cands = {default * f for f in (0.0, 0.1, 0.5, 2.0, 10.0)} | ({lo} if math.isfinite(lo) else set())
    if row["name"] not in GEOMETRY and math.isfinite(hi) and hi <= 1e6:
        cands.add(hi)
    if row["name"] in GEOMETRY:
        cands = {c for c in cands if c <= 2 * default}
    cands = sorted(c for c in cands if lo <= c <= hi)
    if row["type"] == "int":
        return st.sampled_from(sorted({int(c) for c in cands if c == int(c)} or {int(default)}))
    return st.sampled_from(cands)


def _field_type(dotted: str):
    tp = SocConfig
    for part in dotted.split("."):
        tp = typing.get_type_hints(tp)[part]
    return tp


def _valid(name: str) -> st.SearchStrategy:
    """Values of the field's own type and range (most configs then load and run)."""
    row, tp = LEAVES[name], _field_type(name)
    if tp is bool:
        return st.booleans()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from([m.name.lower() for m in tp])
    if name == "tiles.physics.model":
        return st.sampled_from(crossbar_models())
    if name == "tiles.physics.adc.kind":
        return st.sampled_from(adc_models())
    if tp in (int, float):
        return _near(row)
    return st.just(tomllib.loads(f"v = {row['default']!r}")["v"]) if tp is str else st.nothing()


JUNK = TOML_VALUES.map(lambda t: tomllib.loads(f"v = {t}")["v"])


def _edits(value) -> st.SearchStrategy:
    """1-3 (dotted field, value) edits."""
    return st.lists(st.sampled_from(sorted(LEAVES)).flatmap(lambda n: st.tuples(st.just(n), value(n))),
                    min_size=1, max_size=3)


VALID_EDITS = _edits(_valid)
"""Values of each field's type in its range: the config loads, and the run must be right."""
ANY_EDITS = _edits(lambda n: _valid(n) if n in GEOMETRY else st.one_of(_valid(n), JUNK))
"""Values of any type and size: most configs are refused (naming the field), the rest must run right."""


def _nest(edits) -> dict:
    out: dict = {}
    for dotted, value in edits:
        node = out
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


RUNS = settings(max_examples=_EXAMPLES or 40, deadline=None, derandomize=not _EXAMPLES, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _load_and_run(edits) -> None:
    try:
        cfg = load_config("wu2023", _nest(edits))
    except ConfigError as exc:
        assert any(d in str(exc) or d.split(".")[-1] in str(exc) for d, _ in edits), str(exc)
        return
    check_config(cfg)
    cfg = dataclasses.replace(cfg, controller=dataclasses.replace(cfg.controller, max_cycles=5_000_000))
    try:
        soc = Soc.from_config(cfg)
        soc.deadline = time.monotonic() + 10
        result = soc.run(PROGRAM)
    except Trap:
        return
    except ValueError as exc:  # a configuration the engine refuses to build: must say what
        assert str(exc), edits
        return
    if cfg.controller.trap_on_nan:
        check_result(result, PROGRAM)
    pred = result.outputs["pred"]
    assert np.array_equal(pred, np.round(pred)) and ((pred >= 0) & (pred < 10)).all(), pred
    assert result.seconds == result.cycles / cfg.clock_hz


@RUNS
@given(VALID_EDITS)
def test_a_config_with_valid_changes_runs_sanely_or_traps(edits):
    _load_and_run(edits)


@RUNS
@given(ANY_EDITS)
def test_a_config_with_any_changes_fails_cleanly_or_runs_sanely(edits):
    _load_and_run(edits)
