"""What every executing unit shares: an in-order queue, dependency waits, busy-time accounting."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generator

import simpy

from isa.program import Instruction
from isa.spec import Space
from socsim.sim.ledger import Ledger
from socsim.sim.operands import Resolved


@dataclass
class Job:
    """One issued instruction on its way through a unit."""

    ins: Instruction
    pc: int
    ops: Resolved
    layer: str
    phase: str
    deps: list[simpy.Event]
    started: simpy.Event
    done: simpy.Event
    info: dict[str, Any] = field(default_factory=dict)
    """Unit-specific results of the numerics (e.g. a ProgramReport) needed for timing and energy."""


class Unit:
    """A unit executes its jobs one at a time in issue order; a job first waits for its producers."""

    priority = 1

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger):
        self.env, self.name, self.ledger = env, name, ledger
        self.slot = simpy.Resource(env, capacity=1)
        self.waiting: deque[simpy.Event] = deque()
        self.last_done: simpy.Event | None = None
        self.busy_cycles = 0
        self.current: Job | None = None
        self.timeline: list[tuple[str, int, str, str, str, int, int]] | None = None
        """When a list: (unit, pc, opcode, layer, phase, start cycle, end cycle) per executed job."""

    def pending(self) -> int:
        """Jobs issued to this unit that have not started executing."""
        while self.waiting and self.waiting[0].triggered:
            self.waiting.popleft()
        return len(self.waiting)

    def submit(self, job: Job) -> None:
        self.waiting.append(job.started)
        self.last_done = job.done
        self.env.process(self._run(job))

    def _run(self, job: Job) -> Generator:
        with self.slot.request() as req:
            yield req
            if job.deps:
                yield self.env.all_of(job.deps)
            job.started.succeed()
            self.current = job
            start = self.env.now
            yield from self.execute(job)
            self.busy_cycles += self.env.now - start
            if self.timeline is not None:
                self.timeline.append((self.name, job.pc, job.ins.spec.mnemonic, job.layer, job.phase, start,
                                      self.env.now))
            self.current = None
        job.done.succeed()

    def execute(self, job: Job) -> Generator:
        """Model the job's timing (yield SimPy events) and record its actions in the ledger."""
        raise NotImplementedError

    def record(self, job: Job, action: str, count: float, cycles: int = 0, component: str | None = None) -> None:
        """Ledger row for this job's actions (skipped when nothing happened)."""
        if count or cycles:
            self.ledger.record(component or self.name, action, job.ins.spec.mnemonic, job.layer, job.phase,
                               count, cycles)

    def record_operand_access(self, job: Job) -> None:
        """Price every memory operand's reads and writes (SRAM, accumulator or tile buffer words)."""
        for f in job.ins.spec.fields:
            if f.name not in job.ops.mem:
                continue
            space, _, size = job.ops.mem[f.name]
            tbuf = space is Space.TBUF
            component = "tbuf" if tbuf else space.name.lower()
            if "r" in f.access:
                self.record(job, "tbuf_access" if tbuf else "sram_read", size, component=component)
            if "w" in f.access:
                self.record(job, "tbuf_access" if tbuf else "sram_write", size, component=component)

    def state(self) -> str:
        cur = f"executing pc {self.current.pc} ({self.current.ins.text()})" if self.current else "idle"
        return f"{self.name}: {cur}, {self.pending()} waiting"
