"""Helpers of the engine tests: run the same work on both engines and compare everything observable."""

from __future__ import annotations

import numpy as np
import pandas as pd

from socsim.sim import Result, Soc

KEY = ["component", "action", "opcode", "layer", "phase"]
STATE = ("g", "writes", "t_prog", "frozen", "w", "g_target")
"""Crossbar state arrays compared between engines (those a model has)."""


def ledger_rows(result: Result) -> pd.DataFrame:
    return result.ledger.set_index(KEY).sort_index()


def assert_same_result(a: Result, b: Result, what: str) -> None:
    """Cycles, instruction count, busy cycles, every ledger row, every output and the timeline are equal."""
    assert a.cycles == b.cycles, f"{what}: cycles {a.cycles} != {b.cycles}"
    assert a.instructions == b.instructions, f"{what}: instructions {a.instructions} != {b.instructions}"
    assert a.busy_cycles == b.busy_cycles, f"{what}: busy cycles differ"
    pd.testing.assert_frame_equal(ledger_rows(a), ledger_rows(b), check_exact=True, obj=f"{what}: ledger")
    assert a.outputs.keys() == b.outputs.keys()
    for name in a.outputs:
        np.testing.assert_array_equal(a.outputs[name], b.outputs[name], err_msg=f"{what}: output {name}")
    pd.testing.assert_frame_equal(a.timeline.reset_index(drop=True), b.timeline.reset_index(drop=True),
                                  check_exact=True, obj=f"{what}: timeline")
    # the rows recorded from the run's time (elapsed by layer, leakage) are in the ledger compared above; say it
    key = ["layer", "phase"]
    pd.testing.assert_frame_equal(a.elapsed.sort_values(key).reset_index(drop=True),
                                  b.elapsed.sort_values(key).reset_index(drop=True), obj=f"{what}: elapsed by layer")
    assert int(a.elapsed["cycles"].sum()) == a.cycles, f"{what}: elapsed by layer does not sum to the cycles"
    assert a.static_energy_pj == b.static_energy_pj, f"{what}: static energy differs"


def assert_same_devices(a: Soc, b: Soc) -> None:
    """Every tile's device state and draw counters are equal."""
    for ta, tb in zip(a.tiles, b.tiles):
        xa, xb = ta._crossbar, tb._crossbar
        assert (xa is None) == (xb is None), f"{ta.name}: built on one engine only"
        if xa is None:
            continue
        assert (xa.stream.reads, xa.stream.programs) == (xb.stream.reads, xb.stream.programs), ta.name
        for attr in STATE:
            if hasattr(xa, attr):
                np.testing.assert_array_equal(getattr(xa, attr), getattr(xb, attr), err_msg=f"{ta.name}.{attr}")
        assert ta.block == tb.block, ta.name
