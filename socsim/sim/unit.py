"""What every executing unit shares: an in-order queue, dependency waits, busy-time accounting."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generator

import simpy

from isa.program import Instruction
from isa.spec import Space
from socsim.base.actions import Action
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
    """One event for several completions (the completion's own event when there is one; a condition over several
    carries them as ``completions``, for :meth:`Unit.timing_state`)."""
    if len(completions) == 1:
        return completions[0].event()
    event = env.all_of([c.event() for c in completions])
    event.completions = completions  # type: ignore[attr-defined]
    return event


Name = Callable[["Job | None"], int]
"""Names a job in a timing state (:meth:`Unit.timing_state`); raises :class:`Foreign` for one it cannot name."""


class Foreign(Exception):
    """A timing state holds something its namer cannot name (the state is then not compared)."""


def waited(event: simpy.Event, name: Name) -> tuple:
    """What ``event`` waits for, by the jobs' names: one completion, or a condition's completions and which of their
    events SimPy has processed."""
    completion = getattr(event, "completion", None)
    if completion is not None:
        return (name(completion.job),)
    completions = getattr(event, "completions", None)
    if completions is None:
        raise Foreign
    return tuple((name(c.job), c.event().processed) for c in completions)


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
    left = 0
    """Bytes of the current job still to move over the bus (units that move data set it as they go)."""
    stage = 0
    """Which step of the current job it is at (units whose jobs have several)."""
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

    def timing_state(self, now: int, name: Name, fill: int) -> tuple:
        """Everything this unit's future timing depends on, relative to cycle ``now`` (the replayed timing,
        socsim.sim.lanes.replay, compares these): its current job (by ``name``), since when, its progress and the late
        producers it still waits for; what its worker waits on (nothing, new work, a ready queue head, producers); its
        queue (each job's issue cycle not yet reached, unfinished producers, late producers, and for a streamed job
        when it became ready, all times over ``fill`` cycles ago alike: a streamed job's longest first fetch); its last
        job unless finished; whether the controller waits for room in its queue. Raises :class:`Foreign` for a job
        ``name`` cannot name."""
        w = self.waiting
        if w is None:
            kind: tuple = ()
        elif w is self._wake:
            kind = ("wake",)
        elif w.triggered:
            kind = ("queued",)
        else:
            kind = ("deps", waited(w, name))
        cur = self.current

        def ready(job: Job) -> int:
            return max(job.ready_at() - now, -fill) if job.op.stream_edges is not None else 0
        # a queued job starts at max(then, issued_at): an issue cycle already past is the same as now
        queue = tuple((name(j), max(j.issued_at - now, 0), tuple(name(d.job) for d in j.deps if not d.triggered),
                       tuple(name(d.job) for d in j.late if not d.triggered), ready(j)) for j in self.queue)
        last = self.last_done
        if cur is None:
            running: tuple = (None, 0, 0, 0, ())
        else:
            running = (name(cur), self.started - now, self.left, self.stage,
                       tuple(name(d.job) for d in cur.late if not d.triggered))
        return (*running, kind, queue, name(last.job) if last is not None and not last.triggered else None,
                self._room is not None)

    def queued_wakeup(self) -> simpy.Event | None:
        """The event that will resume the worker on a queue head whose producers are done (None: not so waiting)."""
        w = self.waiting
        return w if w is not None and w is not self._wake and w.triggered else None

    def shift(self, cycles: int) -> list[Job]:
        """Move the current job's start and the queued jobs' issue cycles ``cycles`` later; returns those jobs."""
        jobs = []
        if self.current is not None:
            self.started += cycles
            jobs.append(self.current)
        for j in self.queue:
            j.issued_at += cycles
            jobs.append(j)
        return jobs

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
