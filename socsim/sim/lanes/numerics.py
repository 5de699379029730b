"""The numerics passes of a lane-parallel loop, after its timing pass (which gave every issue cycle).

**Together** (:class:`NumericsPass`): each instruction runs once over all the lanes. Private symbols
get one copy per lane (lane storage, (L, words)); shared operands are read from memory (one address,
broadcast, or one per lane, gathered); accumulations into reduced symbols are kept and added at the end
lane by lane in iteration order, so every sum is the sequential one. Afterwards the words the lanes
wrote are copied back from the last lane, as the sequential loop would leave them.

**In turn** (:class:`InTurnPass`): the recorded iteration runs lane after lane on memory, which is the
sequential loop's own order. It needs no lane storage and keeps no accumulations, so it is chosen when
those would take more than :data:`TOGETHER_WORDS` (large layers, where one instruction is big work
anyway); it still skips the control and the timing of every iteration.

Either way a tile read sees its lane's issue time and read number, and the numbers equal the reference
engine's bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from isa.program import BadOperand
from socsim.actions import Action
from socsim.sim.finite import nonfinite_operand
from socsim.sim.lanes.claims import PRIVATE, REDUCED, Claims, Operand
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.trace import Trace, UnitRecord
from socsim.sim.ops import Apply, TileOperands
from socsim.sim.ops.kernels import first_nonfinite
from socsim.sim.traps import Trap, TrapKind

if TYPE_CHECKING:
    from socsim.sim.controller import Controller


class LaneOperands(TileOperands):
    """One record's operands over all lanes."""

    def __init__(self, run: "NumericsPass", rec: UnitRecord, classes: dict[str, Operand]):
        self.run, self.rec, self.classes = run, rec, classes
        self.lanes = run.lanes
        self.v, self.pattern, self.streams = rec.values, rec.pattern, rec.streams
        self.hyper, self.regs = run.ctrl.hyper, run.ctrl.regs
        self.tile = run.ctrl.soc.tiles[rec.tile] if rec.tile >= 0 else None  # type: ignore[assignment]

    def a(self, name: str) -> np.ndarray:
        o = self.classes[name]
        space, start, size = self.rec.mem[name]
        if o.kind == PRIVATE:
            return self.run.store[o.symbol][:, o.offset:o.offset + size]
        assert o.kind != REDUCED, "reduced operands are only accumulated into"
        words = self.run.arrays[space]
        if isinstance(start, np.ndarray):
            return words[start[:, None] + np.arange(size)]
        return np.broadcast_to(words[start:start + size], (self.lanes, size))

    def reduced(self, name: str) -> bool:
        return self.classes[name].kind == REDUCED

    def accumulate(self, name: str, term: np.ndarray, apply: Apply) -> None:
        if self.classes[name].kind == REDUCED:
            space, start, size = self.rec.mem[name]
            if any(np.may_share_memory(term, s) for s in self.run.store):  # lane storage is overwritten later
                term = term.copy()
            self.run.deferred.append((self.run.arrays[space][start:start + size][None], apply, term))
        else:
            apply(self.a(name), term)

    def same(self, first: str, second: str) -> bool:
        (s1, a1, n1), (s2, a2, n2) = self.rec.mem[first], self.rec.mem[second]
        return s1 is s2 and n1 == n2 and np.array_equal(a1, a2)

    def read_draws(self) -> tuple[np.ndarray, np.ndarray]:
        rec, run = self.rec, self.run
        base = run.read_base[rec.tile]
        per = run.trace.tile_reads[rec.tile]
        counters = (base + np.arange(self.lanes, dtype=np.uint64) * np.uint64(per)
                    + np.uint64(rec.read_index))
        if run.issue is None:  # computed beside the timing pass: no read's result depends on its time
            return np.full(self.lanes, np.nan), counters
        return run.issue[:, rec.index] / run.ctrl.soc.cfg.clock_hz, counters

    def program_time(self) -> float:  # pragma: no cover - programming is not allowed in lanes (trace.py)
        raise AssertionError("programming instructions do not run in lanes")

    def count_saturated(self, per_lane: np.ndarray) -> None:
        mn = self.rec.ins.spec.mnemonic
        for tags, n in ((self.rec.tags_first, int(per_lane[0])), (self.rec.tags, int(per_lane[1:].sum()))):
            if n:
                self.run.saturated.append((self.tile.name, Action.ADC_SATURATED, mn, *tags, n))


