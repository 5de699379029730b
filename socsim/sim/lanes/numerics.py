"""The numerics passes of a lane-parallel loop, after its timing pass (which gave every issue cycle).

**Together** (:class:`NumericsPass`): each instruction runs once over all the lanes. Private symbols
get one copy per lane (lane storage, (L, words)); shared operands are read from memory (one address,
broadcast, or one per lane, gathered); accumulations into reduced symbols are kept and added at the end
lane by lane in iteration order, so every sum is the sequential one. Afterwards the words the lanes
wrote are copied back from the last lane, as the sequential loop would leave them.

**In turn** (:class:`InTurnPass`): the recorded iteration runs lane after lane on memory, which is the
sequential loop's own order. It needs no lane storage and keeps no accumulations, so it is chosen when
those would take more than :data:`TOGETHER_WORDS` (large layers, where one instruction is big work
anyway); it still skips the control and the timing of every iteration. With several threads it runs one lane at a
time per thread instead (:mod:`socsim.sim.lanes.turns`).

Either way a tile read sees its lane's issue time and read number, and the numbers equal the reference
engine's bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from isa.program import BadOperand
from socsim.base.actions import Action
from socsim.base.threads import numerics_threads, pool, sync_numba
from socsim.sim.finite import nonfinite_operand
from socsim.sim.lanes.claims import PRIVATE, REDUCED, Claims, Operand
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.trace import Trace, UnitRecord
from socsim.sim.ops import Apply, TileOperands
from socsim.sim.ops.epilogue import Epilogue
from socsim.sim.ops.kernels import first_nonfinite, first_nonfinite_at
from socsim.sim.traps import Trap, TrapKind

if TYPE_CHECKING:
    from socsim.sim.controller import Controller


class LaneOperands(TileOperands):
    """One record's operands over the lanes of one group (all the lanes, or a thread's share)."""

    def __init__(self, run: "LaneGroup", rec: UnitRecord, classes: dict[str, Operand], position: int):
        self.run, self.rec, self.classes, self.position = run, rec, classes, position
        self.lanes = run.lanes
        self.v, self.pattern, self.streams = rec.values, rec.pattern, rec.streams
        self.hyper, self.regs = run.ctrl.hyper, run.ctrl.regs
        self.tile = run.tile(rec.tile) if rec.tile >= 0 else None  # type: ignore[assignment]
        self.mem = rec.mem if run.lanes == run.total else run.addresses(rec)
        """Each operand's (space, start, words): a per-lane start holds the group's lanes only."""

    def a(self, name: str) -> np.ndarray:
        o = self.classes[name]
        space, start, size = self.mem[name]
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
            space, start, size = self.mem[name]
            # lane storage is overwritten later (an array that owns its words shares none: the check holds the
            # interpreter lock once per private symbol, 6 % of the lane groups' time with it in VGG-8's loops)
            if term.base is not None and any(np.may_share_memory(term, s) for s in self.run.store):
                term = term.copy()
            self.run.defer(self.run.arrays[space][start:start + size][None], apply, term)
        else:
            apply(self.a(name), term)

    def same(self, first: str, second: str) -> bool:
        (s1, a1, n1), (s2, a2, n2) = self.mem[first], self.mem[second]
        return s1 is s2 and n1 == n2 and np.array_equal(a1, a2)

    def read_draws(self) -> tuple[np.ndarray, np.ndarray]:
        rec, run = self.rec, self.run
        counters = run.lane_reads(rec.tile) + np.uint64(rec.read_index)
        if run.issue is None:  # computed beside the timing pass: no read's result depends on its time
            return np.full(self.lanes, np.nan), counters
        return run.issue[:, rec.index] / run.ctrl.soc.cfg.clock_hz, counters

    def program_time(self) -> float:  # pragma: no cover - programming is not allowed in lanes (trace.py)
        raise AssertionError("programming instructions do not run in lanes")

    def count_saturated(self, per_lane: np.ndarray) -> None:
        self.run.saturated.append((self.position, np.asarray(per_lane, np.int64)))


TOGETHER_WORDS = 24 << 20
"""Lane storage plus kept accumulations (float32 words) above which a loop's lanes run in turn."""
THREADED_FACTOR = 4
"""With several threads the limit is this many times :data:`TOGETHER_WORDS` (384 MiB): the lanes of a large network
are few and their private symbols large, so running them in groups (together) costs that much memory."""


def together_words(loop: LaneLoop, trace: Trace, claims: Claims) -> int:
    """Words the together pass would hold: every lane's private symbols and every reduced term of lanes 1..L-1."""
    lanes = loop.count
    kept = sum(rec.mem[name][2] for rec, classes in zip(trace.units, claims.operands)
               for name, o in classes.items() if o.kind == REDUCED)
    return lanes * sum(s.size for s in loop.private) + (lanes - 1) * kept


