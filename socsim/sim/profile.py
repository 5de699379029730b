"""Per-instruction profile of a run: per pc its executions, cycles, stall cycles (and why), dynamic energy.

A :class:`Profile` attached to a SoC (``Soc.profile``) is told, on the reference engine, every controller step
(:meth:`Profile.step`), every finished unit job (:meth:`Profile.job`) and every priced action (:meth:`Profile.energy`).
``cycles`` of a pc are the controller cycles it took plus its jobs' busy cycles on their units; ``stall_cycles`` the
cycles the controller waited on it (a full unit queue, fence / wait) plus the cycles its jobs waited between issue
and start: for producers (the scoreboard: which pc, on which symbol) or for their unit (busy with earlier jobs).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from isa.program import Program
from isa.spec import Space
from socsim.base.actions import Action
from socsim.sim.result import TIMELINE_COLUMNS

if TYPE_CHECKING:
    from socsim.sim.ledger import Ledger
    from socsim.sim.memory import Memory
    from socsim.sim.unit import Job

COLUMNS = ["pc", "line", "instruction", "count", "cycles", "stall_cycles", "energy_pj", "stall_reason"]
EVENT_COLUMNS = [*TIMELINE_COLUMNS, "issued_cycle", "waited_for"]
"""A timeline row (socsim.sim.result.TIMELINE_COLUMNS) with the cycle it was issued at and what it waited for;
the controller's rows (unit ``controller``) span each instruction from its fetch to the next one's."""


@dataclass
class PcRow:
    """What one pc cost over a run (cycles at the SoC clock, energy in pJ)."""

    count: int = 0
    cycles: int = 0
    stall: int = 0
    energy_pj: float = 0.0
    reasons: Counter = field(default_factory=Counter)
    """Stall cycles by reason."""


class Profile:
    """Per-pc counters of one run."""

    def __init__(self, ledger: "Ledger", memory: "Memory", events: bool = False):
        self.ledger, self.memory = ledger, memory
        self.rows: dict[int, PcRow] = {}
        self.events: list[tuple] | None = [] if events else None
        """With ``events``: one :data:`EVENT_COLUMNS` row per controller instruction and per unit job."""

    def row(self, pc: int) -> PcRow:
        r = self.rows.get(pc)
        if r is None:
            r = self.rows[pc] = PcRow()
        return r

    def step(self, pc: int, elapsed: int, busy: int, reason: str, start: int = 0, mnemonic: str = "",
             tags: tuple[str, str] = ("-", "other")) -> None:
        """The controller spent ``elapsed`` cycles on instruction ``pc`` from cycle ``start``, ``busy`` of them
        executing it; ``tags`` are its (layer, phase)."""
        if self.events is not None:
            self.events.append(("controller", pc, mnemonic, *tags, start, start + elapsed, start,
                                f"controller waits: {reason}" if elapsed > busy and reason else ""))
        r = self.row(pc)
        r.count += 1
        r.cycles += busy
        r.energy_pj += self.ledger.price_of("controller", Action.CTRL_INSTR)
        if elapsed > busy:
            r.stall += elapsed - busy
            r.reasons[f"controller waits: {reason or 'units'}"] += elapsed - busy

    def job(self, unit: str, job: "Job", start: int, end: int) -> None:
        """A job of ``unit`` ran from ``start`` to ``end``; it waited from its issue until ``start``."""
        r = self.row(job.pc)
        r.cycles += end - start
        ready = job.ready_at()
        waits = []
        if ready > job.issued_at:
            r.stall += ready - job.issued_at
            waits.append((self.dependency(job), ready - job.issued_at))
        if start > ready:
            r.stall += start - ready
            waits.append((f"{unit} busy with earlier work", start - ready))
        for why, cycles in waits:
            r.reasons[why] += cycles
        if self.events is not None:
            self.events.append((unit, job.pc, job.ins.spec.mnemonic, job.layer, job.phase, start, end, job.issued_at,
                                "; ".join(f"{why} ({cycles} cycles)" for why, cycles in waits)))

    def energy(self, pc: int, component: str, action: Action, count: int) -> None:
        self.row(pc).energy_pj += self.ledger.price_of(component, action) * count

    def dependency(self, job: "Job") -> str:
        """The producer the job waited for last: its pc, mnemonic and the symbol they share."""
        last = max(job.deps, key=lambda d: d.at)
        producer = last.job
        if producer is None:
            return "scoreboard"
        mine, theirs = job.ops, producer.ops
        pairs = [(a, b) for a in mine.reads for b in theirs.writes]  # read after write
        pairs += [(a, b) for a in mine.writes for b in (*theirs.reads, *theirs.writes)]  # write after read / write
        shared = next(((a[0], max(a[1], b[1])) for a, b in pairs if a[0] == b[0] and a[1] < b[2] and b[1] < a[2]),
                      None)
        where = ""
        if shared is not None:
            name = self.memory.symbol_at(Space(shared[0]), shared[1])
            where = f" on {name}" if name else f" on {Space(shared[0]).name.lower()}:{shared[1]}"
        return f"scoreboard: waits for pc {producer.pc} ({producer.ins.spec.mnemonic}){where}"

    def csv_text(self, program: Program) -> str:
        """One row per executed pc (in pc order): :data:`COLUMNS`."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(COLUMNS)
        for pc in sorted(self.rows):
            r = self.rows[pc]
            src = program.source_of(pc)
            reason = r.reasons.most_common(1)[0][0] if r.reasons else ""
            w.writerow([pc, str(src) if src else "", program.describe(pc), r.count, r.cycles, r.stall,
                        f"{r.energy_pj:.6g}", reason])
        return out.getvalue()

    def longest_stall(self) -> tuple[int, PcRow] | None:
        """The pc with the most stall cycles (the lowest pc on ties), None if nothing stalled."""
        stalled = [(pc, r) for pc, r in self.rows.items() if r.stall]
        return min(stalled, key=lambda t: (-t[1].stall, t[0])) if stalled else None