TOGETHER_WORDS = 24 << 20
"""Lane storage plus kept accumulations (float32 words) above which a loop's lanes run in turn."""


def together_words(loop: LaneLoop, trace: Trace, claims: Claims) -> int:
    """Words the together pass would hold: every lane's private symbols and every reduced term of lanes 1..L-1."""
    lanes = loop.count
    kept = sum(rec.mem[name][2] for rec, classes in zip(trace.units, claims.operands)
               for name, o in classes.items() if o.kind == REDUCED)
    return lanes * sum(s.size for s in loop.private) + (lanes - 1) * kept


def together_pass(ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims) -> "NumericsPass | None":
    """The together pass of one execution of ``loop`` (its issue cycles still to set), or None when its lane storage
    would exceed :data:`TOGETHER_WORDS` (the lanes then run in turn)."""
    if together_words(loop, trace, claims) > TOGETHER_WORDS:
        return None
    return NumericsPass(ctrl, loop, trace, claims, None)


class TurnOperands(TileOperands):
    """One lane's operands of a recorded instruction, in memory (the sequential loop's view)."""

    lanes = 1

    def __init__(self, run: "InTurnPass", rec: UnitRecord, lane: int):
        self.run, self.rec, self.lane = run, rec, lane
        self.v, self.pattern, self.streams = rec.values, rec.pattern, rec.streams
        self.hyper, self.regs = run.ctrl.hyper, run.ctrl.regs
        self.tile = run.ctrl.soc.tiles[rec.tile] if rec.tile >= 0 else None  # type: ignore[assignment]
        self.mem = {name: (space, int(start[lane]) if isinstance(start, np.ndarray) else start, size)
                    for name, (space, start, size) in rec.mem.items()}

    def a(self, name: str) -> np.ndarray:
        space, start, size = self.mem[name]
        return self.run.arrays[space][start:start + size][None]

    def same(self, first: str, second: str) -> bool:
        return self.mem[first] == self.mem[second]

    def read_draws(self) -> tuple[np.ndarray, np.ndarray]:
        rec, run = self.rec, self.run
        counter = run.read_base[rec.tile] + self.lane * run.trace.tile_reads[rec.tile] + rec.read_index
        return run.issue[self.lane:self.lane + 1, rec.index] / run.ctrl.soc.cfg.clock_hz, \
            np.array([counter], np.uint64)

    def program_time(self) -> float:  # pragma: no cover - programming is not allowed in lanes (trace.py)
        raise AssertionError("programming instructions do not run in lanes")

    def count_saturated(self, per_lane: np.ndarray) -> None:
        n = int(per_lane.sum())
        if n:
            tags = self.rec.tags_first if self.lane == 0 else self.rec.tags
            self.run.ctrl.soc.ledger.record(self.tile.name, Action.ADC_SATURATED, self.rec.ins.spec.mnemonic, *tags, n)


class InTurnPass:
    """Runs the recorded iteration lane after lane on memory (see the module docstring)."""

    def __init__(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, issue: np.ndarray):
        self.ctrl, self.loop, self.trace, self.issue = ctrl, loop, trace, issue
        self.arrays = ctrl.soc.memory.arrays
        self.read_base = {t: int(ctrl.soc.tiles[t].crossbar.stream.reads) for t in trace.tile_reads}

    def run(self) -> None:
        ctrl = self.ctrl
        check = ctrl.trap_on_nan
        for lane in range(self.loop.count):
            for rec in self.trace.units:
                if rec.op.numerics is None:
                    continue
                c = TurnOperands(self, rec, lane)
                try:
                    rec.op.numerics(c)
                except BadOperand as exc:
                    raise _trap(ctrl, self.issue, rec, TrapKind.BAD_OPERAND, str(exc), lane) from None
                if check and not rec.op.only_moves:
                    name = nonfinite_operand(self.arrays, rec.op.access, c.mem, rec.span, rec.pattern, rec.streams)
                    if name:
                        raise _trap(ctrl, self.issue, rec, TrapKind.NAN, f"operand {name} holds NaN or inf after "
                                    f"{rec.ins.spec.mnemonic} in iteration {lane} of {self.loop.describe()}", lane)
        for t, per in self.trace.tile_reads.items():
            ctrl.soc.tiles[t].crossbar.stream.reads += self.loop.count * per


