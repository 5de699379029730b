"""The relocatable control trace: a lane-parallel loop's control pass is recorded once and re-used with its
operands moved by the loop's base registers, and runs again when a branch or an address depends on them otherwise;
either way the fast engine equals the reference engine."""

from __future__ import annotations

import numpy as np
import pytest

import isa
from socsim.config.soc import load_config
from socsim.sim import Soc
from socsim.sim.ops.base import Shadow
from tests.engines import assert_same_result

LANES, BATCHES = 8, 3


def program(body: str) -> str:
    """An outer loop of BATCHES runs of a lane-parallel loop whose images start at x5 (moved 32 words a batch)."""
    x = ", ".join(str(float(v)) for v in np.arange(4 * LANES * BATCHES) % 7 - 3)
    w = ", ".join(str(float(v)) for v in (np.arange(16) % 5) / 4 - 0.5)
    return f"""
.sym x dram {4 * LANES * BATCHES} = {x}
.sym w sram 16 = {w}
.sym buf sram 4
.sym out sram 4
.sym total acc 4
    li x5, 0
    li x20, 0
    li x29, 32
outer:
    li x3, 0
.lanes top x3 {LANES} private buf out reduce total
top:
    muli x4, x3, 4
{body}
    copy buf, x(x4), 4
    mm out, buf, w, 1, 4, 4, 0, 0, 0
    vadd total, total, out, 4
    addi x3, x3, 1
    li x31, {LANES}
    blt x3, x31, top
    addi x5, x5, 32
    addi x20, x20, 1
    li x30, {BATCHES}
    blt x20, x30, outer
    halt
"""


CASES = {
    "moved by the base register": ("    add x4, x4, x5", BATCHES - 1),
    "scaled base register": ("    muli x6, x20, 32\n    add x4, x4, x6", BATCHES - 1),
    "branch on the base register": ("    blt x5, x29, skip\n    addi x4, x4, -4\nskip:\n    add x4, x4, x5", 0),
    "address through a non-linear operation": ("    xor x6, x5, x0\n    add x4, x4, x6", 0),
}
"""body -> how many of the BATCHES executions after the first re-use the recording (a branch whose compared difference
moves, here the second batch's going the other way from the first's, and an address through xor, which the shadows
follow as unknown, make every batch run the pass)."""


@pytest.mark.parametrize("case", CASES)
def test_relocated_traces_equal_the_reference(case):
    body, relocated = CASES[case]
    text = program(body)
    results = {}
    for engine in ("reference", "fast"):
        soc = Soc.from_config(load_config("ideal"), engine=engine)
        soc.engine.strict = True
        results[engine] = (soc, soc.run(isa.assemble(text, "relocate.s")))
    assert_same_result(results["reference"][1], results["fast"][1], case)
    traces = results["fast"][0].engine.traces
    assert (traces.relocated, traces.passes) == (relocated, BATCHES - relocated)


def test_a_shadow_moves_linearly_and_refuses_unknown_dependence():
    a, b = Shadow({5: 1}), Shadow({20: 32})
    delta = [0] * 32
    delta[5], delta[20] = 32, 1
    assert a.plus(b).shift(delta) == 64 and a.plus(b, -1).shift(delta) == 0 and a.scaled(4).shift(delta) == 128
    assert a.unknown(b).shift(delta) is None and a.unknown().shift([0] * 32) == 0


def test_only_what_the_program_did_wrong_traps_a_bug_propagates(monkeypatch):
    """A numerics function's BadOperand is a trap (TrapKind.BAD_OPERAND); any other exception is a bug of the
    simulator and propagates as itself, on both engines."""
    from dataclasses import replace

    from isa.program import BadOperand
    from socsim.sim import Trap, TrapKind
    from socsim.sim.ops import OPS

    def raising(exc: Exception):
        def numerics(c):
            raise exc
        return numerics

    text = program("    add x4, x4, x5")
    for exc, expected in ((BadOperand("operand out of its range"), Trap), (ValueError("a bug"), ValueError),
                          (IndexError("a bug"), IndexError)):
        monkeypatch.setitem(OPS, "mm", replace(OPS["mm"], numerics=raising(exc)))
        for engine in ("reference", "fast"):
            soc = Soc.from_config(load_config("ideal"), engine=engine)
            with pytest.raises(expected) as info:
                soc.run(isa.assemble(text, "relocate.s"))
            assert type(info.value) is expected
            if expected is Trap:
                assert info.value.kind is TrapKind.BAD_OPERAND and "operand out of its range" in info.value.detail
