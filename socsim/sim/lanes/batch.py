"""Replayed batches: the loop around a lane-parallel loop (a training program's batch loop), its timing replayed.

A training program's batch loop runs the micro-batch's lane-parallel loop (one image per lane) and then the update
(the optimizer, the weights' write-verify). The lane loop's timing replays its iterations after the first
(:mod:`socsim.sim.lanes.timing`), but the first image starts while the previous update's jobs are in flight, and the
update runs one instruction at a time. Where a whole batch repeats, both are skipped: at the batch loop's head the
timing state (:func:`socsim.sim.lanes.replay.snapshot`, the jobs in flight named by how many instructions before the
head they were issued, with their memory regions and the cycles of the programming jobs still queued) is compared with
the head of a recorded batch whose next head had the same state. Then the batch's numerics run first, all of them
(the control instructions, the lane loop's numerics over its lanes, the update's numerics at issue), each with the
issue cycle the recording measured; and when the batch ran the instructions the recording ran, with the same operands
(the lanes' moving operands, the images, touching no region of the update or of the jobs in flight) and the same
programming cycles (the write-verify's trials), the recording's cycles, ledger rows, busy cycles and timeline are
added and the timing state moves one batch on (exact: the simulation would have given the same, since the timing
depends on nothing else). Otherwise the control state goes back to the head and the batch's timing is simulated,
each instruction taking the numerics already computed (``Controller.supplied``): a write-verify whose trials differ
(wu2023), a trap in the numerics (raised when the simulation reaches it, at the cycle it would have), another path.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from isa.program import Instruction
from socsim.base.actions import Action
from socsim.sim.lanes import replay
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.trace import Trace
from socsim.sim.ops import Exec, Op
from socsim.sim.ops.control import CONDITIONS
from socsim.sim.scoreboard import overlaps
from socsim.sim.traps import Trap

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.machine import Machine
    from socsim.sim.memory import Region

LedgerRows = list[tuple[tuple, int]]
"""((component, action, opcode, layer, phase), count) rows of programming actions."""
ENABLED = True
"""Replay batches (off: every batch's timing is simulated, as before; tests compare the two)."""
KEPT = 16
"""Recorded batches kept per batch loop (the oldest is dropped): wu2023's head states vary with the write-verify
cycles still queued, and a recording holds the lane loop's issue cycles."""
GIVE_UP = (8, 8)
"""(ratio, slack): a batch loop whose replays failed more than ratio x the replays that succeeded + slack times is
simulated from then on. A failure costs its bookkeeping (about a millisecond of a LeNet batch), a success saves the
batch's timing (about ten); the naive preset's write-verify never repeats its cycles, wu2023's now and then."""
PROGRAMMING = frozenset({Action.SET_PULSE, Action.RESET_PULSE, Action.VERIFY_READ, Action.CELLS_WRITTEN})
"""The ledger actions of a programming instruction (its report's counts: they depend on the data)."""


class LaneEngine(Protocol):
    """What a replayed batch asks of the fast engine (:class:`socsim.sim.lanes.engine.FastEngine`)."""

    soc: "Machine"
    executions: int
    replayed: int
    batches: dict

    def prepare(self, ctrl: "Controller", loop: LaneLoop) -> tuple | None: ...

    def numerics(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Any, issue: np.ndarray) -> None: ...

    def finish(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, hooks: list | None = None) -> None: ...


@dataclass(frozen=True)
class BatchLoop:
    """The innermost loop around a lane-parallel loop: ``head`` through its closing branch at ``end``."""

    head: int
    end: int
    lanes: LaneLoop
    key: tuple
    """Its instructions (recordings are kept by it across loads of the same program)."""


def batch_loops(code: list[Instruction | None], ops: list[Op | None], loops: dict[int, LaneLoop]) \
        -> dict[int, BatchLoop]:
    """The batch loops of a loaded program: for each lane-parallel loop, the innermost loop around it whose
    instructions outside it are controller or unit instructions (no loads, stores or waits)."""
    out = {}
    for lanes in loops.values():
        if lanes.end < 0:
            continue
        end = next((pc for pc in range(lanes.end + 1, len(code)) if code[pc] is not None
                    and code[pc].spec.mnemonic in CONDITIONS and code[pc].args[2] < lanes.head), -1)  # type: ignore
        if end < 0:
            continue
        head = code[end].args[2]  # type: ignore[union-attr]
        body = [pc for pc in range(head, end + 1) if not lanes.head <= pc <= lanes.end]
        if head in loops or any(other is not lanes and head <= other.head <= end for other in loops.values()) or any(
                code[pc] is None or ops[pc] is None or ops[pc].exec not in (Exec.CONTROL, Exec.UNIT)  # type: ignore
                for pc in body):
            continue
        out[head] = BatchLoop(head, end, lanes, (head, end, tuple(code[pc].text() for pc in range(head, end + 1))))
    return out


@dataclass
class BatchPeriod:
    """One recorded batch from a head to the next head with the same timing state."""

    timing: replay.Period
    """Its cycles and what it added (the ledger without the rows its numerics record: converter saturations and
    programming actions, which depend on the data)."""
    path: list[int]
    """The pcs it fetched (the lane loop's head once)."""
    issues: np.ndarray
    """The issue cycle of each unit instruction outside the lane loop, from its first cycle."""
    operands: list[tuple[dict, dict]]
    """Their field values and memory operands."""
    programs: list[int]
    """The cycles of each programming instruction (wv, pulse)."""
    fingerprint: tuple
    lane_issue: np.ndarray
    """The lane loop's issue cycles (lanes x unit records) from the batch's first cycle."""
    regions: tuple
    """The memory regions of its unit instructions outside the lane loop and of the jobs in flight at its head."""


class Recording:
    """A batch being simulated, recorded as a :class:`BatchPeriod` if the next head has the same state."""

    def __init__(self, loop: BatchLoop, key: tuple, first: replay.Boundary, inflight: tuple):
        self.loop, self.key, self.first = loop, key, first
        self.path: list[int] = []
        self.issues: list[int] = []
        self.operands: list[tuple[dict, dict]] = []
        self.regions: list["Region"] = [r for reads, writes in inflight for r in (*reads, *writes)]
        self.programs: list[int] = []
        self.lane: tuple | None = None
        self.valid = True

    def unit(self, ctrl: "Controller", ins: Instruction, op: Op, at: int, tile: Any, ops: Any, report: Any) -> None:
        """A unit instruction outside the lane loop issued at cycle ``at``."""
        self.issues.append(at)
        self.operands.append((ops.values, ops.mem))
        self.regions.extend((*ops.reads, *ops.writes))
        if report is not None:
            self.programs.append(op.tile_cost(tile, ops.values, report)[0])

    def lanes(self, fingerprint: tuple, issue: np.ndarray, trace: Trace) -> None:
        if self.lane is not None:
            self.valid = False
        self.lane = (fingerprint, issue.copy(), trace)

    def close(self, ctrl: "Controller", positions: int) -> BatchPeriod | None:
        """The period from the recorded head to now (the states are equal), or None if it may not be replayed."""
        soc = ctrl.soc
        if not self.valid or self.lane is None:
            return None
        fingerprint, issue, trace = self.lane
        regions = tuple(self.regions)
        if not clear_of(trace, regions):
            return None
        timing = replay.period(soc, ctrl, self.first, positions, 0, np.zeros(0, np.int64))
        timing.ledger = {k: v for k, v in timing.ledger.items()
                         if k[1] != Action.ADC_SATURATED and k[1] not in PROGRAMMING}
        now = self.first.now
        return BatchPeriod(timing, self.path, np.asarray(self.issues, np.int64) - now, self.operands, self.programs,
                           fingerprint, issue - now, regions)


def program_rows(ins: Instruction, op: Op, tile: Any, values: dict, report: Any, layer: str, phase: str) \
        -> tuple[int, LedgerRows]:
    """A programming instruction's tile cycles and the ledger rows of its actions (as the tile records them when the
    job starts)."""
    cycles, actions = op.tile_cost(tile, values, report)
    return cycles, [((tile.name, action, ins.spec.mnemonic, layer, phase), count) for action, count in actions
                    if count]


def queued_programs(soc) -> list:
    """The programming jobs issued and not started (their tile cost, from their report, is still to come), in the
    order of the units and their queues."""
    return [(u, job) for u in soc.all_units() for job in u.queue if job.report is not None]


def clear_of(trace: Trace, regions: tuple) -> bool:
    """True if no operand that moves from lane to lane (the images) touches one of ``regions``."""
    for rec in trace.units:
        if not rec.varying:
            continue
        for space, start, size in rec.mem.values():
            if isinstance(start, np.ndarray) and overlaps(
                    ((int(space), int(start.min()), int(start.max()) + size),), regions):
                return False
    return True


class BatchReplay:
    """The fast engine's replayed batches: recordings by batch loop and head state."""

    def __init__(self, engine: LaneEngine):
        self.engine = engine
        self.memo: dict[tuple, dict[tuple, BatchPeriod]] = {}
        """Recorded batches by batch loop and head state (kept across runs of the SoC)."""
        self.recording: Recording | None = None
        self.count = 0
        """Batch heads reached (their ids)."""
        self.replayed = 0
        """Batches whose timing was replayed (all runs of this SoC)."""
        self.simulated = 0
        """Batches whose numerics ran first and whose timing was then simulated after all (a write-verify's trials,
        the operands or the path differed from the recording's, or the numerics trapped)."""
        self.tries: dict[tuple, list[int]] = {}
        """Per batch loop: [replays that succeeded, replays that failed]."""

    def start(self) -> None:
        self.recording = None

    def at_head(self, ctrl: "Controller", loop: BatchLoop) -> int:
        """At the head of ``loop``: replay the batch (returns the pc after it) or simulate it (returns -1)."""
        soc = self.engine.soc
        rec, self.recording, ctrl.recorder = self.recording, None, None
        tries = self.tries.setdefault(loop.key, [0, 0])
        if not ENABLED or soc.profile is not None or tries[1] > GIVE_UP[0] * tries[0] + GIVE_UP[1]:
            return -1
        if ctrl.supplied is not None:
            raise RuntimeError("a batch's supplied numerics were not all used")
        prev, before = ctrl.batch_origin, 0
        if prev is not None:
            before = ctrl.executed - prev[1]
        state = replay.snapshot(soc, ctrl, prev[0] if prev is not None else None, before, 0)
        key = None
        if state is not None:
            inflight = tuple((e.reads, e.writes) for e in soc.scoreboard.live())
            programs = tuple(job.op.tile_cost(u, job.ops.values, job.report)[0] for u, job in queued_programs(soc))
            key = (state, inflight, programs)
            if rec is not None and rec.loop is loop and key == rec.key:
                period = rec.close(ctrl, before)
                if period is not None:
                    kept = self.memo.setdefault(loop.key, {})
                    kept[key] = period
                    if len(kept) > KEPT:
                        del kept[next(iter(kept))]
        self.count += 1
        ctrl.batch_origin = (("batch", self.count), ctrl.executed)
        if key is None:
            return -1
        period = self.memo.get(loop.key, {}).get(key)
        if period is not None and soc.deadline is None and \
                soc.env.now + ctrl.lag + period.timing.cycles <= ctrl.limit:
            after = self.replay(ctrl, loop, period, before)
            tries[after < 0] += 1
            if after >= 0:
                return after
            if loop.head not in self.engine.batches:  # its lane loop broke its claim: it runs one instruction at a time
                return -1
        self.recording = ctrl.recorder = Recording(loop, key, replay.boundary(soc, ctrl, 0, 0), key[1])
        return -1

    def lanes_supplied(self, ctrl: "Controller", loop: LaneLoop):
        """None, or (the lane loop's numerics ran first) what to call once its timing pass is done."""
        supplied = ctrl.supplied
        if supplied is None:
            return None
        kind, pc, trap, _ = supplied.popleft()
        if not supplied:
            ctrl.supplied = None
        if pc != loop.head or kind not in ("lanes", "lanetrap"):
            raise RuntimeError(f"replayed batch: the lane loop at pc {loop.head} ran, the numerics ran {kind} at "
                               f"pc {pc}")
        if kind == "lanes":
            return lambda: None

        def raise_trap() -> None:
            raise Trap(trap.kind, trap.detail, trap.pc, trap.instruction, trap.cycle, ctrl.soc.unit_states())
        return raise_trap

    def replay(self, ctrl: "Controller", loop: BatchLoop, period: BatchPeriod, before: int) -> int:
        """Run the batch's numerics with the recorded issue cycles, then add the recorded timing (returns the pc
        after the batch) or, where the batch differs from the recording, leave its timing to the simulation (-1)."""
        soc = ctrl.soc
        saved = SavedControl(ctrl, self.engine)
        products: deque = deque()
        hooks: list[int] = []
        rows: dict[int, LedgerRows] = {}
        operands: dict[int, Any] = {}
        queued = queued_programs(soc)
        try:
            after = self.numerics(ctrl, loop, period, products, hooks, rows, operands)
        except Trap:  # a controller instruction's: the simulation meets it again
            after = -1
        if after < 0:
            saved.restore(ctrl)
            ctrl.supplied = products or None
            self.simulated += 1
            return -1
        saved.restore(ctrl, numerics_only=True)
        replay.add(soc, ctrl, period.timing, 1)
        positions = period.timing.positions
        # programming actions: the queued jobs' now start, this batch's start but for those that will be queued then
        ending = set()
        for u, job in queued:
            ending.add(positions - (before - job.origin[1]))
            rows.setdefault(-1, []).extend(program_rows(job.ins, job.op, u, job.ops.values, job.report, job.layer,
                                                        job.phase)[1])
        ledger = soc.ledger
        for position, more in rows.items():
            if position not in ending:
                for key, count in more:
                    ledger.record(*key, count)
        new = ctrl.batch_origin[0]  # type: ignore[index]

        def rename(job) -> None:
            position = positions - (before - job.origin[1])
            job.origin = (new, position)
            job.ops, job.report = operands[position]
        replay.move(soc, period.timing.cycles, rename)
        if after != loop.head:  # the last batch: its closing branch is not taken
            penalty = ctrl.taken_cycles - ctrl.alu_cycles
            ctrl.lag -= penalty
            ctrl.busy_cycles -= penalty
            ctrl.stats[(soc.code[loop.end].spec.mnemonic, ctrl.layer, ctrl.phase)][1] -= penalty  # type: ignore
        for pc in hooks:
            soc.hooks[pc]()
        self.replayed += 1
        return after

    def numerics(self, ctrl: "Controller", loop: BatchLoop, period: BatchPeriod, products: deque, hooks: list[int],
                 rows: dict[int, LedgerRows], operands: dict[int, Any]) -> int:
        """The batch's numerics, from its head through its closing branch, each unit instruction at its recorded
        issue cycle; returns the pc after the batch, or -1 at the first difference from the recording (``products``
        then holds what ran, for the simulation)."""
        soc, engine = ctrl.soc, self.engine
        code, ops, soc_hooks = soc.code, soc.ops, soc.hooks
        base, start = soc.env.now, ctrl.executed
        lanes = loop.lanes
        path = period.path
        unit = program = 0
        pc = loop.head
        for step in range(len(path)):
            if pc != path[step]:
                return -1
            if step and soc_hooks and pc in soc_hooks:
                hooks.append(pc)
            ctrl.pc = pc
            if pc == lanes.head:
                prepared = engine.prepare(ctrl, lanes)
                if prepared is None:
                    return -1
                trace, fingerprint, claims, _ = prepared
                if fingerprint != period.fingerprint or not clear_of(trace, period.regions):
                    return -1
                if not lanes_first(ctrl, engine, lanes, trace, claims, period.lane_issue + base, products, hooks):
                    return -1
                pc = lanes.end + 1
                continue
            ins, op = code[pc], ops[pc]
            ctrl.executed += 1
            if op.exec is Exec.CONTROL:  # type: ignore[union-attr]
                after = op.control(ctrl, ins.args, pc)  # type: ignore[union-attr]
                if pc == loop.end:
                    return after if step == len(path) - 1 and unit == len(period.issues) \
                        and program == len(period.programs) else -1
                pc = after
                continue
            if unit == len(period.issues):
                return -1
            issued = unit_first(ctrl, ins, op, pc, base + int(period.issues[unit]), period.operands[unit], products)
            if issued is None:
                return -1
            resolved, tile, report = issued
            position = ctrl.executed - start
            operands[position] = (resolved, report)
            unit += 1
            if report is not None:
                cycles, rows[position] = program_rows(ins, op, tile, resolved.values, report,  # type: ignore[arg-type]
                                                      ctrl.layer, ctrl.phase)
                if program == len(period.programs) or cycles != period.programs[program]:
                    return -1
                program += 1
            pc += 1
        return -1


def unit_first(ctrl: "Controller", ins: Instruction, op: Op, pc: int, at: int, recorded: tuple[dict, dict],
               products: deque) -> tuple | None:
    """A unit instruction's numerics ahead of its timing (in a replayed batch or run), as issued at cycle ``at``: its
    (operands, tile, programming report), or None if it trapped or its operands differ from the ``recorded`` (field
    values, memory operands); ``products`` gets what ran, for the simulation."""
    try:
        resolved, tile, report = ctrl.execute(ins, op, pc, at)
    except Trap as trap:
        products.append(("trap", pc, trap, None))
        return None
    products.append(("unit", pc, report, resolved))
    if (resolved.values, resolved.mem) != recorded:
        return None
    return resolved, tile, report


def lanes_first(ctrl: "Controller", engine: LaneEngine, lanes: LaneLoop, trace: Trace, claims: Any, issue: np.ndarray,
                products: deque, hooks: list[int]) -> bool:
    """A lane loop's numerics ahead of its timing (in a replayed batch or run), its lanes at the issue cycles ``issue``
    (lanes x unit records), then the state it leaves; False if they trapped (``products`` then ends with the trap)."""
    engine.executions += 1
    try:
        if not ctrl.soc.timing_only:
            engine.numerics(ctrl, lanes, trace, claims, issue)
    except Trap as trap:
        products.append(("lanetrap", lanes.head, trap, None))
        return False
    products.append(("lanes", lanes.head, None, None))
    engine.replayed += lanes.count
    ctrl.executed += lanes.count * len(trace.records)
    engine.finish(ctrl, lanes, trace, hooks)
    return True


class SavedControl:
    """The controller's and tiles' state at a batch head or a run's start (to go back to when it is simulated)."""

    def __init__(self, ctrl: "Controller", engine: LaneEngine):
        soc = ctrl.soc
        self.regs, self.agen, self.hyper = list(ctrl.regs), list(ctrl.agen), dict(ctrl.hyper)
        self.tags, self.pc = (ctrl.layer, ctrl.phase), ctrl.pc
        self.lag, self.busy, self.executed = ctrl.lag, ctrl.busy_cycles, ctrl.executed
        self.stats = {k: list(v) for k, v in ctrl.stats.items()}
        self.tiles = [(t.block, t.configured, t.programmed, dict(t.streams)) for t in soc.tiles]
        self.engine, self.counters = engine, (engine.executions, engine.replayed)

    def restore(self, ctrl: "Controller", numerics_only: bool = False) -> None:
        """Back to the head; ``numerics_only``: only the timing counters (the batch's architectural state stays)."""
        ctrl.lag, ctrl.busy_cycles, ctrl.executed = self.lag, self.busy, self.executed
        ctrl.stats.clear()
        ctrl.stats.update((k, list(v)) for k, v in self.stats.items())
        if numerics_only:
            return
        soc = ctrl.soc
        ctrl.regs[:] = self.regs
        ctrl.agen[:] = self.agen
        ctrl.hyper.clear()
        ctrl.hyper.update(self.hyper)
        ctrl.layer, ctrl.phase = self.tags
        ctrl.pc = self.pc
        for t, (block, configured, programmed, streams) in zip(soc.tiles, self.tiles):
            t.block, t.configured, t.programmed, t.streams = block, configured, programmed, streams
        self.engine.executions, self.engine.replayed = self.counters
