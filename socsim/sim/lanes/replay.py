"""Replayed timing: once the SoC's timing state at an iteration boundary repeats, skip whole periods.

The state at a boundary, taken relative to the clock, is everything the SimPy model's future depends
on: the controller's lag and ledger tags; per unit its current job (since when, bytes left), what it
waits on and its queue (jobs, issue cycles not yet reached, producers); the scoreboard's in-flight jobs; the bus and
SRAM ports' next free cycles; and the pending events in the order SimPy will process them. Jobs are
named by (instruction of the iteration, how many iterations ago), so two boundaries with equal states
evolve identically over the next iterations (the lane-parallel claim makes operand addresses that
differ between iterations conflict with nothing). A state holding anything else (a job from before
the loop, an unknown event, a priority bus) is not compared: the timing is then simulated.

When boundary j repeats boundary i (period p = j - i iterations, P cycles), the next F whole periods
are applied in one step: the clock and every pending time move by F P, the ledger rows, busy cycles,
controller counts and timeline rows of the period are added F times, and the in-flight jobs become
those of the iterations F p later (FastSim-style memoization: exact, not sampled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from socsim.sim.lanes.trace import UnitRecord

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.soc import Soc
    from socsim.sim.unit import Job


class _Foreign(Exception):
    """The state holds something the snapshot cannot name."""


def snapshot(soc: "Soc", ctrl: "Controller", execution: int, lane: int) -> tuple | None:
    """The canonical timing state at the start of iteration ``lane`` (None: not comparable)."""
    if soc.fabric.priority_bus is not None:
        return None
    env = soc.env
    now = env.now

    def ident(job: "Job | None") -> tuple[int, int]:
        o = job.origin if job is not None else None
        if o is None or o[0] != execution:
            raise _Foreign
        return o[1], lane - o[2]

    def waited(event) -> tuple:
        completion = getattr(event, "completion", None)
        if completion is not None:
            return (ident(completion.job),)
        members = getattr(event, "_events", None)
        if members is None:
            raise _Foreign
        return tuple((ident(m.completion.job), m.processed) for m in members)

    try:
        queued: dict[int, int] = {}
        units = []
        for i, u in enumerate(soc.all_units()):
            w = u.waiting
            if w is None:
                kind: tuple = ()
            elif w is u._wake:
                kind = ("wake",)
            elif w.triggered:
                kind = ("queued",)
                queued[id(w)] = i
            else:
                kind = ("deps", waited(w))
            cur = u.current
            # a queued job starts at max(then, issued_at): an issue cycle already past is the same as now
            queue = tuple((ident(j), max(j.issued_at - now, 0), tuple(ident(d.job) for d in j.deps if not d.triggered))
                          for j in u.queue)
            last = u.last_done
            units.append((ident(cur) if cur is not None else None, u.started - now if cur is not None else 0,
                          getattr(u, "left", 0) if cur is not None else 0, kind, queue,
                          ident(last.job) if last is not None and not last.triggered else None, u._room is not None))
        events = []
        for t, prio, _eid, ev in sorted(env._queue, key=lambda e: (e[0], e[1], e[2])):
            if id(ev) in queued:
                events.append((t - now, prio, "unit", queued[id(ev)]))
            else:
                completion = getattr(ev, "completion", None)
                if completion is None:
                    return None
                events.append((t - now, prio, "done", ident(completion.job)))
        board = tuple(ident(e.job) for e in soc.scoreboard.live())
    except _Foreign:
        return None
    f = soc.fabric
    fabric = (max(f.bus_free_at - now, 0), tuple(sorted(max(p - now, 0) for p in f.port_free_at)))
    return ctrl.lag, ctrl.layer, ctrl.phase, fabric, tuple(units), tuple(events), board


@dataclass
class Boundary:
    """What the counters held at one iteration boundary (to measure a period from)."""

    lane: int
    now: int
    ledger: dict
    busy: list[int]
    bus: int
    stats: dict
    ctrl_busy: int
    executed: int
    timeline: list[int]


def boundary(soc: "Soc", ctrl: "Controller", lane: int) -> Boundary:
    units = soc.all_units()
    return Boundary(lane, soc.env.now, soc.ledger.snapshot(), [u.busy_cycles for u in units],
                    soc.fabric.bus_busy_cycles, {k: (v[0], v[1]) for k, v in ctrl.stats.items()}, ctrl.busy_cycles,
                    ctrl.executed, [len(u.timeline) if u.timeline is not None else 0 for u in units])


@dataclass
class Period:
    """``lanes`` iterations of ``cycles`` cycles that repeat: everything they add, relative to their start."""

    lanes: int
    cycles: int
    ledger: dict
    busy: list[int]
    bus: int
    stats: dict
    ctrl_busy: int
    executed: int
    timeline: list[list[tuple]]
    """Per unit, the rows of jobs that ended in the period (start and end relative to its first cycle)."""
    issue: np.ndarray
    """(records, lanes) issue cycle of each unit instruction relative to the period's first cycle."""


