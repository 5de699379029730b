"""What every executing unit shares: an in-order queue, dependency waits, busy-time accounting."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generator

import simpy

from isa.program import Instruction
from isa.spec import Space
from socsim.actions import Action
from socsim.sim.joblog import JobLog
from socsim.sim.ledger import Ledger
from socsim.sim.operands import Resolved

if TYPE_CHECKING:
    from socsim.sim.ops.base import Op


class Completion:
    """Whether a job has finished, with a SimPy event made only if something has to wait for it.

    Most jobs finish with nobody waiting (the scoreboard and the controller just look at
    :attr:`triggered`), so the event, its scheduling and its processing are saved for them.
    """

    __slots__ = ("env", "triggered", "_event", "job", "at")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.triggered = False
        self._event: simpy.Event | None = None
        self.job: Job | None = None
        """The job this completion belongs to (set when the job is made)."""
        self.at = 0
        """The cycle the job finished (once triggered)."""

    def event(self) -> simpy.Event:
        """An event that succeeds when the job finishes (already succeeded if it has)."""
        if self._event is None:
            self._event = self.env.event()
            self._event.completion = self  # type: ignore[attr-defined]  # the replayed timing reads it back
            if self.triggered:
                self._event.succeed()
        return self._event

    def succeed(self) -> None:
        self.triggered = True
        self.at = self.env.now
        if self._event is not None:
            self._event.succeed()


def wait_for(env: simpy.Environment, completions: list[Completion]) -> simpy.Event:
    """One event for several completions (the completion's own event when there is one)."""
    return completions[0].event() if len(completions) == 1 else env.all_of([c.event() for c in completions])


@dataclass(slots=True)
class Job:
    """One issued instruction on its way through a unit."""

    ins: Instruction
    op: "Op"
    pc: int
    ops: Resolved
    layer: str
    phase: str
    deps: list[Completion]
    issued_at: int
    """Cycle the controller issued it (its local clock may run ahead of SimPy's); it starts no earlier."""
    done: Completion
    report: Any = None
    """The programming report of a wv / pulse (its cost depends on it)."""
    origin: Any = None
    """Which loop iteration's instruction this is, when a lane-parallel loop issued it (replayed timing)."""
    late: tuple[Completion, ...] = ()
    """Producers of operands the job reads as it proceeds (``Op.late_reads``): it may start before they finish and
    ends no earlier than they do."""

    def __post_init__(self) -> None:
        self.done.job = self

    def ready_at(self) -> int:
        """The cycle the job could first have started: issued and its producers done (they all are, once started)."""
        return max([self.issued_at, *(d.at for d in self.deps)])


class Unit:
    """A unit executes its jobs one at a time in issue order; a job first waits for its producers.

    One long-lived SimPy process per unit takes jobs from an in-order queue, so a job costs its own
    timing events and its completion event, not a process and a resource request of its own. Its state
    is explicit (the job it executes, since when, the event it waits on), so the replayed timing of the
    fast engine can compare and shift it (socsim.sim.lanes.replay).
    """

    priority = 1
    profile = None
    """A :class:`socsim.sim.profile.Profile` told every finished job and priced action (None: no profile)."""
    fixed_duration = True
    """Whether a job's end cycle is known when it starts (:meth:`finish`); otherwise :meth:`execute` yields."""

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger):
        self.env, self.name, self.ledger = env, name, ledger
        self.queue: deque[Job] = deque()
        """Issued jobs that have not started (the head may be waiting for its producers)."""
        self.last_done: Completion | None = None
        self.busy_cycles = 0
        self.current: Job | None = None
        self.started = 0
        """Cycle the current job started."""
        self.waiting: simpy.Event | None = None
        """The event the worker waits on (its wake-up, its head job's producers, or a timeout)."""
        self.timeline = JobLog()
        """The jobs finished in the current run (the elapsed time by layer and the timeline table come from it)."""
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

    def wait(self, event: simpy.Event) -> simpy.Event:
        """Note ``event`` as what the worker waits on, and return it (to be yielded)."""
        self.waiting = event
        return event

    def _worker(self) -> Generator:
        env, queue = self.env, self.queue
        while True:
            if not queue:
                self._wake = env.event()
                yield self.wait(self._wake)
            job = queue[0]
            deps = [e for e in job.deps if not e.triggered]
            if deps:
                yield self.wait(wait_for(env, deps))
            queue.popleft()
            if self._room is not None:
                self._room.succeed()
                self._room = None
            self.current = job
            self.started = start = max(env.now, job.issued_at)
            if self.fixed_duration and not job.late:
                yield self.wait(env.timeout(self.finish(job, start) - env.now))
            else:
                yield from self.execute(job)
            end = env.now
            self.busy_cycles += end - self.started
            self.timeline.append((self.name, job.pc, job.ins.spec.mnemonic, job.layer, job.phase, self.started, end))
            if self.profile is not None:
                self.profile.job(self.name, job, self.started, end)
            self.current = None
            self.waiting = None
            job.done.succeed()

    def finish(self, job: Job, start: int) -> int:
        """A fixed-duration job starting at ``start``: record its actions, return its end cycle."""
        raise NotImplementedError

    def execute(self, job: Job) -> Generator:
        """A job whose length is not known at its start (``fixed_duration = False``, or one with late dependencies):
        model its timing from cycle :attr:`started` (>= now; yield SimPy events through :meth:`wait`) and record its
        actions."""
        raise NotImplementedError

    def record(self, job: Job, action: Action, count: int, cycles: int = 0, component: str | None = None) -> None:
        """Ledger row for this job's actions (skipped when nothing happened)."""
        if count or cycles:
            self.ledger.record(component or self.name, action, job.ins.spec.mnemonic, job.layer, job.phase,
                               count, cycles)
            if self.profile is not None:
                self.profile.energy(job.pc, component or self.name, action, count)

    def record_operand_access(self, job: Job) -> None:
        """Price every memory operand's reads and writes (SRAM, accumulator or tile buffer words)."""
        mem = job.ops.mem
        for name, read, write in job.op.access:
            operand = mem.get(name)
            if operand is None or not operand[2]:
                continue
            space, _, size = operand
            if space is Space.TBUF:
                self.record(job, Action.TBUF_ACCESS, size * (read + write), component="tbuf")
                continue
            component = _COMPONENT[space]
            if read:
                self.record(job, Action.SRAM_READ, size, component=component)
            if write:
                self.record(job, Action.SRAM_WRITE, size, component=component)

    def state(self) -> str:
        cur = f"executing pc {self.current.pc} ({self.current.ins.text()})" if self.current else "idle"
        return f"{self.name}: {cur}, {self.pending()} waiting"


_COMPONENT = {space: space.name.lower() for space in Space}
"""Ledger component of an on-chip memory space."""
