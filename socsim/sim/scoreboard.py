"""Scoreboard on memory regions: an instruction waits for in-flight ones it conflicts with.

Conflicts are RAW (it reads what one writes), WAW and WAR (it writes what one reads). Numerics are
computed at issue in program order, so the scoreboard only delays *timing*; results never depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from socsim.sim.memory import Region

if TYPE_CHECKING:
    from socsim.sim.unit import Completion


def overlaps(first: tuple[Region, ...], second: tuple[Region, ...]) -> bool:
    """True if a region of ``first`` and one of ``second`` share a word (same space, intersecting ranges)."""
    for s, lo, hi in first:
        for s2, lo2, hi2 in second:
            if s == s2 and lo < hi2 and lo2 < hi:
                return True
    return False


@dataclass(slots=True)
class InFlight:
    reads: tuple[Region, ...]
    writes: tuple[Region, ...]
    done: Completion
    job: Any = None
    """The issued job (the replayed timing swaps its regions for a later iteration's)."""


class Scoreboard:
    """In-flight instructions' footprints and their completion events."""

    def __init__(self) -> None:
        self.inflight: list[InFlight] = []

    def live(self) -> list[InFlight]:
        """The entries whose instruction has not completed (finished ones are dropped)."""
        self.inflight = [e for e in self.inflight if not e.done.triggered]
        return self.inflight

    def dependencies(self, reads: tuple[Region, ...], writes: tuple[Region, ...]) -> list[Completion]:
        """Completions of in-flight instructions that conflict with this footprint: my reads and writes
        against their writes (RAW, WAW), my writes against their reads (WAR)."""
        mine = reads + writes
        return [e.done for e in self.live()
                if overlaps(e.writes, mine) or (writes and overlaps(e.reads, writes))]

    def split_late(self, deps: list[Completion], ops: Any, late_reads: frozenset[str]) \
            -> tuple[list[Completion], tuple[Completion, ...]]:
        """``deps`` split into (firm, late): a late producer conflicts only with the operands the instruction reads as
        it proceeds (``late_reads``, read-only, so only by writing them: RAW); the job may start before it finishes."""
        streamed = tuple((int(ops.mem[n][0]), ops.mem[n][1], ops.mem[n][1] + ops.mem[n][2]) for n in late_reads
                         if n in ops.mem and ops.mem[n][2])
        if not streamed:
            return deps, ()
        firm_reads = tuple(r for r in ops.reads if r not in streamed)
        firm = self.dependencies(firm_reads, ops.writes)
        kept = {id(d) for d in firm}
        return firm, tuple(d for d in deps if id(d) not in kept)

    def add(self, reads: tuple[Region, ...], writes: tuple[Region, ...], done: Completion, job: Any = None) -> None:
        self.inflight.append(InFlight(reads, writes, done, job))