def together_pass(ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims) -> "NumericsPass | None":
    """The together pass of one execution of ``loop`` (its issue cycles still to set), or None when its lane storage
    would exceed :data:`TOGETHER_WORDS` (times :data:`THREADED_FACTOR` where the lanes will run in groups; the lanes
    then run in turn)."""
    words = together_words(loop, trace, claims)
    grouped = numerics_threads() > 1 and loop.count >= 2 * MIN_GROUP_LANES and words >= 2 * MIN_GROUP_WORDS
    if words > TOGETHER_WORDS * (THREADED_FACTOR if grouped else 1):
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

    def run(self, first: int = 0) -> None:
        """Lanes ``first`` .. the last (the lanes before ``first`` already ran: :mod:`socsim.sim.lanes.turns`)."""
        ctrl = self.ctrl
        check = ctrl.trap_on_nan
        for lane in range(first, self.loop.count):
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


def _trap(ctrl: "Controller", issue: np.ndarray, rec: UnitRecord, kind: TrapKind, detail: str, lane: int) -> Trap:
    return Trap(kind, detail, rec.pc, rec.ins.text(), int(issue[lane, rec.index]), ctrl.soc.unit_states())


@dataclass(frozen=True)
class Fault:
    """What the numerics of a record found wrong in a lane (a trap once the timing pass has given its cycle)."""

    rec: UnitRecord
    kind: TrapKind
    detail: str
    lane: int


class GroupTile:
    """A tile as one lane group sees it: its own output-stage function (``tepi`` latches one per lane), the rest
    the tile's. The group's share of an epilogue set per lane before the pass is its lanes' rows."""

    def __init__(self, tile, lanes: int, first: int, count: int):
        self._tile = tile
        ep = tile.epilogue.lanes(lanes)  # what the whole pass would use: per lane, shared, or the last lane's
        self.epilogue = ep if count == lanes else Epilogue(
            *(None if a is None else (a[first:first + count] if a.shape[0] == lanes > 1 else a)
              for a in (ep.f, ep.bias, ep.bn_scale, ep.bn_mean, ep.bn_beta)), ep.relu)
        self.initial = self.epilogue

    def __getattr__(self, name: str):
        return getattr(self._tile, name)


class LaneGroup:
    """Lanes ``first .. first + lanes - 1`` of a :class:`NumericsPass`: their rows of the lane storage, their
    issue cycles, the reduction terms and converter counts they leave for the pass to apply in lane order."""

    def __init__(self, run: "NumericsPass", first: int, lanes: int, store: list[np.ndarray] | None = None):
        """``store``: the group's own lane storage (default: its rows of the pass's)."""
        self.ctrl, self.trace, self.arrays, self.read_base = run.ctrl, run.trace, run.arrays, run.read_base
        self.first, self.lanes, self.total = first, lanes, run.lanes
        self.store = store if store is not None else [copy[first:first + lanes] for copy in run.store]
        self.issue = None if run.issue is None else run.issue[first:first + lanes]
        self.deferred: list[tuple[np.ndarray, Apply, np.ndarray]] = []
        self.saturated: list[tuple[int, np.ndarray]] = []
        self.tiles: dict[int, GroupTile | object] = {}
        self._lane_reads: dict[int, np.ndarray] = {}

    def defer(self, dst: np.ndarray, apply: Apply, term: np.ndarray) -> None:
        """Keep the group's term ``term`` (its lanes' rows) of a reduced symbol's words ``dst``, for the pass to add
        in lane order."""
        self.deferred.append((dst, apply, term))

    def lane_reads(self, tile: int) -> np.ndarray:
        """Each lane's read number (uint64) on ``tile`` at its iteration's start: the pass's first + lane x the reads
        of one iteration (a read's number adds its index among them)."""
        reads = self._lane_reads.get(tile)
        if reads is None:
            reads = self._lane_reads[tile] = np.uint64(self.read_base[tile]) + np.arange(
                self.first, self.first + self.lanes, dtype=np.uint64) * np.uint64(self.trace.tile_reads[tile])
        return reads

    def addresses(self, rec: UnitRecord) -> dict[str, tuple]:
        """``rec.mem`` with every per-lane start cut to this group's lanes."""
        lanes = slice(self.first, self.first + self.lanes)
        return {name: (space, start[lanes] if isinstance(start, np.ndarray) else start, size)
                for name, (space, start, size) in rec.mem.items()}

    def tile(self, index: int):
        view = self.tiles.get(index)
        if view is None:
            tile = self.ctrl.soc.tiles[index]
            view = self.tiles[index] = (tile if self.lanes == self.total and self.first == 0
                                        else GroupTile(tile, self.total, self.first, self.lanes))
        return view


