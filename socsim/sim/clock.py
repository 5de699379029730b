"""The SoC's clock: SimPy's environment with the operations that restoring and replaying time need.

SimPy keeps its clock and its pending events in private fields; this subclass is the one place that
touches them, so the replayed timing (:mod:`socsim.sim.lanes.replay`) and checkpoint restore name what
they do (read the pending events in processing order, move every pending time, set an idle clock).
"""

from __future__ import annotations

import simpy


class Clock(simpy.Environment):
    """A SimPy environment whose time (cycles) and pending events can be read in order and moved."""

    def pending(self) -> list[tuple[int, int, int, simpy.Event]]:
        """The scheduled events as (cycle, priority, order, event), in the order SimPy will process them."""
        return sorted(self._queue, key=lambda e: (e[0], e[1], e[2]))

    def shift(self, cycles: int) -> None:
        """Move the clock and every pending event ``cycles`` later (a uniform shift keeps the heap's order)."""
        self._now += cycles
        self._queue[:] = [(t + cycles, prio, eid, ev) for t, prio, eid, ev in self._queue]

    def set_time(self, cycle: int) -> None:
        """Set the clock of an SoC with no job in flight (resuming from a checkpoint)."""
        self._now = cycle
