"""The op table: one registered :class:`Op` per instruction of the ISA table (``isa.spec.OPCODES``).

The controller fetches an instruction, looks up its op and calls it; units price it from the op's
cost; the lane-parallel engine asks it which operands it may reduce into. ``tests/test_optable.py``
checks that the table covers the ISA exactly.
"""

from __future__ import annotations

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
from socsim.sim.ops.digital import DIGITAL, OVERWRITES, REDUCIBLE, pool_out
from socsim.sim.ops.epilogue import IDENTITY, Epilogue
from socsim.sim.ops.move import MOVES
from socsim.sim.ops.stream import (
    CONFIGURES_STREAMS,
    STREAM,
    configure_stream,
    stream_accesses,
    stream_edges,
    stream_env,
)
from socsim.sim.ops.sync import WAITING
from socsim.sim.ops.tile import (
    NEEDS_WEIGHTS,
    OWN_BUFFER,
    PROGRAMS,
    READS,
    SHARED_STATE,
    TILE,
    Block,
    TileOperands,
    block_values,
    configure,
)

ONLY_MOVES = frozenset({"copy", "gather", "scatter", "vfill", "vmax", "vmin", "vclamp", "vrelu", "vdrelu", "vcmpeq",
                        "maxpool", "maxpoolb", "argmax", "tcfg", "tpat", "vamax"})
"""Operations that only move, select or compare words (Op.only_moves)."""
SCALAR_MEMORY = frozenset({"lw", "sw"})
SYNC = frozenset({"fence", "wait", "post", "waitt", "halt"})
EXECUTED_WITHOUT_NUMERICS = frozenset({"hp"})
"""Unit instructions whose effect is architectural state rather than data (run in timing-only mode too)."""
NOMINAL_WITHOUT_NUMERICS = frozenset({"wv", "pulse"})
STREAMED = frozenset({"mvms"})
"""Tile operations that stream their operands through the tile's own address generators (socsim.sim.ops.stream)."""
"""Programming instructions: charged a nominal report in timing-only mode (socsim.sim.timing_only)."""


def _timing_only(mnemonic: str) -> TimingOnly:
    if mnemonic in EXECUTED_WITHOUT_NUMERICS:
        return TimingOnly.EXECUTE
    return TimingOnly.NOMINAL if mnemonic in NOMINAL_WITHOUT_NUMERICS else TimingOnly.SKIP


def _build() -> dict[str, Op]:
    specs = list(OPCODES)
    ops = control_ops([s for s in specs if s.unit is Unit.CTRL])
    for spec in specs:
        mn = spec.mnemonic
        if mn in ops:
            continue
        if mn in SCALAR_MEMORY:
            ops[mn] = Op(spec, Exec.SCALAR_MEMORY, waits=WAITING[mn])
        elif mn in SYNC:
            ops[mn] = Op(spec, Exec.SYNC, waits=WAITING[mn])
        elif spec.unit is Unit.DU:
            numerics, work = DIGITAL[mn]
            ops[mn] = Op(spec, Exec.UNIT, numerics=numerics, work=work,
                         reducible=REDUCIBLE.get(mn, no_operands), overwrites=OVERWRITES.get(mn, no_operands),
                         timing_only=_timing_only(mn), only_moves=mn in ONLY_MOVES)
        elif spec.unit is Unit.DMA:
            numerics, words, rmw = MOVES[mn]
            reducible = (lambda v, same: frozenset({"dst"})) if rmw else no_operands
            ops[mn] = Op(spec, Exec.UNIT, numerics=numerics, words=words, read_modify_write=rmw,
                         reducible=reducible, timing_only=_timing_only(mn), only_moves=mn in ONLY_MOVES)
        elif spec.unit is Unit.TILE:
            numerics, cost = {**TILE, **STREAM}[mn]
            streamed = mn in STREAMED
            ops[mn] = Op(spec, Exec.UNIT, numerics=numerics, tile_cost=cost, timing_only=_timing_only(mn),
                         only_moves=mn in ONLY_MOVES, late_reads=frozenset({"psum"}) if streamed else frozenset(),
                         stream_edges=stream_edges if streamed else None,
                         stream_accesses=stream_accesses if streamed else None)
    return ops


OPS: dict[str, Op] = _build()
"""mnemonic -> its op, for every instruction of the ISA table."""

__all__ = ["OPS", "Apply", "Op", "Exec", "TimingOnly", "Operands", "TileOperands", "ControlState", "Work", "F32",
           "add_into", "PATTERN_LEVELS", "Block", "block_values", "configure", "pool_out", "READS", "OWN_BUFFER",
           "SHARED_STATE", "NEEDS_WEIGHTS",
           "PROGRAMS", "Epilogue", "IDENTITY", "CONFIGURES_STREAMS", "configure_stream", "stream_env", "STREAMED"]