class NumericsPass:
    """Runs each instruction of one lane-parallel loop execution over all its lanes (see the module docstring).

    With more than one thread (:func:`socsim.base.threads.use_threads`) the lanes are cut into contiguous groups, one a
    thread, each running every instruction over its lanes (matrix products and physics kernels release the GIL). A
    lane's numbers are its own whatever the group (every operation acts lane by lane: one BLAS call per lane, noise
    keyed by the lane's read number), and what the lanes share is applied afterwards in lane order: reductions,
    converter counts, the output stage a ``tepi`` latched. So the result does not depend on the thread count."""

    def __init__(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims, issue: np.ndarray | None):
        self.ctrl, self.loop, self.trace, self.claims, self.issue = ctrl, loop, trace, claims, issue
        """``issue`` (lanes, unit records): the cycle each lane issued each unit instruction (None until the timing
        pass has run, when :meth:`compute` runs beside it)."""
        self.lanes = loop.count
        self.arrays = ctrl.soc.memory.arrays
        self.read_base = {t: np.uint64(ctrl.soc.tiles[t].crossbar.stream.reads) for t in trace.tile_reads}
        self.store: list[np.ndarray] = []
        self.fill_store()
        self.groups: list[LaneGroup] = []
        """The lane groups :meth:`compute` ran (their kept terms and converter counts, for :meth:`finish`)."""

    def fill_store(self) -> None:
        """Each lane's copy of the private symbols: NaN where a lane has not written (a word read without being
        proven written would show at once), the words read before written from memory."""
        self.store = []
        for sym, exposed in zip(self.loop.private, self.claims.exposed):
            lanes_copy = np.full((self.lanes, sym.size), np.nan, np.float32)
            lanes_copy[:, exposed] = self.arrays[sym.space][sym.start + exposed]
            self.store.append(lanes_copy)

    def run(self) -> None:
        self.finish(self.compute())

    def compute(self) -> Fault | None:
        """Every instruction over all lanes, in groups, into lane storage and kept terms only (memory and the ledger
        are left to :meth:`finish`, so this may run beside the timing pass, with ``issue`` None); the first fault in
        lane order, if any."""
        groups = [LaneGroup(self, first, n) for first, n in lane_groups(self.lanes, threads_for(self))]
        if len(groups) == 1:
            fault = self.run_group(groups[0])
        else:
            global split_passes
            split_passes += 1
            errors = np.geterr()  # numpy's error state is per thread: the workers take the caller's
            outcomes = list(pool(len(groups)).map(lambda g: _caught(errors, self.run_group, g), groups))
            fault = None
            if any(o is not None for o in outcomes):
                global split_reruns
                split_reruns += 1
                # a fault (or an error): the lanes again as one group, which stops where the sequential pass stops
                # and raises here what is not the program's fault
                self.fill_store()
                groups = [LaneGroup(self, 0, self.lanes)]
                fault = self.run_group(groups[0])
        self.groups = groups
        return fault

    def finish(self, fault: Fault | None) -> None:
        """After :meth:`compute` (and the timing pass, which set ``issue``): record the converter saturations, then
        trap on ``fault``, or add the reductions, latch the output stages and write the lanes' words back."""
        ctrl, groups = self.ctrl, self.groups
        self.record_saturated(groups)
        if fault is not None:
            raise _trap(ctrl, self.issue, fault.rec, fault.kind, fault.detail, fault.lane)
        for group in groups:  # reductions: lane by lane in iteration order, instructions in program order
            for lane in range(group.lanes):
                for dst, apply, term in group.deferred:
                    apply(dst, term[lane:lane + 1])
        self.latch_epilogues(groups)
        last = self.lanes - 1
        for sym, copy, written in zip(self.loop.private, self.store, self.claims.written):
            self.arrays[sym.space][sym.start + written] = copy[last, written]
        for t, per in self.trace.tile_reads.items():
            ctrl.soc.tiles[t].crossbar.stream.reads += self.lanes * per

    def run_group(self, group: LaneGroup) -> Fault | None:
        """Every instruction over ``group``'s lanes; the first fault (lanes numbered in the whole pass), if any."""
        for position, (rec, classes) in enumerate(zip(self.trace.units, self.claims.operands)):
            if rec.op.numerics is None:
                continue
            c = LaneOperands(group, rec, classes, position)
            try:
                rec.op.numerics(c)
            except BadOperand as exc:
                return Fault(rec, TrapKind.BAD_OPERAND, str(exc), group.first)
            if self.ctrl.trap_on_nan and not rec.op.only_moves:
                fault = self.check_finite(rec, c)
                if fault is not None:
                    return fault
        return None

    def record_saturated(self, groups: list[LaneGroup]) -> None:
        """The ledger's count of converter inputs over range, per instruction in program order: lane 0's under the
        first iteration's tags, the other lanes' summed."""
        ledger = self.ctrl.soc.ledger
        for entries in zip(*(g.saturated for g in groups)):
            position = entries[0][0]
            rec = self.trace.units[position]
            per_lane = np.concatenate([counts for _, counts in entries])
            for tags, n in ((rec.tags_first, int(per_lane[0])), (rec.tags, int(per_lane[1:].sum()))):
                if n:
                    ledger.record(self.ctrl.soc.tiles[rec.tile].name, Action.ADC_SATURATED, rec.ins.spec.mnemonic,
                                  *tags, n)

    def latch_epilogues(self, groups: list[LaneGroup]) -> None:
        """The output stage each tile keeps after the loop: the groups' ``tepi`` results, lane rows joined."""
        if len(groups) == 1:
            return
        for index, first in groups[0].tiles.items():
            views = [g.tiles[index] for g in groups]
            if not isinstance(first, GroupTile) or all(v.epilogue is v.initial for v in views):
                continue
            parts = [v.epilogue for v in views]
            fields = []
            for arrays in zip(*(p.arrays() for p in parts)):  # one field's arrays, a group each
                if arrays[0] is None:
                    fields.append(None)
                elif all(a.shape[0] == g.lanes for a, g in zip(arrays, groups)):
                    fields.append(np.concatenate(arrays))
                else:
                    fields.append(arrays[0])
            self.ctrl.soc.tiles[index].epilogue = Epilogue(*fields, parts[0].relu)

    def check_finite(self, rec: UnitRecord, c: LaneOperands) -> Fault | None:
        """The fault if a word the instruction wrote holds NaN or inf in some lane (as the controller checks)."""
        group = c.run
        for name, _, written in rec.op.access:
            o = c.classes[name]
            if written and o.kind == PRIVATE:
                offsets = rec.streams[name] if rec.streams is not None and name in rec.streams else (
                    rec.pattern if name == rec.span else None)
                if offsets is not None:
                    lane = first_nonfinite_at(group.store[o.symbol], o.offset, offsets)
                else:
                    lane = first_nonfinite(group.store[o.symbol], o.offset, rec.mem[name][2])
                if lane >= 0:
                    lane += group.first
                    return Fault(rec, TrapKind.NAN, f"operand {name} holds NaN or inf after {rec.ins.spec.mnemonic} "
                                 f"in iteration {lane} of {self.loop.describe()}", lane)
        return None


