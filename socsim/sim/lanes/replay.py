"""Replayed timing: once the SoC's timing state at an iteration boundary repeats, skip whole periods.

The instructions of a lane-parallel loop execution form one stream: iteration (lane) 0's records, then
lane 1's, ...; a record's **position** in it is ``lane * records per lane + its index``. Loops in it are
the lane loop itself and the inner loops a lane runs (:mod:`socsim.sim.lanes.inner`).

The state at a boundary, taken relative to the clock, is everything the SimPy model's future depends
on: the controller's lag and ledger tags; per unit its current job (since when, bytes left), what it
waits on and its queue (jobs, issue cycles not yet reached, producers); the scoreboard's in-flight jobs;
the bus and SRAM ports' next free cycles; and the pending events in the order SimPy will process them.
Jobs are named by how many positions before the boundary their instruction is, so two boundaries with
equal states evolve identically over the next iterations (the lane-parallel claim, and the inner-loop
checks, make operand addresses that differ between iterations conflict only as they did before). A
state holding anything else (a job from before the loop, an unknown event, a priority bus) is not
compared: the timing is then simulated.

When boundary j repeats boundary i (a period of p iterations, P cycles), the next F whole periods are
applied in one step: the clock and every pending time move by F P, the ledger rows, busy cycles,
controller counts and timeline rows of the period are added F times, and the in-flight jobs become
those F periods later (FastSim-style memoization: exact, not sampled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from socsim.sim.joblog import Segment
from socsim.sim.lanes.trace import UnitRecord
from socsim.sim.unit import Foreign

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.machine import Machine
    from socsim.sim.unit import Job


def snapshot(soc: "Machine", ctrl: "Controller", execution: int, here: int, first: int) -> tuple | None:
    """The canonical timing state at stream position ``here`` (None: not comparable). Jobs of positions before
    ``first`` (the start of the loop whose boundary this is) or of another execution count as foreign."""
    if soc.fabric.priority_bus is not None:
        return None
    env = soc.env
    now = env.now

    def name(job: "Job | None") -> int:
        o = job.origin if job is not None else None
        if o is None or o[0] != execution or o[1] < first:
            raise Foreign
        return here - o[1]

    fill = -(-soc.cfg.tiles.rows // soc.cfg.tiles.stream_words_per_cycle)  # a streamed job's longest first fetch
    try:
        units = soc.all_units()
        state = tuple(u.timing_state(now, name, fill) for u in units)
        queued = {id(w): i for i, w in enumerate(u.queued_wakeup() for u in units) if w is not None}
        events = []
        for t, prio, _order, ev in env.pending():
            if id(ev) in queued:
                events.append((t - now, prio, "unit", queued[id(ev)]))
            else:
                completion = getattr(ev, "completion", None)
                if completion is None:
                    return None
                events.append((t - now, prio, "done", name(completion.job)))
        board = tuple(name(e.job) for e in soc.scoreboard.live())
    except Foreign:
        return None
    return ctrl.lag, ctrl.layer, ctrl.phase, soc.fabric.timing_state(now), state, tuple(events), board


@dataclass
class Boundary:
    """What the counters held at one iteration boundary (to measure a period from)."""

    here: int
    """Stream position."""
    unit: int
    """Unit instructions of the stream before it."""
    now: int
    ledger: dict
    busy: list[int]
    bus: int
    stats: dict
    ctrl_busy: int
    executed: int
    timeline: list[tuple[int, int]]
    """Each unit's :meth:`JobLog.mark`."""


def boundary(soc: "Machine", ctrl: "Controller", here: int, unit: int) -> Boundary:
    units = soc.all_units()
    return Boundary(here, unit, soc.env.now, soc.ledger.snapshot(), [u.busy_cycles for u in units],
                    soc.fabric.bus_busy_cycles, {k: (v[0], v[1]) for k, v in ctrl.stats.items()}, ctrl.busy_cycles,
                    ctrl.executed, [u.timeline.mark() for u in units])


@dataclass
class Period:
    """Iterations that repeat: how many stream positions and unit instructions they span, their cycles, and
    everything they add (relative to their first cycle)."""

    positions: int
    units: int
    cycles: int
    ledger: dict
    busy: list[int]
    bus: int
    stats: dict
    ctrl_busy: int
    executed: int
    timeline: list[Segment]
    """Per unit, the jobs that ended in the period (start and end relative to its first cycle)."""
    issue: np.ndarray
    """The issue cycle of each of its unit instructions, relative to its first cycle."""


