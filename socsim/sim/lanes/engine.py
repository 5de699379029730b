"""The fast engine: lane-parallel loops run as lanes (control, claims, timing with replay, numerics)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

from isa.program import Instruction, Program
from socsim.sim.lanes import overlap, timing
from socsim.sim.lanes.batch import BatchLoop, BatchReplay, batch_loops
from socsim.sim.lanes.claims import Claims, check, check_varying
from socsim.sim.lanes.inner import InnerLoop, replayable
from socsim.sim.lanes.loop import LaneLoop, lane_loops
from socsim.sim.lanes.numerics import together_pass
from socsim.sim.lanes.relocate import ControlTraces
from socsim.sim.lanes.runs import RunReplay
from socsim.sim.lanes.trace import LaneViolation
from socsim.sim.lanes.turns import turn_pass
from socsim.sim.reference import ReferenceEngine
from socsim.sim.traps import Trap, TrapKind

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.machine import Machine


class FastEngine(ReferenceEngine):
    """Runs every loop the program declares lane-parallel with one lane per iteration."""

    name = "fast"
    strict = False
    """Trap (TrapKind.LANES) on a loop whose claim does not hold, instead of running it one instruction at a time
    (the compiler's tests set it: a compiled loop must hold its claim)."""

    def __init__(self, soc: "Machine"):
        super().__init__(soc)
        self.loops: dict[int, LaneLoop] = {}
        self.claims: dict[tuple, tuple[Claims, list[InnerLoop]]] = {}
        """Checked claims and replayable inner loops by iteration fingerprint."""
        self.memo: dict[tuple, dict] = {}
        """Replay periods by iteration fingerprint, then by boundary state (kept across runs of this SoC)."""
        self.executions = 0
        """Lane-parallel loop executions so far."""
        self.replayed = 0
        """Iterations whose timing was replayed rather than simulated (all runs of this SoC)."""
        self.inner_replayed = 0
        """Inner-loop iterations (of simulated lane iterations) whose timing was replayed."""
        self.beside = 0
        """Lane-parallel loop executions whose numerics ran beside their timing pass (lanes/overlap.py)."""
        self.traces = ControlTraces()
        """The loops' control passes, recorded and relocated from one execution to the next."""
        self.batches: dict[int, BatchLoop] = {}
        """The loops around a lane-parallel loop (a training program's batch loop) by the pc of their head."""
        self.batch = BatchReplay(self)
        """Whole batches replayed where their timing repeats (:mod:`socsim.sim.lanes.batch`)."""
        self.runs = RunReplay(self)
        """Whole runs replayed where a run from an idle chip repeats (:mod:`socsim.sim.lanes.runs`)."""
        self.fallbacks: list[str] = []
        """Why each loop whose claim does not hold ran one instruction at a time, as on the reference engine (same
        numbers), for the rest of its program's run (every run of this SoC)."""

    def load(self, program: Program, code: list[Instruction | None]) -> None:
        self.loops = lane_loops(program, code)
        self.batches = batch_loops(code, self.soc.ops, self.loops)
        self.claims.clear()
        self.traces.load(program)
        self.runs.load(code, self.soc.ops)

    def start(self, ctrl: "Controller") -> None:
        self.batch.start()

    def replay_run(self, ctrl: "Controller") -> bool:
        return self.runs.start(ctrl)

    def end_run(self, ctrl: "Controller") -> None:
        self.runs.end(ctrl)

    def prepare(self, ctrl: "Controller", loop: LaneLoop) -> tuple | None:
        """The loop's control pass (recorded or relocated) and checked claims: (trace, fingerprint, claims, inner
        loops); None when its claim does not hold (:attr:`fallbacks` says why; the loop then runs one instruction at a
        time)."""
        soc = self.soc
        try:
            trace = self.traces.run(ctrl, loop)
            check_varying(trace, loop)
            fingerprint = trace.fingerprint()
            known = self.claims.get(fingerprint)
            if known is None:
                known = self.claims[fingerprint] = (check(trace, loop, dataflow=not soc.timing_only), replayable(trace))
            claims, inner = known
        except LaneViolation as v:
            if not self.strict:
                del self.loops[loop.head]
                self.batches.clear()  # a batch replays its lane loop as lanes
                ctrl.recorder = None
                src = soc.program.source_of(v.pc)
                self.fallbacks.append(f"{loop.describe()} runs one instruction at a time: pc {v.pc} "
                                             f"({soc.program.describe(v.pc)}{', ' + str(src) if src else ''}): "
                                             f"{v.detail}")
                return None
            ins = soc.code[v.pc]
            raise Trap(TrapKind.LANES, v.detail, v.pc, ins.text() if ins else "", soc.env.now + ctrl.lag,
                       soc.unit_states()) from None
        return trace, fingerprint, claims, inner

    def run_loop(self, ctrl: "Controller", loop: LaneLoop) -> Generator:
        """Run ``loop`` as lanes; returns the pc after it, or -1 when its claim does not hold (nothing was run: the
        controller then runs it one instruction at a time, and :attr:`fallbacks` says why)."""
        soc = self.soc
        prepared = self.prepare(ctrl, loop)
        if prepared is None:
            return -1
        trace, fingerprint, claims, inner = prepared
        self.executions += 1
        memo = self.memo.setdefault(fingerprint, {})
        supplied = self.batch.lanes_supplied(ctrl, loop)  # a replayed batch's numerics ran already
        together = None if soc.timing_only or supplied is not None else together_pass(ctrl, loop, trace, claims)
        if together is not None and overlap.ENABLED and not any(
                soc.tiles[t].crossbar.time_dependent_reads for t in trace.tile_reads):
            self.beside += 1
            beside = overlap.Beside(together.compute)
            try:
                with overlap.switch_interval(overlap.SWITCH_INTERVAL_S):
                    issue, simulated, inner_replayed = yield from timing.run(ctrl, loop, trace, self.executions, memo,
                                                                             inner)
            except BaseException:
                beside.wait()  # a trap of the timing pass: what the numerics computed is discarded, as if never run
                raise
            together.issue = issue
            together.finish(beside.result())
        else:
            issue, simulated, inner_replayed = yield from timing.run(ctrl, loop, trace, self.executions, memo, inner)
            if supplied is not None:
                supplied()  # raises the numerics' trap, now that the timing pass has reached it
            elif together is not None:
                together.issue = issue
                together.run()
            elif not soc.timing_only:
                turn_pass(ctrl, loop, trace, claims, issue).run()
        if ctrl.recorder is not None:
            ctrl.recorder.lanes(fingerprint, issue, trace)
        self.replayed += loop.count - simulated
        self.inner_replayed += inner_replayed
        self.finish(ctrl, loop, trace)
        return loop.end + 1

    def numerics(self, ctrl: "Controller", loop: LaneLoop, trace, claims, issue) -> None:
        """The loop's numerics over its lanes, with the issue cycles ``issue`` (lanes x unit records)."""
        together = together_pass(ctrl, loop, trace, claims)
        if together is not None:
            together.issue = issue
            together.run()
        else:
            turn_pass(ctrl, loop, trace, claims, issue).run()

    def finish(self, ctrl: "Controller", loop: LaneLoop, trace, hooks: list | None = None) -> None:
        """The architectural state the loop leaves (registers, address generator, tiles' blocks and streams); its hook
        pcs are called (or appended to ``hooks``) once per iteration."""
        soc = self.soc
        ctrl.regs[:] = trace.regs
        ctrl.agen[:] = trace.agen
        for t, block in trace.blocks.items():
            soc.tiles[t].block = block
            soc.tiles[t].configured = True
        for t, streams in trace.streams.items():
            soc.tiles[t].streams = dict(streams)
        if soc.hooks:
            for pc in trace.hook_pcs:
                if pc in soc.hooks:  # the head's was called when the controller fetched it for the first iteration
                    for _ in range(loop.count - 1 if pc == loop.head else loop.count):
                        if hooks is None:
                            soc.hooks[pc]()
                        else:
                            hooks.append(pc)

    def run_batch(self, ctrl: "Controller", batch: BatchLoop) -> int:
        """At the head of a batch loop: replay the batch (the pc after it) or -1 (the controller simulates it; always
        within a run that is recorded or replayed whole)."""
        if self.runs.active:
            return -1
        return self.batch.at_head(ctrl, batch)