split_passes = 0
"""Passes of this process that ran their lanes in more than one group (a count for tests and profiles)."""
split_reruns = 0
"""Split passes of this process whose groups stopped (a fault, or an error) and that ran again as one group: the
work of the split was lost (a count for tests and profiles: a program without faults has none)."""

MIN_GROUP_LANES = 1
"""Fewest lanes a thread's group holds."""
MIN_GROUP_WORDS = 4 << 20
"""Fewest words of lane storage a thread's group holds (16 MiB). Below that an instruction's work over a group is
short next to its Python overhead, and threads that take turns at the interpreter lock make the pass slower (LeNet's
loops: measured, see docs/performance.md)."""


def threads_for(run: NumericsPass) -> int:
    """Threads for a pass: the count in force (one outside :func:`socsim.base.threads.use_threads`), at most one per
    :data:`MIN_GROUP_LANES` lanes and per :data:`MIN_GROUP_WORDS` words of lane storage."""
    words = sum(copy.size for copy in run.store)
    by_size = words // MIN_GROUP_WORDS if MIN_GROUP_WORDS else run.lanes
    return max(1, min(numerics_threads(), run.lanes // MIN_GROUP_LANES, by_size))


def lane_groups(lanes: int, groups: int) -> list[tuple[int, int]]:
    """(first lane, lanes) of ``groups`` contiguous groups as equal as possible, in lane order."""
    base, extra = divmod(lanes, groups)
    out, first = [], 0
    for g in range(groups):
        n = base + (g < extra)
        out.append((first, n))
        first += n
    return out


def _caught(errors: dict, fn, arg) -> "Fault | BaseException | None":
    """``fn(arg)`` in a worker thread under numpy error state ``errors``, one numba thread (the groups are the
    parallelism): the fault it returned or the exception it raised (the caller runs the lanes again as one group,
    which raises that again where it is not the program's fault), else None."""
    try:
        sync_numba(1)
        with np.errstate(**errors):
            return fn(arg)
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller's sequential rerun
        return exc
