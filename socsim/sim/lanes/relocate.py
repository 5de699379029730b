"""The relocatable control trace: a lane-parallel loop's control pass recorded once and re-used.

From one execution of a loop to the next (one batch to the next) its iteration usually runs the same instructions
on operands that moved with the loop's base registers (the batch's images). The control pass follows every
register as a :class:`~socsim.sim.ops.base.Shadow` of the registers the loop starts from; the next execution with
the same address-generator levels and ledger tags re-uses the recorded iteration, each operand moved by its base
register's shift, when no branch's compared difference moved, every register the iteration leaves follows from the
entry registers linearly, the tiles hold the state the recording saw, and the moved operands stay in range.
Otherwise the control pass runs again (and its recording replaces the old one). The result is the trace the
control pass would have recorded, so both engines stay bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from isa.program import Program
from isa.spec import Space
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.trace import UNIT, ControlPass, LaneViolation, Trace, UnitRecord, check_registers
from socsim.sim.ops.base import Shadow
from socsim.sim.ops.control import wrap

if TYPE_CHECKING:
    from socsim.sim.controller import Controller


@dataclass
class Recorded:
    """One recorded iteration and what re-using it depends on."""

    trace: Trace
    entry: list[int]
    """The registers the recorded execution started from."""
    final: list[Any]
    """The registers every lane left (an integer or one per lane)."""
    exits: list[Shadow]
    constraints: list[Shadow]
    moves: list[tuple[int, str, Shadow]]
    exposed: set[int]
    entry_blocks: dict[int, Any]
    entry_streams: dict[int, dict[str, tuple]]
    weighted: set[int]

    @classmethod
    def of(cls, cp: ControlPass, trace: Trace) -> "Recorded":
        return cls(trace, list(cp.entry_regs), list(cp.regs), list(cp.shadows), cp.constraints, cp.moves,
                   set(cp.regs.exposed), dict(cp.entry_blocks), {t: dict(v) for t, v in cp.entry_streams.items()},
                   set(cp.weighted))

    def relocate(self, ctrl: "Controller", loop: LaneLoop) -> Trace | None:
        """The iteration as the control pass would record it from the controller's registers now (None: it may not
        be; run the pass)."""
        soc = ctrl.soc
        regs = ctrl.regs
        delta = [int(a) - b for a, b in zip(regs, self.entry)]
        for c in self.constraints:
            if c.shift(delta) != 0:
                return None
        tiles = soc.tiles
        for t, block in self.entry_blocks.items():
            if tiles[t].block != block:
                return None
        for t, streams in self.entry_streams.items():
            if tiles[t].streams != streams:
                return None
        for t in self.weighted:
            if not tiles[t].programmed:
                return None
        final = []
        for value, shadow in zip(self.final, self.exits):
            shift = shadow.shift(delta)
            if shift is None:
                return None
            final.append(_moved(value, shift) if shift else value)
        if not any(delta):
            return self.trace
        try:
            check_registers(loop, final, list(regs), self.exposed)
        except LaneViolation:
            return None
        units = list(self.trace.units)
        fresh: dict[int, dict] = {}
        invariant_moved = False
        """An operand with one first word in every lane moved: the fingerprint (the timing's key) changes."""
        for index, name, shadow in self.moves:
            shift = shadow.shift(delta)
            if shift is None:
                return None
            if not shift:
                continue
            rec = units[index]
            space, start, size = rec.mem[name]
            if space is Space.TBUF:
                return None
            invariant_moved = invariant_moved or not isinstance(start, np.ndarray)
            start = _moved(start, shift)
            problem = (soc.memory.check_lanes(space, start, size) if isinstance(start, np.ndarray)
                       else soc.memory.check(space, start, size))
            if problem:
                return None
            mem = fresh.get(index)
            if mem is None:
                mem = fresh[index] = dict(rec.mem)
            mem[name] = (space, start, size)
        old = self.trace
        if not fresh:
            records = old.records
        else:
            for index, mem in fresh.items():
                rec = units[index]
                units[index] = UnitRecord(rec.index, rec.pos, rec.pc, rec.ins, rec.op, rec.values, mem, rec.varying,
                                          rec.pattern, rec.span, rec.tile, rec.streams, rec.read_index, rec.tags_first,
                                          rec.tags, rec.marked)
            records = list(old.records)
            for index in fresh:
                rec = units[index]
                records[rec.pos] = (UNIT, rec.pc, rec, 0)
        exit_regs = [int(v[-1]) if isinstance(v, np.ndarray) else v for v in final]
        return Trace(records, units, old.tile_reads, exit_regs, old.agen, old.blocks, old.streams, old.tags,
                     old.hook_pcs, old.inner, None if invariant_moved else old.known_fingerprint)


def _moved(value: Any, shift: int) -> Any:
    """A register value or an operand's first word moved by ``shift`` (64-bit two's complement)."""
    if isinstance(value, np.ndarray):
        return value + np.int64(wrap(shift))
    return wrap(value + shift)


PROGRAMS_KEPT = 8
"""The programs whose recordings an SoC keeps (a training session alternates train, calibrate and evaluate)."""


class ControlTraces:
    """The control passes of the lane-parallel loops of the programs an SoC runs, recorded and relocated (one per
    program, loop and entry state: address-generator levels and ledger tags)."""

    def __init__(self) -> None:
        self.programs: list[tuple[Program, dict[tuple, Recorded]]] = []
        """The recordings of each program loaded, the most recent last."""
        self.recorded: dict[tuple, Recorded] = {}
        """The recordings of the program loaded now."""
        self.relocated = 0
        """Executions that re-used a recorded iteration."""
        self.passes = 0
        """Executions that ran the control pass."""

    def load(self, program: Program) -> None:
        """Use ``program``'s recordings (kept from an earlier run of the same program object on this SoC: the same
        code and symbols)."""
        known = next((i for i, (p, _) in enumerate(self.programs) if p is program), None)
        entry = self.programs.pop(known) if known is not None else (program, {})
        self.programs = [*self.programs[-(PROGRAMS_KEPT - 1):], entry]
        self.recorded = entry[1]

    def run(self, ctrl: "Controller", loop: LaneLoop) -> Trace:
        """One iteration of ``loop`` from the controller's state now, as :class:`ControlPass` records it (raises its
        :class:`LaneViolation`)."""
        key = (loop.head, tuple(ctrl.agen), ctrl.layer, ctrl.phase)
        known = self.recorded.get(key)
        if known is not None:
            trace = known.relocate(ctrl, loop)
            if trace is not None:
                self.relocated += 1
                return trace
        cp = ControlPass(ctrl, loop)
        trace = cp.run()
        self.passes += 1
        if cp.relocatable:
            trace.fingerprint()
            self.recorded[key] = Recorded.of(cp, trace)
        else:
            self.recorded.pop(key, None)
        return trace
