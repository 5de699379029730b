"""The op table: one registered :class:`Op` per instruction of the ISA table (``isa.spec.OPCODES``).

Each unit's module holds its ops as rows, keyed by mnemonic (``control.py``, ``sync.py``, ``digital.py``,
``move.py``, ``tile.py``, ``stream.py``): everything the simulator does with and asks of an instruction is a field
of its row. The table attaches each row to its ISA row. The controller fetches an instruction, looks up its op and
calls it; units price it from the op's cost; the lane-parallel engine asks it which operands it may reduce into.
``tests/test_optable.py`` checks that the table covers the ISA exactly.
"""

from __future__ import annotations

from dataclasses import replace

from isa.spec import OPCODES, Unit
from socsim.sim.ops.base import (
    F32,
    Apply,
    ControlState,
    Exec,
    Op,
    Operands,
    TimingOnly,
    Work,
    add_into,
    no_operands,
)
from socsim.sim.ops.control import PATTERN_LEVELS, control_ops
from socsim.sim.ops.digital import DIGITAL, pool_out
from socsim.sim.ops.epilogue import IDENTITY, Epilogue
from socsim.sim.ops.move import MOVES
from socsim.sim.ops.stream import STREAM, stream_env
from socsim.sim.ops.sync import WAITING
from socsim.sim.ops.tile import TILE, Block, TileOperands, block_values, configure

ROWS: dict[Unit, dict[str, Op]] = {Unit.DU: DIGITAL, Unit.DMA: MOVES, Unit.TILE: {**TILE, **STREAM}}
"""The op rows of each unit that executes instructions issued to it, by mnemonic."""


def _build() -> dict[str, Op]:
    specs = list(OPCODES)
    rows = {**control_ops([s for s in specs if s.unit is Unit.CTRL]), **WAITING}
    for unit_rows in ROWS.values():
        rows.update(unit_rows)
    return {s.mnemonic: replace(rows[s.mnemonic], spec=s) for s in specs}


OPS: dict[str, Op] = _build()
"""mnemonic -> its op, for every instruction of the ISA table."""

__all__ = ["OPS", "ROWS", "Apply", "Op", "Exec", "TimingOnly", "Operands", "TileOperands", "ControlState", "Work",
           "F32", "add_into", "no_operands", "PATTERN_LEVELS", "Block", "block_values", "configure", "pool_out",
           "Epilogue", "IDENTITY", "stream_env"]
