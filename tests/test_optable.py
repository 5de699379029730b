"""The op table (socsim.sim.ops.OPS) covers the ISA table exactly, and each op has the parts its kind needs."""

from __future__ import annotations

import pytest

from isa.spec import OPCODES, Unit
from socsim.sim.ops import OPS, Exec, TimingOnly
from socsim.sim.ops.digital import DIGITAL
from socsim.sim.ops.move import MOVES
from socsim.sim.ops.stream import STREAM
from socsim.sim.ops.tile import TILE


def test_the_op_table_covers_the_isa_table_exactly():
    assert sorted(OPS) == sorted(s.mnemonic for s in OPCODES)
    assert all(OPS[s.mnemonic].spec is s for s in OPCODES)


def test_each_unit_table_holds_exactly_the_instructions_of_its_unit():
    for table, unit in ((DIGITAL, Unit.DU), (MOVES, Unit.DMA), ({**TILE, **STREAM}, Unit.TILE)):
        assert set(table) == {s.mnemonic for s in OPCODES if s.unit is unit}, unit
    assert not set(TILE) & set(STREAM)


@pytest.mark.parametrize("spec", OPCODES, ids=lambda s: s.mnemonic)
def test_each_op_has_the_handler_parts_of_its_kind(spec):
    op = OPS[spec.mnemonic]
    if op.exec is Exec.CONTROL:
        assert spec.unit is Unit.CTRL and op.control is not None
    elif op.exec in (Exec.SYNC, Exec.SCALAR_MEMORY):
        assert op.waits is not None
    else:
        assert op.exec is Exec.UNIT and spec.unit is not Unit.CTRL
        costs = {Unit.DU: op.work, Unit.DMA: op.words, Unit.TILE: op.tile_cost}
        assert costs[spec.unit] is not None, f"{spec.mnemonic} has no cost for its unit {spec.unit.name}"
        assert [c for u, c in costs.items() if u is not spec.unit] == [None, None]
    if op.timing_only is not TimingOnly.SKIP:
        assert op.exec is Exec.UNIT
