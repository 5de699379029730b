"""The controller: in-order fetch, look up the instruction's op, call it.

Scalar instructions advance a local cycle count (``lag``) and touch the SimPy clock only when the
controller interacts with another unit, which keeps the event count per instruction O(1) and the
timing exact. Every unit instruction's numerics run at issue, in program order (functional-first);
the fast engine runs a lane-parallel loop's iterations together (socsim.sim.lanes).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Generator, Protocol

import numpy as np
import simpy

from isa.program import BadOperand, Instruction
from isa.spec import Hyper, Phase, Unit, WaitUnit
from socsim.base.actions import Action
from socsim.sim.finite import nonfinite_operand
from socsim.sim.issue import Problem, check_buffer, check_tile, check_weights, resolve
from socsim.sim.operands import Plan, Resolved
from socsim.sim.ops import (
    PATTERN_LEVELS,
    Exec,
    Op,
    TileOperands,
    TimingOnly,
    block_values,
    configure,
    stream_env,
)
from socsim.sim.timing_only import nominal_report
from socsim.sim.traps import Trap, TrapKind
from socsim.sim.unit import Completion, Job, wait_for
from socsim.sim.unit import Unit as SimUnit

CONTROL, UNIT = Exec.CONTROL, Exec.UNIT

if TYPE_CHECKING:
    from socsim.sim.machine import Machine
    from socsim.sim.tile import Tile

WATCH_CYCLES = 1 << 14
"""With a wall-clock deadline, the controller looks at the host clock whenever this many more cycles passed
(every loop iteration costs at least one cycle, so a runaway loop is seen within ~0.1 s)."""
DEFAULT_HYPER = {Hyper.LR: 1e-3, Hyper.BETA1: 0.9, Hyper.BETA2: 0.999, Hyper.EPS: 1e-8, Hyper.WD: 0.0,
                 Hyper.MOMENTUM: 0.0}


class SeqOperands(TileOperands):
    """One instruction's operands as numerics see them in the sequential engine: one lane, in memory."""

    lanes = 1

    def __init__(self, ops: Resolved, arrays: dict, ctrl: "Controller", mnemonic: str, tile: "Tile | None",
                 t_s: float):
        self.ops, self.arrays, self.ctrl, self.mnemonic = ops, arrays, ctrl, mnemonic
        self.v, self.pattern, self.hyper, self.regs = ops.values, ops.pattern, ctrl.hyper, ctrl.regs
        self.streams = ops.streams
        self.tile, self.t_s = tile, t_s  # type: ignore[assignment]

    def a(self, name: str) -> np.ndarray:
        space, start, size = self.ops.mem[name]
        return self.arrays[space][start:start + size][None]

    def same(self, first: str, second: str) -> bool:
        return self.ops.mem[first] == self.ops.mem[second]

    def read_draws(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([self.t_s]), self.tile.crossbar.stream.next_read()

    def program_time(self) -> float:
        return self.t_s

    def count_saturated(self, per_lane: np.ndarray) -> None:
        c, n = self.ctrl, int(per_lane.sum())
        if n:
            c.soc.ledger.record(self.tile.name, Action.ADC_SATURATED, self.mnemonic, c.layer, c.phase, n)


class LoopEngine(Protocol):
    """What the controller asks of its engine (:mod:`socsim.sim.engines`): the lane-parallel loops it runs."""

    loops: dict[int, Any]
    """The loops it runs, by the pc of their first instruction."""
    batches: dict[int, Any]
    """The batch loops it replays, by the pc of their head."""

    def run_loop(self, ctrl: Controller, loop: Any) -> Generator:
        """Run ``loop`` from its first instruction; returns the pc after it."""
        ...

    def run_batch(self, ctrl: Controller, batch: Any) -> int:
        """At the head of ``batch``: replay it (returns the pc after it) or -1 (the controller runs it)."""
        ...


class Controller:
    """Architectural state (registers, address generator, tags) and the fetch / look up / call loop."""

    def __init__(self, soc: "Machine", engine: LoopEngine):
        self.soc = soc
        self.engine = engine
        self.regs: list[Any] = [0] * 32
        self.hyper = {int(k): v for k, v in DEFAULT_HYPER.items()}
        self.agen: list[tuple[int, int]] = [(1, 0)] * PATTERN_LEVELS
        self.layer, self.phase = "-", Phase.OTHER.name.lower()
        self.pc = 0
        self.lag = 0
        ctrl = soc.cfg.controller
        self.trap_on_nan, self.queue_depth, self.issue_cycles = (ctrl.trap_on_nan, ctrl.unit_queue_depth,
                                                                 ctrl.issue_cycles)
        self.alu_cycles = ctrl.alu_cycles
        self.taken_cycles = ctrl.alu_cycles + ctrl.branch_taken_penalty_cycles
        self.executed = 0
        self.busy_cycles = 0
        self.stats: dict[tuple[str, str, str], list[int]] = {}
        self.waiting_on = ""
        self.stalled_on = ""
        """What the controller last waited on (for the profile's stall reasons)."""
        self.halted = False
        self.semaphores: dict[int, simpy.Container] = {}
        self.batch_origin: tuple | None = None
        """(batch id, instructions executed before its head) of the batch loop iteration running now (the fast engine's
        replayed batches, :mod:`socsim.sim.lanes.batch`): the origin of the jobs the controller issues itself."""
        self.recorder: Any = None
        """The batch or run being recorded for a later replay (:class:`socsim.sim.lanes.batch.Recording`,
        :class:`socsim.sim.lanes.runs.RunRecording`), or None."""
        self.supplied: Any = None
        """What a replayed batch's or run's numerics already computed, in issue order (a deque), while its timing is
        simulated after all (:mod:`socsim.sim.lanes.batch`, :mod:`socsim.sim.lanes.runs`); None: every instruction runs
        its numerics at issue."""

    # the state controller operations act on (socsim.sim.ops.base.ControlState) -------------------------
    def set_reg(self, rd: int, value: int) -> None:
        self.regs[rd] = value

    def count(self, mnemonic: str, cycles: int) -> None:
        """One executed controller instruction of ``cycles`` (stats per mnemonic, layer and phase)."""
        key = (mnemonic, self.layer, self.phase)
        row = self.stats.get(key)
        if row is None:
            self.stats[key] = [1, cycles]
        else:
            row[0] += 1
            row[1] += cycles
        self.lag += cycles
        self.busy_cycles += cycles

    def branch(self, taken: bool, target: int, pc: int, mnemonic: str) -> int:
        if taken:
            self.count(mnemonic, self.taken_cycles)
            return target
        self.count(mnemonic, self.alu_cycles)
        return pc + 1

    def jump(self, target: int, pc: int, mnemonic: str) -> int:
        self.count(mnemonic, self.taken_cycles)
        return target

    def tag(self, layer: int, phase: int) -> None:
        self.layer = self.soc.program.layers.get(layer, str(layer)) if layer else "-"
        self.phase = Phase(phase).name.lower()

    # helpers ----------------------------------------------------------------------------------------
    def trap(self, kind: TrapKind, detail: str, ins: Instruction | None = None) -> Trap:
        return Trap(kind, detail, self.pc, ins.text() if ins else "", self.soc.env.now + self.lag,
                    self.soc.unit_states())

    def check_budget(self, ins: Instruction) -> None:
        """Trap past ``controller.max_cycles`` or the host deadline (:attr:`Machine.deadline`); the run loop calls
        this when the cycle count passes :attr:`poll`, so the host clock is read every WATCH_CYCLES at most."""
        soc, now = self.soc, self.soc.env.now + self.lag
        if now > self.limit:
            raise self.trap(TrapKind.TIMEOUT, f"more than controller.max_cycles = {soc.cfg.controller.max_cycles} "
                                              "in this run", ins)
        if soc.deadline is not None and time.monotonic() > soc.deadline:
            raise self.trap(TrapKind.WALL_CLOCK, "the wall-clock deadline passed", ins)
        self.poll = min(self.limit, now + WATCH_CYCLES)

    def sync(self) -> Generator:
        """Bring the SimPy clock up to the controller's local time."""
        if self.lag:
            yield self.soc.env.timeout(self.lag)
            self.lag = 0

    def flush_stats(self) -> None:
        for (mn, layer, phase), (n, cycles) in self.stats.items():
            self.soc.ledger.record("controller", Action.CTRL_INSTR, mn, layer, phase, n, cycles)
        self.stats.clear()

    def semaphore(self, tag: int) -> simpy.Container:
        if tag not in self.semaphores:
            self.semaphores[tag] = simpy.Container(self.soc.env)
        return self.semaphores[tag]

    # main loop: fetch, look up, call ------------------------------------------------------------------
    def run(self) -> Generator:
        soc = self.soc
        code, ops = soc.code, soc.ops
        hooks, env, engine = soc.hooks, soc.env, self.engine
        loops = engine.loops
        batches = engine.batches
        n_code = len(code)
        self.limit = env.now + soc.cfg.controller.max_cycles  # a budget per run: the clock may be far along (drift)
        self.poll = self.limit if soc.deadline is None else min(self.limit, env.now + WATCH_CYCLES)
        now = env.now  # the SimPy clock moves only while this generator waits (yield from below)
        pc = 0
        profile = soc.profile
        last = None  # with a profile: (pc, clock, busy cycles) when the previous instruction started
        while not self.halted:
            if profile is not None:
                if last is not None:
                    self.profile_step(profile, last)
                last, self.stalled_on = (pc, env.now + self.lag, self.busy_cycles, self.layer, self.phase), ""
            self.pc = pc
            if hooks and pc in hooks:
                hooks[pc]()
            if not 0 <= pc < n_code:
                raise self.trap(TrapKind.ILLEGAL_INSTRUCTION,
                                f"pc {pc} is outside the program (0 .. {n_code - 1}); missing halt?")
            ins = code[pc]
            if ins is None:
                raise self.trap(TrapKind.ILLEGAL_INSTRUCTION, soc.decode_error or "undecodable instruction")
            if now + self.lag > self.poll:
                self.check_budget(ins)
            if pc in batches:
                after = engine.run_batch(self, batches[pc])
                if after >= 0:
                    pc, now = after, env.now
                    continue
            if self.recorder is not None:
                self.recorder.path.append(pc)
            if pc in loops:
                after = yield from engine.run_loop(self, loops[pc])
                if after >= 0:
                    pc, now = after, env.now
                    continue
            self.executed += 1
            op = ops[pc]
            if op.exec is CONTROL:
                pc = op.control(self, ins.args, pc)
                continue
            if op.exec is UNIT:
                yield from self.issue(ins, op, pc)
            else:
                yield from op.waits(self, ins, pc)
            now = env.now
            pc += 1
        if profile is not None and last is not None:
            self.profile_step(profile, last)

    def profile_step(self, profile: Any, last: tuple) -> None:
        """Tell the profile what the instruction that started at ``last`` (pc, cycle, busy cycles, layer, phase)
        took, now that the next one starts."""
        pc, start, busy, layer, phase = last
        ins = self.soc.code[pc] if 0 <= pc < len(self.soc.code) else None
        profile.step(pc, self.soc.env.now + self.lag - start, self.busy_cycles - busy, self.stalled_on, start,
                     ins.spec.mnemonic if ins is not None else "", (layer, phase))

    # waiting on units ---------------------------------------------------------------------------------
    def units_of(self, kind: WaitUnit, index: int, ins: Instruction) -> list[SimUnit]:
        soc = self.soc
        if kind is WaitUnit.TILE:
            if index >= len(soc.tiles):
                raise self.trap(TrapKind.ILLEGAL_INSTRUCTION,
                                f"tile {index} does not exist (tiles.count = {len(soc.tiles)})", ins)
            return [soc.tiles[index]]
        return list(soc.dma) if kind is WaitUnit.DMA else [soc.du]

    def wait_all(self, ins: Instruction, units: list[SimUnit] | None = None) -> Generator:
        events = [u.last_done for u in (units if units is not None else self.soc.all_units())
                  if u.last_done is not None and not u.last_done.triggered]
        if events:
            yield from self.sync()
            self.waiting_on = f"units to finish ({ins.spec.mnemonic} at pc {self.pc})"
            self.stalled_on = f"{ins.spec.mnemonic}: units to finish"
            yield wait_for(self.soc.env, events)
            self.waiting_on = ""

    # unit instructions ------------------------------------------------------------------------------------
    def resolve(self, p: Plan, env: dict[str, int], pattern=None, offsets: bool = True, streams=None) -> Resolved:
        try:
            return resolve(p, self.regs, self.soc.memory, env, pattern, offsets, streams)
        except Problem as problem:
            raise self.trap(problem.kind, problem.detail, self.soc.code[self.pc]) from None

    def tile_of(self, ins: Instruction, op: Op) -> "Tile":
        """The tile a CIM instruction names, checked; ``tcfg`` sets its block here, at issue, ``tpat`` and ``tepi``
        its stream state."""
        soc = self.soc
        args = ins.args
        try:
            check_tile(op, args, soc.cfg)
        except Problem as problem:
            raise self.trap(problem.kind, problem.detail, ins) from None
        tile = soc.tiles[args[0]]
        if op.configures_block:
            block = configure(soc.cfg.tiles, args)
            if isinstance(block, str):
                raise self.trap(TrapKind.OUT_OF_RANGE, block, ins)
            tile.block = block
            tile.configured = True
        elif op.programs:
            tile.programmed = True
        elif op.configures_stream is not None:
            op.configures_stream(tile.streams, args, self.agen)
        return tile

    def issue(self, ins: Instruction, op: Op, pc: int) -> Generator:
        """Resolve operands, run the numerics (functional-first), then hand the job to its unit."""
        at = self.soc.env.now + self.lag
        if self.supplied is not None:  # a replayed batch's or run's numerics ran already: the timing only
            kind, supplied_pc, report, ops = self.supplied.popleft()
            if not self.supplied:
                self.supplied = None
            if supplied_pc != pc or kind not in ("unit", "trap"):
                raise RuntimeError(f"replayed numerics: pc {pc} issued, the numerics ran {kind} at pc {supplied_pc}")
            tile = self.tile_of(ins, op) if ins.spec.unit is Unit.TILE else None  # its tile's state, as at issue
            if kind == "trap":
                raise self.trap(report.kind, report.detail, ins)
        else:
            ops, tile, report = self.execute(ins, op, pc, at)
        if self.recorder is not None:
            self.recorder.unit(self, ins, op, at, tile, ops, report)
        unit = tile if tile is not None else (yield from self.unit_for(ins))
        origin = None if self.batch_origin is None else (self.batch_origin[0], self.executed - self.batch_origin[1])
        yield from self.submit(ins, op, pc, ops, unit, report, origin)

    def execute(self, ins: Instruction, op: Op, pc: int, at: int) -> tuple[Resolved, "Tile | None", Any]:
        """A unit instruction's issue-time work (its tile's state, operands, checks, numerics as of cycle ``at``):
        (its operands, its tile or None, its programming report or None). Traps as the instruction would."""
        soc = self.soc
        numerics = not soc.timing_only or op.timing_only is TimingOnly.EXECUTE
        tile = None
        if ins.spec.unit is Unit.TILE:
            tile = self.tile_of(ins, op)
            p = soc.plans[pc]
            if op.streamed:
                ops = self.resolve(p, {**block_values(tile.block), **stream_env(tile.streams)}, offsets=numerics,
                                   streams=tile.streams)
            else:
                ops = self.resolve(p, block_values(tile.block))
            try:
                check_buffer(op, ins.args[0], ops.mem)
                check_weights(op, ins.args, tile.configured, tile.programmed)
            except Problem as problem:
                raise self.trap(problem.kind, problem.detail, ins) from None
        else:
            pattern = tuple(self.agen) if soc.plans[pc].patterned else None
            ops = self.resolve(soc.plans[pc], {}, pattern, offsets=numerics)
        report = None
        if numerics and op.numerics is not None:
            c = SeqOperands(ops, soc.memory.arrays, self, ins.spec.mnemonic, tile, at / soc.cfg.clock_hz)
            try:
                op.numerics(c)  # floating-point errors are ignored for the whole run (Soc.run): NaN traps below
            except BadOperand as exc:  # what the program did wrong; anything else is a bug and propagates
                raise self.trap(TrapKind.BAD_OPERAND, str(exc), ins) from None
            report = c.report
            if self.trap_on_nan and not op.only_moves:
                self.check_finite(ins, op, ops)
        elif op.timing_only is TimingOnly.NOMINAL:
            report = nominal_report(ins.spec.mnemonic, ops.values["ROWS"], ops.values["COLS"])
        ops.pattern = ops.streams = None  # the units time the words, not their offsets: let the job not hold them
        return ops, tile, report

    def check_finite(self, ins: Instruction, op: Op, ops: Resolved) -> None:
        """Trap if a word the instruction wrote holds NaN or inf."""
        name = nonfinite_operand(self.soc.memory.arrays, op.access, ops.mem, self.soc.plans[self.pc].span, ops.pattern,
                                 ops.streams)
        if name:
            raise self.trap(TrapKind.NAN, f"operand {name} holds NaN or inf after {ins.spec.mnemonic}", ins)

    def unit_for(self, ins: Instruction) -> Generator:
        """The digital unit, or the DMA channel with the fewest transfers (observed at the issue cycle)."""
        soc = self.soc
        if ins.spec.unit is Unit.DU:
            return soc.du
        if soc.dma[0].load():  # the choice needs the channels as of now
            yield from self.sync()
        return soc.pick_dma()

    def submit(self, ins: Instruction, op: Op, pc: int, ops: Resolved, unit: SimUnit, report=None,
               origin=None) -> Generator:
        """Issue a resolved instruction to ``unit``: its dependences, issue cycles, queue room, the job."""
        soc = self.soc
        deps = soc.scoreboard.dependencies(ops.reads, ops.writes)
        late: tuple[Completion, ...] = ()
        if op.late_reads and deps:
            deps, late = soc.scoreboard.split_late(deps, ops, op.late_reads)
        self.count(ins.spec.mnemonic, self.issue_cycles)
        # the controller runs ahead of the SimPy clock by ``lag``: it syncs only to observe a unit's queue
        if len(unit.queue) >= self.queue_depth:
            yield from self.sync()
            while len(unit.queue) >= self.queue_depth:
                self.waiting_on = f"{unit.name} queue (pc {pc})"
                self.stalled_on = f"{unit.name} queue full"
                yield unit.room()
            self.waiting_on = ""
        env = soc.env
        job = Job(ins, op, pc, ops, self.layer, self.phase, deps, env.now + self.lag, Completion(env), report,
                  origin, late)
        soc.scoreboard.add(ops.reads, ops.writes, job.done, job)
        unit.submit(job)
