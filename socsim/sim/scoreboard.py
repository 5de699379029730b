"""Scoreboard on memory regions: an instruction waits for in-flight ones it conflicts with.

Conflicts are RAW (it reads what one writes), WAW and WAR (it writes what one reads). Numerics are
computed at issue in program order, so the scoreboard only delays *timing*; results never depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from socsim.sim.memory import Region


def _overlap(a: Region, b: Region) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


@dataclass
class InFlight:
    reads: tuple[Region, ...]
    writes: tuple[Region, ...]
    done: simpy.Event


class Scoreboard:
    """In-flight instructions' footprints and their completion events."""

    def __init__(self) -> None:
        self.inflight: list[InFlight] = []

    def dependencies(self, reads: tuple[Region, ...], writes: tuple[Region, ...]) -> list[simpy.Event]:
        """Completion events of in-flight instructions that conflict with this footprint."""
        self.inflight = [e for e in self.inflight if not e.done.triggered]
        deps = []
        for e in self.inflight:
            if (any(_overlap(r, w) for r in reads for w in e.writes)
                    or any(_overlap(w, x) for w in writes for x in e.writes)
                    or any(_overlap(w, r) for w in writes for r in e.reads)):
                deps.append(e.done)
        return deps

    def add(self, reads: tuple[Region, ...], writes: tuple[Region, ...], done: simpy.Event) -> None:
        self.inflight.append(InFlight(reads, writes, done))
