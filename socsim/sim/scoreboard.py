"""Scoreboard on memory regions: an instruction waits for in-flight ones it conflicts with.

Conflicts are RAW (it reads what one writes), WAW and WAR (it writes what one reads). Numerics are
computed at issue in program order, so the scoreboard only delays *timing*; results never depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import simpy

from socsim.sim.memory import Region


def _conflict(mine: tuple[Region, ...], theirs: tuple[Region, ...]) -> bool:
    """True if any region of ``mine`` overlaps any of ``theirs`` (same space, intersecting words)."""
    for s, lo, hi in mine:
        for s2, lo2, hi2 in theirs:
            if s == s2 and lo < hi2 and lo2 < hi:
                return True
    return False


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
        live = [e for e in self.inflight if not e.done.triggered]
        self.inflight = live
        mine = reads + writes  # RAW and WAW: against their writes; WAR: my writes against their reads
        deps = []
        for e in live:
            if _conflict(mine, e.writes) or (writes and _conflict(writes, e.reads)):
                deps.append(e.done)
        return deps

    def add(self, reads: tuple[Region, ...], writes: tuple[Region, ...], done: simpy.Event) -> None:
        self.inflight.append(InFlight(reads, writes, done))