@dataclass(frozen=True)
class Fault:
    """What the numerics of a record found wrong in a lane (a trap once the timing pass has given its cycle)."""

    rec: UnitRecord
    kind: TrapKind
    detail: str
    lane: int


def _trap(ctrl: "Controller", issue: np.ndarray, rec: UnitRecord, kind: TrapKind, detail: str, lane: int) -> Trap:
    return Trap(kind, detail, rec.pc, rec.ins.text(), int(issue[lane, rec.index]), ctrl.soc.unit_states())


class NumericsPass:
    """Runs each instruction of one lane-parallel loop execution over all its lanes (see the module docstring)."""

    def __init__(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims, issue: np.ndarray | None):
        self.ctrl, self.loop, self.trace, self.claims, self.issue = ctrl, loop, trace, claims, issue
        """``issue`` (lanes, unit records): the cycle each lane issued each unit instruction (None until the timing
        pass has run, when :meth:`compute` runs beside it)."""
        self.lanes = loop.count
        self.arrays = ctrl.soc.memory.arrays
        self.deferred: list[tuple[np.ndarray, Apply, np.ndarray]] = []
        self.saturated: list[tuple] = []
        """Ledger rows of converter saturations, recorded by :meth:`finish`."""
        self.read_base = {t: np.uint64(ctrl.soc.tiles[t].crossbar.stream.reads) for t in trace.tile_reads}
        self.store = []
        for sym, exposed in zip(loop.private, claims.exposed):
            # NaN where a lane has not written: a word read without being proven written would show at once
            lanes_copy = np.full((self.lanes, sym.size), np.nan, np.float32)
            lanes_copy[:, exposed] = self.arrays[sym.space][sym.start + exposed]
            self.store.append(lanes_copy)

    def run(self) -> None:
        fault = self.compute()
        self.finish(fault)

    def compute(self) -> Fault | None:
        """Every instruction over all lanes, into lane storage and kept terms only (memory and the ledger are left
        to :meth:`finish`, so this may run beside the timing pass, with ``issue`` None); the first fault, if any."""
        ctrl = self.ctrl
        for rec, classes in zip(self.trace.units, self.claims.operands):
            if rec.op.numerics is None:
                continue
            c = LaneOperands(self, rec, classes)
            try:
                rec.op.numerics(c)
            except BadOperand as exc:
                return Fault(rec, TrapKind.BAD_OPERAND, str(exc), 0)
            if ctrl.trap_on_nan and not rec.op.only_moves:
                fault = self.check_finite(rec, c)
                if fault is not None:
                    return fault
        return None

    def finish(self, fault: Fault | None) -> None:
        """After :meth:`compute` (and the timing pass, which set ``issue``): record the converter saturations, then
        trap on ``fault``, or add the reductions and write the lanes' words back to memory."""
        ctrl = self.ctrl
        for row in self.saturated:
            ctrl.soc.ledger.record(*row)
        if fault is not None:
            raise _trap(ctrl, self.issue, fault.rec, fault.kind, fault.detail, fault.lane)
        for lane in range(self.lanes):  # reductions: lane by lane in iteration order, instructions in program order
            for dst, apply, term in self.deferred:
                apply(dst, term[lane:lane + 1])
        last = self.lanes - 1
        for sym, copy, written in zip(self.loop.private, self.store, self.claims.written):
            self.arrays[sym.space][sym.start + written] = copy[last, written]
        for t, per in self.trace.tile_reads.items():
            ctrl.soc.tiles[t].crossbar.stream.reads += self.lanes * per

    def check_finite(self, rec: UnitRecord, c: LaneOperands) -> Fault | None:
        """The fault if a word the instruction wrote holds NaN or inf in some lane (as the controller checks)."""
        for name, _, written in rec.op.access:
            o = c.classes[name]
            if written and o.kind == PRIVATE:
                offsets = rec.streams[name] if rec.streams is not None and name in rec.streams else (
                    rec.pattern if name == rec.span else None)
                if offsets is not None:
                    rows = ~np.isfinite(c.a(name)[:, offsets]).all(axis=1)
                    lane = int(np.flatnonzero(rows)[0]) if rows.any() else -1
                else:
                    lane = first_nonfinite(self.store[o.symbol], o.offset, rec.mem[name][2])
                if lane >= 0:
                    return Fault(rec, TrapKind.NAN, f"operand {name} holds NaN or inf after {rec.ins.spec.mnemonic} "
                                 f"in iteration {lane} of {self.loop.describe()}", lane)
        return None
