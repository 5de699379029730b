"""Replayed runs (socsim.sim.lanes.runs): a program run again from an idle chip, whose timing cannot depend on its
data, has its timing replayed from a recording and its numerics still run; a trap falls back to the simulation. The
reference engine is the oracle."""

from __future__ import annotations

import numpy as np
import pytest

import isa
from socsim.config.soc import load_config
from socsim.sim import Soc, Trap, TrapKind
from socsim.sim.lanes import runs
from tests.engines import assert_same_devices, assert_same_result

LANES = 8


def program(x: np.ndarray) -> str:
    """Eight lanes (four input words each, times a shared matrix, summed into ``total``), then a scaled copy of the
    sum: no programming, no loads, stores or waits, so its timing cannot depend on ``x``."""
    words = ", ".join(str(float(v)) for v in x)
    w = ", ".join(str(float(v)) for v in (np.arange(16) % 5) / 4 - 0.5)
    return f"""
.sym x dram {4 * LANES} = {words}
.sym w sram 16 = {w}
.sym buf sram 4
.sym out sram 4
.sym total acc 4
.sym scaled sram 4
    vfill total, 4, 0.0
    li x3, 0
.lanes top x3 {LANES} private buf out reduce total
top:
    muli x4, x3, 4
    copy buf, x(x4), 4
    mm out, buf, w, 1, 4, 4, 0, 0, 0
    vadd total, total, out, 4
    addi x3, x3, 1
    li x31, {LANES}
    blt x3, x31, top
    vscl scaled, total, 4, 0.25
    halt
"""


def data(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-3, 4, 4 * LANES).astype(float)


def runs_on(engine: str, texts: list[str], preset: str = "ideal", timing_only: bool = False,
            hooks: dict | None = None) -> tuple[Soc, list]:
    """One SoC running each text in turn (the same instructions, other data): its results, or the trap."""
    soc = Soc.from_config(load_config(preset), timeline=True, engine=engine, timing_only=timing_only)
    soc.engine.strict = engine == "fast"
    out = []
    for text in texts:
        try:
            out.append(soc.run(isa.assemble(text, "runs.s"), hooks=hooks))
        except Trap as trap:
            out.append(trap)
    return soc, out


@pytest.mark.parametrize("preset", ["ideal", "wu2023"])
def test_a_run_again_from_an_idle_chip_is_replayed_and_equals_the_reference(preset):
    """A new chip's first run is simulated (its units' processes have not started: not a state a run ends in), the
    second is recorded, the next two replayed."""
    texts = [program(data(seed)) for seed in (0, 1, 2, 3)]
    (ref_soc, ref), (fast_soc, fast) = runs_on("reference", texts, preset), runs_on("fast", texts, preset)
    for i, (a, b) in enumerate(zip(ref, fast)):
        assert_same_result(a, b, f"run {i}")
    assert_same_devices(ref_soc, fast_soc)
    assert ref_soc.env.now == fast_soc.env.now
    assert fast_soc.engine.runs.replayed == 2 and fast_soc.engine.runs.simulated == 0
    assert not np.array_equal(fast[2].outputs["scaled"], fast[3].outputs["scaled"]), "the data should differ"


def test_a_trap_in_a_replayed_run_comes_where_the_simulation_meets_it(monkeypatch):
    """The trap of a run whose numerics ran first: at the reference engine's pc and cycle, with the partial result of
    the fast engine's simulation (which, the lanes' timing pass having run ahead, covers more jobs than the
    reference's)."""
    x = data(1)
    x[4 * 5 + 2] = np.nan                                           # lane 5's input
    texts = [program(data(0)), program(data(2)), program(x)]
    (_, ref), (fast_soc, fast) = runs_on("reference", texts), runs_on("fast", texts)
    monkeypatch.setattr(runs, "ENABLED", False)
    _, simulated = runs_on("fast", texts)
    a, b, c = ref[2], fast[2], simulated[2]
    assert isinstance(a, Trap) and isinstance(b, Trap) and isinstance(c, Trap) and b.kind is TrapKind.NAN
    assert (a.kind, a.pc, a.cycle) == (b.kind, b.pc, b.cycle) == (c.kind, c.pc, c.cycle)
    assert_same_result(c.partial, b.partial, "the trapped run's partial result")
    assert fast_soc.engine.runs.simulated == 1 and fast_soc.engine.runs.replayed == 0


def test_timing_only_runs_and_progress_hooks_replay_alike(monkeypatch):
    """Timing-only runs replay too (the reference's cycles), and a replayed run calls its progress hooks as often as
    the simulation and the reference engine do (the lane loop's head once per iteration)."""
    texts = [program(data(seed)) for seed in (0, 1, 2, 3)]
    code = isa.assemble(texts[0], "runs.s")
    seen: dict[str, tuple] = {}
    for label, engine, enabled in (("reference", "reference", True), ("replayed", "fast", True),
                                   ("simulated", "fast", False)):
        monkeypatch.setattr(runs, "ENABLED", enabled)
        counted = [0, 0]

        def top(counted=counted) -> None:
            counted[0] += 1

        def halt(counted=counted) -> None:
            counted[1] += 1
        soc, results = runs_on(engine, texts, timing_only=True,
                               hooks={code.labels["top"]: top, len(code.instructions) - 1: halt})
        seen[label] = (counted, [r.cycles for r in results], soc.engine.name == "fast" and soc.engine.runs.replayed)
    assert seen["replayed"][2] == 2 and not seen["simulated"][2]
    assert seen["replayed"][1] == seen["simulated"][1] == seen["reference"][1]
    assert seen["replayed"][0] == seen["simulated"][0] == seen["reference"][0] == [4 * LANES, 4]


def test_programs_that_program_tiles_or_wait_are_not_replayed():
    soc = Soc.from_config(load_config("wu2023"), engine="fast")
    text = program(data(0)).replace("    halt", "    tcfg 0, 0, 0, 4, 4, 8\n    wv 0, w, w\n    halt")
    for _ in range(3):
        soc.run(isa.assemble(text, "wv.s"))
    assert soc.engine.runs.program is None and soc.engine.runs.replayed == 0
    waits = program(data(0)).replace("    halt", "    fence\n    halt")
    for _ in range(3):
        soc.run(isa.assemble(waits, "fence.s"))
    assert soc.engine.runs.replayed == 0


def test_switched_off_every_run_is_simulated(monkeypatch):
    monkeypatch.setattr(runs, "ENABLED", False)
    soc, _ = runs_on("fast", [program(data(0))] * 3)
    assert soc.engine.runs.replayed == 0
