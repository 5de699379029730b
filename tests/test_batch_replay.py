"""Replayed batches (socsim.sim.lanes.batch): a loop around a lane-parallel loop whose whole iteration (the lanes and
the update after them) repeats in its timing is replayed, its numerics still run; where it does not repeat (the
write-verify's trials, a trap) its timing is simulated. The reference engine is the oracle."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import isa
from socsim.config.soc import load_config
from socsim.sim import Soc, Trap, TrapKind
from socsim.sim.lanes import batch
from tests.engines import assert_same_devices, assert_same_result

LANES, BATCHES = 8, 6
UPDATE = "    vscl state, state, 256, 0.5\n" * 12
"""The rest of an update (an optimizer's state): long enough for the lanes' jobs to finish before the next batch."""


def program(x: np.ndarray | None = None, scale: float = 0.05) -> str:
    """Batches of eight lanes (four input words each, times a shared matrix, summed into ``total``), each followed by
    an update that writes a scaled copy of the sum into tile 0 by write-verify and clears the sum."""
    if x is None:
        x = np.arange(4 * LANES * BATCHES) % 7 - 3.0
    words = ", ".join(str(float(v)) for v in x)
    w = ", ".join(str(float(v)) for v in (np.arange(16) % 5) / 4 - 0.5)
    return f"""
.sym x dram {4 * LANES * BATCHES} = {words}
.sym w sram 16 = {w}
.sym buf sram 4
.sym out sram 4
.sym total acc 4
.sym tgt sram 16
.sym msk sram 16
.sym state sram 256
    vfill msk, 16, 1.0
    li x2, 0
batch:
    li x3, 0
.lanes top x3 {LANES} private buf out reduce total
top:
    muli x4, x3, 4
    muli x5, x2, {4 * LANES}
    add x4, x4, x5
    copy buf, x(x4), 4
    mm out, buf, w, 1, 4, 4, 0, 0, 0
    vadd total, total, out, 4
    addi x3, x3, 1
    li x31, {LANES}
    blt x3, x31, top
    vscl tgt, total, 4, {scale}
    tcfg 0, 0, 0, 4, 4, 8
    wv 0, tgt, msk
{UPDATE}    vfill total, 4, 0.0
    addi x2, x2, 1
    li x30, {BATCHES}
    blt x2, x30, batch
    halt
"""


def run(text: str, engine: str, preset: str) -> tuple[Soc, object]:
    soc = Soc.from_config(load_config(preset), timeline=True, engine=engine)
    soc.engine.strict = True
    return soc, soc.run(isa.assemble(text, "batches.s"))


def test_repeating_batches_are_replayed_and_equal_the_reference():
    """Under ``ideal`` every batch after the second repeats the one before it: replayed, nothing differs."""
    text = program()
    (ref_soc, ref), (fast_soc, fast) = run(text, "reference", "ideal"), run(text, "fast", "ideal")
    assert_same_result(ref, fast, "replayed batches")
    assert_same_devices(ref_soc, fast_soc)
    assert fast_soc.engine.batch.replayed == BATCHES - 2
    assert fast_soc.engine.batch.simulated == 0


def test_a_batch_whose_write_verify_differs_is_simulated_and_equals_the_reference():
    """Under wu2023 the write-verify's trials depend on the data: a batch whose state repeats but whose programming
    takes other cycles than the recording's (batch 3 here: 40 cycles, the others 20) is simulated after its numerics
    ran, and nothing differs."""
    text = program(np.random.default_rng(0).normal(size=4 * LANES * BATCHES), scale=2.0)
    (ref_soc, ref), (fast_soc, fast) = run(text, "reference", "wu2023"), run(text, "fast", "wu2023")
    assert_same_result(ref, fast, "batches with data-dependent write-verify")
    assert_same_devices(ref_soc, fast_soc)
    assert fast_soc.engine.batch.simulated > 0 and fast_soc.engine.batch.replayed > 0


@pytest.mark.parametrize("where", ["lanes", "update"])
def test_a_trap_in_a_replayed_batch_is_the_trap_of_a_simulated_one(where, monkeypatch):
    """A non-finite value in batch 4 (replayed under ``ideal``): in a lane's numerics (an inf read) or in the update's
    (a sum that overflows when scaled). The trap and the partial result are those of the batch simulated (batch
    replay off), at the reference engine's pc and cycle."""
    x = np.arange(4 * LANES * BATCHES) % 7 - 3.0
    x[4 * LANES * 4 + 4 * 2 + 1] = np.inf if where == "lanes" else 1e38
    text = program(x, scale=100.0)
    traps, socs = {}, {}
    for name, engine, enabled in (("reference", "reference", True), ("simulated", "fast", False),
                                  ("replayed", "fast", True)):
        monkeypatch.setattr(batch, "ENABLED", enabled)
        socs[name] = Soc.from_config(load_config("ideal"), timeline=True, engine=engine)
        with pytest.raises(Trap) as info:
            socs[name].run(isa.assemble(text, "batches.s"))
        traps[name] = info.value
    ref, simulated, replayed = traps["reference"], traps["simulated"], traps["replayed"]
    assert replayed.kind is TrapKind.NAN and str(replayed) == str(simulated)
    assert (ref.kind, ref.pc, ref.cycle) == (replayed.kind, replayed.pc, replayed.cycle)
    assert_same_result(simulated.partial, replayed.partial, f"the partial result of a trap in a batch's {where}")
    if where == "update":
        assert str(ref) == str(replayed)
        assert_same_result(ref.partial, replayed.partial, "the partial result of a trap in a batch's update")
    assert (socs["replayed"].engine.batch.replayed, socs["replayed"].engine.batch.simulated) == (2, 1)
    assert socs["simulated"].engine.batch.replayed == 0


def _count(counts: dict, pc: int) -> None:
    counts[pc] += 1


def test_hooks_of_a_replayed_batch_are_called_as_in_a_simulated_one():
    """Progress hooks (``socsim train`` counts batches at the update's first instruction): a replayed batch calls each
    hook of its pcs as often as the reference engine fetches them."""
    text = program()
    code = isa.assemble(text, "batches.s")
    update = next(pc for pc, ins in enumerate(code.instructions) if ins.spec.mnemonic == "vscl")
    calls = {}
    for engine in ("reference", "fast"):
        soc = Soc.from_config(load_config("ideal"), engine=engine)
        top = code.labels["top"]  # the lane loop's head: once per lane
        counts = calls[engine] = {update: 0, 2: 0, top: 0}
        soc.run(code, hooks={pc: partial(_count, counts, pc) for pc in counts})
        assert soc.engine.name == "reference" or soc.engine.batch.replayed == BATCHES - 2
    assert calls["fast"] == calls["reference"] == {update: BATCHES, 2: BATCHES, top: LANES * BATCHES}


def test_timing_only_batches_are_replayed_and_equal_the_reference():
    """Timing only (no numerics; a write-verify is charged a nominal report): the batches repeat even under wu2023."""
    text = program(np.random.default_rng(0).normal(size=4 * LANES * BATCHES), scale=2.0)
    results, socs = {}, {}
    for engine in ("reference", "fast"):
        socs[engine] = Soc.from_config(load_config("wu2023"), timeline=True, timing_only=True, engine=engine)
        results[engine] = socs[engine].run(isa.assemble(text, "batches.s"))
    assert_same_result(results["reference"], results["fast"], "timing-only batches")
    assert (socs["fast"].engine.batch.replayed, socs["fast"].engine.batch.simulated) == (BATCHES - 2, 0)


def test_a_batch_whose_lane_loop_breaks_its_claim_runs_as_on_the_reference_engine():
    """A lane loop that reads a private word before writing it runs one instruction at a time (not strict): its
    batches are simulated, not replayed, and nothing differs from the reference engine."""
    text = program().replace("    muli x4, x3, 4\n", "    vadd total, total, buf, 4\n    muli x4, x3, 4\n", 1)
    code = isa.assemble(text, "batches.s")
    results, socs = {}, {}
    for engine in ("reference", "fast"):
        socs[engine] = Soc.from_config(load_config("ideal"), timeline=True, engine=engine)
        results[engine] = socs[engine].run(code)
    assert_same_result(results["reference"], results["fast"], "batches whose lane loop breaks its claim")
    fast = socs["fast"].engine
    assert fast.fallbacks and not fast.batches and fast.batch.replayed == 0
    assert socs["fast"].controller.recorder is None


def test_a_batch_loop_whose_replays_keep_failing_is_simulated(monkeypatch):
    """Once a batch loop's replays have failed often enough (GIVE_UP) its batches are simulated without trying."""
    monkeypatch.setattr(batch, "GIVE_UP", (0, 0))  # give up at the first failure
    text = program(np.random.default_rng(0).normal(size=4 * LANES * BATCHES), scale=2.0)
    (ref_soc, ref), (fast_soc, fast) = run(text, "reference", "wu2023"), run(text, "fast", "wu2023")
    assert_same_result(ref, fast, "batches after giving up their replay")
    assert_same_devices(ref_soc, fast_soc)
    replays = fast_soc.engine.batch
    assert list(replays.tries.values()) == [[1, 1]] and (replays.replayed, replays.simulated) == (1, 1)
    # without giving up, a batch after the failure replays again: [2, 2] (the test above)
