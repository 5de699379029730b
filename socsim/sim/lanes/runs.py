"""Replayed runs: a whole run of a program that starts and ends with the chip idle, its timing replayed.

A program run again and again from an idle chip (the calibrate program after every stretch of training batches, the
evaluation after every epoch) is a period of its own: nothing is in flight at its start or its end, so what it adds
to the timing state (cycles, ledger rows, busy cycles, controller counts, timeline rows) can be added again without
renaming or making any job. Where the run's timing state at the start repeats a recorded run's (every unit idle, the
same relative state of the bus and ports) the run's numerics all run first, at the recorded issue cycles: the
controller's instructions, every lane-parallel loop's numerics over its lanes, every unit instruction's. When the run
fetched the pcs the recording fetched, with the same operands, and each lane loop had the same iteration fingerprint
and the same lane-varying addresses, the recording's timing is added: the simulation would have given the same,
since the timing depends on nothing else. Otherwise the controller starts the run again and its timing is simulated,
each instruction taking the numerics already computed (``Controller.supplied``, as a replayed batch's fallback): a
trap in the numerics surfaces at the cycle the simulation reaches it.

Only programs whose timing cannot depend on the data take part: controller and unit instructions and ``halt``, no
programming (``wv``, ``pulse``: their trials depend on the data), no loads, stores or synchronisation. While a run
is recorded or replayed its batch loops are not replayed (:mod:`socsim.sim.lanes.batch`): the run is the period.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from isa.program import Instruction
from socsim.base.actions import Action
from socsim.sim.lanes import replay
from socsim.sim.lanes.batch import PROGRAMMING, LaneEngine, SavedControl, lanes_first, unit_first
from socsim.sim.lanes.trace import Trace
from socsim.sim.ops import Exec, Op
from socsim.sim.traps import Trap

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.machine import Machine

ENABLED = True
"""Replay whole runs (off: every run's timing is simulated; tests compare the two)."""


def idle_state(soc: "Machine") -> tuple | None:
    """The timing state of an idle chip (when the bus and SRAM ports are next free, relative to now: a run's future
    timing depends on nothing else then), or None if anything is in flight: a job in a unit or on the scoreboard, or a
    pending event other than a finished process's (the previous run's controller)."""
    if soc.fabric.priority_bus is not None or soc.scoreboard.live():
        return None
    if any(u.current is not None or u.queue for u in soc.all_units()):
        return None
    if any(not isinstance(ev, simpy.Process) or ev.is_alive for _t, _p, _o, ev in soc.env.pending()):
        return None
    return soc.fabric.timing_state(soc.env.now)


def varying_addresses(trace: Trace) -> tuple:
    """The lane-varying operands' addresses of a lane loop's trace: (record position, operand, space, starts, words)."""
    out = []
    for position, rec in enumerate(trace.units):
        if rec.varying:
            for name, (space, start, size) in rec.mem.items():
                if isinstance(start, np.ndarray):
                    out.append((position, name, int(space), start.tobytes(), size))
    return tuple(out)


def replayable_program(code: list[Instruction | None], ops: list[Op | None]) -> bool:
    """Whether runs of this program may be replayed: controller and unit instructions and ``halt`` only, and none that
    programs a tile (see the module docstring)."""
    for ins, op in zip(code, ops):
        if ins is None or op is None:
            return False
        if op.exec is Exec.SYNC and ins.spec.mnemonic == "halt":
            continue
        if op.exec not in (Exec.CONTROL, Exec.UNIT) or op.programs:
            return False
    return True


@dataclass
class RunPeriod:
    """A recorded run from its first cycle to its halt."""

    timing: replay.Period
    """Its cycles and what it added (the ledger without the converter saturations, which depend on the data)."""
    path: list[int]
    """The pcs it fetched (a lane loop's head once)."""
    issues: np.ndarray
    """The issue cycle of each unit instruction outside the lane loops, from the run's first cycle."""
    operands: list[tuple[dict, dict]]
    """Their field values and memory operands."""
    lanes: list[tuple[tuple, tuple, np.ndarray]]
    """Each lane loop execution in order: its fingerprint, its lane-varying addresses, its issue cycles (lanes x unit
    records) from the run's first cycle."""


class RunRecording:
    """A run being simulated, recorded as a :class:`RunPeriod` if it ends with the chip idle."""

    def __init__(self, key: tuple, first: replay.Boundary):
        self.key, self.first = key, first
        self.path: list[int] = []
        self.issues: list[int] = []
        self.operands: list[tuple[dict, dict]] = []
        self.lane_loops: list[tuple[tuple, tuple, np.ndarray]] = []

    def unit(self, ctrl: "Controller", ins: Instruction, op: Op, at: int, tile: Any, ops: Any, report: Any) -> None:
        """A unit instruction outside the lane loops issued at cycle ``at``."""
        self.issues.append(at)
        self.operands.append((ops.values, ops.mem))

    def lanes(self, fingerprint: tuple, issue: np.ndarray, trace: Trace) -> None:
        self.lane_loops.append((fingerprint, varying_addresses(trace), issue - self.first.now))

    def close(self, ctrl: "Controller") -> RunPeriod | None:
        """The period of the run now at its end, or None when something is still in flight."""
        soc = ctrl.soc
        if idle_state(soc) is None:
            return None
        timing = replay.period(soc, ctrl, self.first, 0, 0, np.zeros(0, np.int64))
        timing.ledger = {k: v for k, v in timing.ledger.items()
                         if k[1] != Action.ADC_SATURATED and k[1] not in PROGRAMMING}
        return RunPeriod(timing, self.path, np.asarray(self.issues, np.int64) - self.first.now, self.operands,
                         self.lane_loops)


class RunReplay:
    """The fast engine's replayed runs: recordings by program and start state."""

    def __init__(self, engine: LaneEngine):
        self.engine = engine
        self.memo: dict[tuple, RunPeriod] = {}
        """Recorded runs by (program, start state), kept across runs of the SoC."""
        self.program: tuple | None = None
        """The loaded program's instruction texts, when its runs may be replayed (None: they may not)."""
        self._code: list | None = None
        """The decoded program :attr:`program` was made from."""
        self.recording: RunRecording | None = None
        self.active = False
        """A run is being recorded or replayed (its batch loops are then not replayed)."""
        self.replayed = 0
        """Runs whose timing was replayed."""
        self.simulated = 0
        """Runs whose numerics ran first and whose timing was then simulated after all (a trap, or a difference)."""

    def load(self, code: list[Instruction | None], ops: list[Op | None]) -> None:
        if code is self._code:  # the same decoded program again (Soc.load_image keeps it): its key stands
            return
        self._code = code
        self.program = tuple(ins.text() for ins in code) if replayable_program(code, ops) else None  # type: ignore

    def start(self, ctrl: "Controller") -> bool:
        """At a run's start: replay it (True: its numerics ran and its timing was added) or leave it to the
        simulation (False), recording it when it may be replayed later."""
        soc = ctrl.soc
        self.recording, self.active = None, False
        if not ENABLED or self.program is None or soc.profile is not None or soc.deadline is not None:
            return False
        state = idle_state(soc)
        if state is None:
            return False
        self.active = True
        key = (self.program, state)
        period = self.memo.get(key)
        if period is not None and period.timing.cycles <= soc.cfg.controller.max_cycles and self.replay(ctrl, period):
            return True
        self.recording = ctrl.recorder = RunRecording(key, replay.boundary(soc, ctrl, 0, 0))
        return False

    def end(self, ctrl: "Controller") -> None:
        """At a simulated run's halt: keep its recording."""
        rec, self.recording, self.active = self.recording, None, False
        ctrl.recorder = None
        if rec is not None:
            period = rec.close(ctrl)
            if period is not None:
                self.memo[rec.key] = period

    def replay(self, ctrl: "Controller", period: RunPeriod) -> bool:
        soc = ctrl.soc
        saved = SavedControl(ctrl, self.engine)
        products: deque = deque()
        hooks: list[int] = []
        try:
            done = self.numerics(ctrl, period, products, hooks)
        except Trap:  # a controller instruction's: the simulation meets it again
            done = False
        if not done:
            saved.restore(ctrl)
            ctrl.supplied = products or None
            self.simulated += 1
            return False
        saved.restore(ctrl, numerics_only=True)
        replay.add(soc, ctrl, period.timing, 1)
        replay.move(soc, period.timing.cycles, lambda job: None)
        ctrl.halted = True
        for pc in hooks:
            soc.hooks[pc]()
        self.replayed += 1
        return True

    def numerics(self, ctrl: "Controller", period: RunPeriod, products: deque, hooks: list[int]) -> bool:
        """The run's numerics from pc 0 through its halt, each unit instruction at its recorded issue cycle; False at
        the first difference from the recording (``products`` then holds what ran, for the simulation)."""
        soc, engine = ctrl.soc, self.engine
        code, ops, soc_hooks = soc.code, soc.ops, soc.hooks
        loops = engine.loops
        base = soc.env.now
        path = period.path
        unit = lane_loop = 0
        pc = 0
        for step in range(len(path)):
            if pc != path[step]:
                return False
            if soc_hooks and pc in soc_hooks:
                hooks.append(pc)
            ctrl.pc = pc
            if pc in loops:
                lanes = loops[pc]
                prepared = engine.prepare(ctrl, lanes)
                if prepared is None or lane_loop == len(period.lanes):
                    return False
                trace, fingerprint, claims, _ = prepared
                recorded, addresses, issue = period.lanes[lane_loop]
                if fingerprint != recorded or varying_addresses(trace) != addresses:
                    return False
                lane_loop += 1
                if not lanes_first(ctrl, engine, lanes, trace, claims, issue + base, products, hooks):
                    return False
                pc = lanes.end + 1
                continue
            ins, op = code[pc], ops[pc]
            ctrl.executed += 1
            if op.exec is Exec.CONTROL:  # type: ignore[union-attr]
                pc = op.control(ctrl, ins.args, pc)  # type: ignore[union-attr]
                continue
            if op.exec is Exec.SYNC:  # type: ignore[union-attr]  # halt (replayable_program): the run's end
                return step == len(path) - 1 and unit == len(period.issues) and lane_loop == len(period.lanes)
            if unit == len(period.issues):
                return False
            at = base + int(period.issues[unit])
            if unit_first(ctrl, ins, op, pc, at, period.operands[unit], products) is None:  # type: ignore[arg-type]
                return False
            unit += 1
            pc += 1
        return False