def period(soc: "Soc", ctrl: "Controller", first: Boundary, lane: int, issue: np.ndarray) -> Period:
    """The period from boundary ``first`` to the start of iteration ``lane`` now (the states there are equal)."""
    now = soc.env.now
    units = soc.all_units()
    stats = {}
    for k, v in ctrl.stats.items():
        n0, c0 = first.stats.get(k, (0, 0))
        if v[0] != n0 or v[1] != c0:
            stats[k] = (v[0] - n0, v[1] - c0)
    rows = []
    for u, start in zip(units, first.timeline):
        tl = u.timeline or []
        rows.append([(*r[:5], r[5] - first.now, r[6] - first.now) for r in tl[start:]])
    return Period(lane - first.lane, now - first.now, soc.ledger.delta(first.ledger),
                  [u.busy_cycles - b for u, b in zip(units, first.busy)], soc.fabric.bus_busy_cycles - first.bus,
                  stats, ctrl.busy_cycles - first.ctrl_busy, ctrl.executed - first.executed, rows,
                  issue[:, first.lane:lane] - first.now)


def apply(soc: "Soc", ctrl: "Controller", p: Period, times: int, lane: int, issue: np.ndarray,
          records: list[UnitRecord], execution: int) -> int:
    """Skip ``times`` periods from the start of iteration ``lane`` (the state equals the period's start state);
    returns the iteration the simulation continues with. ``issue`` gets the skipped iterations' issue cycles."""
    now = soc.env.now
    units = soc.all_units()
    soc.ledger.add(p.ledger, times)
    for u, d in zip(units, p.busy):
        u.busy_cycles += d * times
    soc.fabric.bus_busy_cycles += p.bus * times
    for k, (n, c) in p.stats.items():
        row = ctrl.stats.setdefault(k, [0, 0])
        row[0] += n * times
        row[1] += c * times
    ctrl.busy_cycles += p.ctrl_busy * times
    ctrl.executed += p.executed * times
    for m in range(times):
        base = now + m * p.cycles
        issue[:, lane + m * p.lanes:lane + (m + 1) * p.lanes] = p.issue + base
        for u, rows in zip(units, p.timeline):
            if u.timeline is not None:
                u.timeline.extend((*r[:5], r[5] + base, r[6] + base) for r in rows)
    shift(soc, times * p.cycles, times * p.lanes, records, execution)
    return lane + times * p.lanes


def shift(soc: "Soc", cycles: int, lanes: int, records: list[UnitRecord], execution: int) -> None:
    """Move the whole timing state ``cycles`` later and its jobs ``lanes`` iterations on."""
    env = soc.env
    env._now += cycles
    env._queue[:] = [(t + cycles, prio, eid, ev) for t, prio, eid, ev in env._queue]  # a uniform shift keeps the heap
    jobs: dict[int, "Job"] = {}
    for u in soc.all_units():
        if u.current is not None:
            u.started += cycles
            jobs[id(u.current)] = u.current
        for j in u.queue:
            j.issued_at += cycles
            jobs[id(j)] = j
    for _, _, _, ev in env._queue:
        completion = getattr(ev, "completion", None)
        if completion is not None:
            jobs[id(completion.job)] = completion.job
    board = soc.scoreboard.live()
    for e in board:
        jobs[id(e.job)] = e.job
    f = soc.fabric
    f.bus_free_at += cycles
    f.port_free_at = [t + cycles for t in f.port_free_at]
    for job in jobs.values():
        _, index, lane = job.origin
        job.origin = (execution, index, lane + lanes)
        rec = records[index]
        if rec.varying:
            job.ops = rec.resolved(lane + lanes)
    for e in board:
        e.reads, e.writes = e.job.ops.reads, e.job.ops.writes
