"""Symbol-safe memory: an access that starts in a symbol must end in it; an MVM needs a configured, programmed tile;
``.sym NAME SPACE SIZE = V`` fills every word. Both engines apply the same rules."""

from __future__ import annotations

import re

import numpy as np
import pytest

import isa
from socsim.config.soc import load_config
from socsim.sim import Soc, Trap, TrapKind
from tests.test_lanes import program

VECTORS = """
.sym a sram 64 = 1.0
.sym b sram 64 = 2.0, 3.0
.sym c sram 64
.sym d sram 64
    vadd c, a, b, N
    halt
"""


def run(text: str, engine: str = "reference"):
    return Soc.from_config(load_config("wu2023"), engine=engine).run(isa.assemble(text, "safe.s"))


def trap_of(text: str, engine: str = "reference") -> Trap:
    with pytest.raises(Trap) as info:
        run(text, engine)
    return info.value


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_an_overrun_of_the_destination_traps_naming_the_symbol_its_size_and_the_access(engine):
    t = trap_of(VECTORS.replace("N", "128"), engine)
    assert t.kind is TrapKind.OUT_OF_RANGE and t.pc == 0
    assert "operand dst: c[0:128] overruns symbol 'c' of 64 words" in t.detail
    ok = run(VECTORS.replace("N", "64"), engine)
    assert (ok.outputs["d"] == 0).all()  # nothing spilled into the next symbol


def test_a_register_offset_overrun_traps_and_an_access_inside_the_symbol_runs():
    text = VECTORS.replace("vadd c, a, b, N", "li x1, OFF\n    vadd c(x1), a, b, 8")
    assert run(text.replace("OFF", "56")).outputs["c"][56:].tolist() == [3.0, 4.0] + [1.0] * 6
    t = trap_of(text.replace("OFF", "60"))
    assert t.pc == 1 and "c[60:68] overruns symbol 'c' of 64 words (it ends 4 words past it)" in t.detail


def test_an_access_starting_outside_every_symbol_is_checked_against_its_space_only():
    r = run(".sym a sram 4 @100 = 1.0\n    vfill sram:0, 100, 2.0\n    vfill sram:96, 8, 3.0\n    halt\n")
    assert r.outputs["a"].tolist() == [3.0] * 4


def test_a_source_overrun_traps_too():
    t = trap_of(".sym a sram 4\n.sym b sram 8\n    vsum b, a, 8\n    halt\n")
    assert "operand a: a[0:8] overruns symbol 'a' of 4 words" in t.detail


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_an_overrun_inside_a_lane_parallel_loop_traps_alike_on_both_engines(engine):
    """The fast engine runs the loop one instruction at a time (its claim does not hold), so the trap is the
    reference's; a strict fast engine refuses the loop with the same detail."""
    text = program(body="    muli x4, x3, 4\n    copy buf, x(x4), 8\n")
    t = trap_of(text, engine)
    assert t.kind is TrapKind.OUT_OF_RANGE and t.pc == 2 and "buf[0:8] overruns symbol 'buf' of 4 words" in t.detail
    soc = Soc.from_config(load_config("wu2023"), engine="fast")
    soc.engine.strict = True
    with pytest.raises(Trap, match="buf\\[0:8\\] overruns symbol 'buf' of 4 words") as info:
        soc.run(isa.assemble(text, "safe.s"))
    assert info.value.kind is TrapKind.LANES


def test_each_lane_of_a_loop_is_checked_not_only_the_first_and_last():
    """Iteration 3 reads x[12:16] of a 14-word x; the last one reads inside the next symbol."""
    text = re.sub(r"\.sym x dram 32 = .*", ".sym x dram 14\n.sym x2 dram 18",
                  program(body="    muli x4, x3, 4\n    copy buf, x(x4), 4\n"))
    soc = Soc.from_config(load_config("wu2023"), engine="fast")
    soc.engine.strict = True
    with pytest.raises(Trap) as info:
        soc.run(isa.assemble(text, "safe.s"))
    assert "x[12:16] overruns symbol 'x' of 14 words" in info.value.detail and "iteration 3" in info.value.detail
    assert "x[12:16] overruns symbol 'x' of 14 words" in trap_of(text, "reference").detail


TILE = """
.sym x tb0 64 = 1.0
.sym y tb0 32
.sym w sram 64*32 = 0.5
{setup}
    mvm 0, y, x, 1
    halt
"""


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_an_mvm_on_an_unconfigured_or_unprogrammed_tile_traps_naming_the_tile(engine):
    t = trap_of(TILE.format(setup=""), engine)
    assert t.kind is TrapKind.ILLEGAL_INSTRUCTION and "mvm on tile 0, which no tcfg has configured" in t.detail
    t = trap_of(TILE.format(setup="    tcfg 0, 0, 0, 64, 32, 8"), engine)
    assert "mvm on tile 0, which holds no weights (no wv or pulse has programmed it)" in t.detail
    r = run(TILE.format(setup="    tcfg 0, 0, 0, 64, 32, 8\n    wv 0, w, w"), engine)
    assert np.abs(r.outputs["y"]).sum() > 0


def test_the_tile_state_persists_across_runs_of_one_soc():
    soc = Soc.from_config(load_config("wu2023"))
    soc.run(isa.assemble(TILE.format(setup="    tcfg 0, 0, 0, 64, 32, 8\n    wv 0, w, w"), "a.s"))
    soc.run(isa.assemble(TILE.format(setup=""), "b.s"))  # the next program reads what the first programmed


def test_one_initial_value_fills_every_word_and_several_fill_the_first_words():
    r = run(VECTORS.replace("N", "64"))
    assert r.outputs["a"].tolist() == [1.0] * 64
    assert r.outputs["b"].tolist() == [2.0, 3.0] + [0.0] * 62
    prog = isa.assemble(".sym a sram 3 = 1.5\n    halt\n")
    assert isa.decode(isa.encode(prog)) == prog  # the binary keeps the one value, and its meaning
    assert "= 1.5" in isa.disassemble(prog)
