"""What every executing unit shares: an in-order queue, dependency waits, busy-time accounting."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generator

import simpy

from isa.program import Instruction
from isa.spec import Space
from socsim.sim.ledger import Ledger
from socsim.sim.operands import Resolved, field_access


class Completion:
    """Whether a job has finished, with a SimPy event made only if something has to wait for it.

    Most jobs finish with nobody waiting (the scoreboard and the controller just look at
    :attr:`triggered`), so the event, its scheduling and its processing are saved for them.
    """

    __slots__ = ("env", "triggered", "_event")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.triggered = False
        self._event: simpy.Event | None = None

    def event(self) -> simpy.Event:
        """An event that succeeds when the job finishes (already succeeded if it has)."""
        if self._event is None:
            self._event = self.env.event()
            if self.triggered:
                self._event.succeed()
        return self._event

    def succeed(self) -> None:
        self.triggered = True
        if self._event is not None:
            self._event.succeed()


def wait_for(env: simpy.Environment, completions: list[Completion]) -> simpy.Event:
    """One event for several completions (the completion's own event when there is one)."""
    return completions[0].event() if len(completions) == 1 else env.all_of([c.event() for c in completions])


@dataclass(slots=True)
class Job:
    """One issued instruction on its way through a unit."""

    ins: Instruction
    pc: int
    ops: Resolved
    layer: str
    phase: str
    deps: list[Completion]
    issued_at: int
    """Cycle the controller issued it (its local clock may run ahead of SimPy's); it starts no earlier."""
    done: Completion
    info: dict[str, Any] = field(default_factory=dict)
    """Unit-specific results of the numerics (e.g. a ProgramReport) needed for timing and energy."""


class Unit:
    """A unit executes its jobs one at a time in issue order; a job first waits for its producers.

    One long-lived SimPy process per unit takes jobs from an in-order queue, so a job costs its own
    timing events and its completion event, not a process and a resource request of its own.
    """

    priority = 1
    fixed_duration = True
    """Whether a job's end cycle is known when it starts (:meth:`finish`); otherwise :meth:`execute` yields."""

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger):
        self.env, self.name, self.ledger = env, name, ledger
        self.queue: deque[Job] = deque()
        """Issued jobs that have not started (the head may be waiting for its producers)."""
        self.last_done: Completion | None = None
        self.busy_cycles = 0
        self.current: Job | None = None
        self.timeline: list[tuple[str, int, str, str, str, int, int]] | None = None
        """When a list: (unit, pc, opcode, layer, phase, start cycle, end cycle) per executed job."""
        self._wake: simpy.Event | None = None
        self._room: simpy.Event | None = None
        env.process(self._worker())

    def pending(self) -> int:
        """Jobs issued to this unit that have not started executing."""
        return len(self.queue)

    def room(self) -> simpy.Event:
        """An event that fires when the next queued job starts (the queue then has room for one more)."""
        if self._room is None:
            self._room = self.env.event()
        return self._room

    def submit(self, job: Job) -> None:
        self.queue.append(job)
        self.last_done = job.done
        if self._wake is not None:
            self._wake.succeed()
            self._wake = None

    def _worker(self) -> Generator:
        env, queue = self.env, self.queue
        while True:
            if not queue:
                self._wake = env.event()
                yield self._wake
            job = queue[0]
            deps = [e for e in job.deps if not e.triggered]
            if deps:
                yield wait_for(env, deps)
            queue.popleft()
            if self._room is not None:
                self._room.succeed()
                self._room = None
            self.current = job
            now = env.now
            start = max(now, job.issued_at)
            if self.fixed_duration:
                end = self.finish(job, start)
                yield env.timeout(end - now)
            else:
                yield from self.execute(job, start)
                end = env.now
            self.busy_cycles += end - start
            if self.timeline is not None:
                self.timeline.append((self.name, job.pc, job.ins.spec.mnemonic, job.layer, job.phase, start, end))
            self.current = None
            job.done.succeed()

    def finish(self, job: Job, start: int) -> int:
        """A fixed-duration job starting at ``start``: record its actions, return its end cycle."""
        raise NotImplementedError

    def execute(self, job: Job, start: int) -> Generator:
        """A job whose length is not known at its start (``fixed_duration = False``): model its timing from
        cycle ``start`` (>= now; yield SimPy events) and record its actions."""
        raise NotImplementedError

    def record(self, job: Job, action: str, count: float, cycles: int = 0, component: str | None = None) -> None:
        """Ledger row for this job's actions (skipped when nothing happened)."""
        if count or cycles:
            self.ledger.record(component or self.name, action, job.ins.spec.mnemonic, job.layer, job.phase,
                               count, cycles)

    def record_operand_access(self, job: Job, items: list[tuple[str, str, float, int]] | None = None) -> None:
        """Price every memory operand's reads and writes (SRAM, accumulator or tile buffer words), with
        ``items`` (component, action, count, cycles) of the job's own actions in the same ledger call."""
        mem = job.ops.mem
        items = items if items is not None else []
        append = items.append
        for name, read, write in field_access(job.ins.spec):
            operand = mem.get(name)
            if operand is None or not operand[2]:
                continue
            space, _, size = operand
            if space is Space.TBUF:
                append(("tbuf", "tbuf_access", size * (read + write), 0))
                continue
            component = _COMPONENT[space]
            if read:
                append((component, "sram_read", size, 0))
            if write:
                append((component, "sram_write", size, 0))
        self.ledger.record_many(job.ins.spec.mnemonic, job.layer, job.phase, items)

    def state(self) -> str:
        cur = f"executing pc {self.current.pc} ({self.current.ins.text()})" if self.current else "idle"
        return f"{self.name}: {cur}, {self.pending()} waiting"


_COMPONENT = {space: space.name.lower() for space in Space}
"""Ledger component of an on-chip memory space."""