def period(soc: "Machine", ctrl: "Controller", first: Boundary, here: int, unit: int, issue: np.ndarray) -> Period:
    """The period from boundary ``first`` to position ``here`` now (the states there are equal). ``issue`` is the
    execution's issue cycles, flat in stream order of the unit instructions."""
    now = soc.env.now
    units = soc.all_units()
    stats = {}
    for k, v in ctrl.stats.items():
        n0, c0 = first.stats.get(k, (0, 0))
        if v[0] != n0 or v[1] != c0:
            stats[k] = (v[0] - n0, v[1] - c0)
    rows = [u.timeline.since(mark, first.now) for u, mark in zip(units, first.timeline)]
    return Period(here - first.here, unit - first.unit, now - first.now, soc.ledger.delta(first.ledger),
                  [u.busy_cycles - b for u, b in zip(units, first.busy)], soc.fabric.bus_busy_cycles - first.bus,
                  stats, ctrl.busy_cycles - first.ctrl_busy, ctrl.executed - first.executed, rows,
                  issue[first.unit:unit] - first.now)


def apply(soc: "Machine", ctrl: "Controller", p: Period, times: int, unit: int, issue: np.ndarray,
          units: dict[int, UnitRecord], per_lane: int, execution: int) -> None:
    """Skip ``times`` periods from the boundary now (its state equals the period's start state), whose first unit
    instruction is number ``unit`` of the stream; ``issue`` (flat) gets the skipped instructions' issue cycles.
    ``units`` are one lane's unit records by position, ``per_lane`` the records of one lane."""
    bases = add(soc, ctrl, p, times)
    issue[unit:unit + times * p.units] = (p.issue[None, :] + bases[:, None]).ravel()
    shift(soc, times * p.cycles, times * p.positions, units, per_lane, execution)


def add(soc: "Machine", ctrl: "Controller", p: Period, times: int) -> np.ndarray:
    """Count ``times`` periods from now: ledger rows, busy cycles, controller counts, timeline rows (the state is not
    moved); returns the first cycle of each."""
    all_units = soc.all_units()
    soc.ledger.add(p.ledger, times)
    for u, d in zip(all_units, p.busy):
        u.busy_cycles += d * times
    soc.fabric.bus_busy_cycles += p.bus * times
    for k, (n, c) in p.stats.items():
        row = ctrl.stats.setdefault(k, [0, 0])
        row[0] += n * times
        row[1] += c * times
    ctrl.busy_cycles += p.ctrl_busy * times
    ctrl.executed += p.executed * times
    bases = soc.env.now + np.arange(times, dtype=np.int64) * p.cycles
    for u, segment in zip(all_units, p.timeline):
        u.timeline.repeat(segment, bases, soc.keep_timeline)
    return bases


def shift(soc: "Machine", cycles: int, positions: int, units: dict[int, UnitRecord], per_lane: int,
          execution: int) -> None:
    """Move the whole timing state ``cycles`` later and its jobs ``positions`` stream positions on."""
    def rename(job: "Job") -> None:
        g = job.origin[1] + positions
        job.origin = (execution, g)
        job.ops = units[g % per_lane].resolved(g // per_lane)
    move(soc, cycles, rename)


def move(soc: "Machine", cycles: int, rename) -> None:
    """Move the whole timing state ``cycles`` later; ``rename(job)`` makes each job in flight the one of the same
    place that many cycles later (its origin and operands)."""
    env = soc.env
    env.shift(cycles)
    jobs: dict[int, "Job"] = {}
    for u in soc.all_units():
        for job in u.shift(cycles):
            jobs[id(job)] = job
    for _, _, _, ev in env.pending():
        completion = getattr(ev, "completion", None)
        if completion is not None:
            jobs[id(completion.job)] = completion.job
    board = soc.scoreboard.live()
    for e in board:
        jobs[id(e.job)] = e.job
    soc.fabric.shift(cycles)
    moved: set[int] = set()
    for job in jobs.values():
        rename(job)
        for d in (*job.deps, *job.late):  # when a producer finished, for a streamed job's first fetch
            if d.triggered and id(d) not in moved:
                moved.add(id(d))
                d.at += cycles
    for e in board:
        e.reads, e.writes = e.job.ops.reads, e.job.ops.writes
