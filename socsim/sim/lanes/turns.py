"""Lanes in turn on several threads: the in-turn pass of a large loop, each thread computing one lane at a time.

A loop whose lane storage is too large to keep every lane at once (:func:`socsim.sim.lanes.numerics.together_pass`
returns None) runs in turn: lane after lane on memory. With several threads (:func:`socsim.base.threads.use_threads`)
it runs here instead: thread ``w`` computes lanes ``w, w + T, w + 2T, ...``, each into its own copy of the private
symbols (one lane's, a :class:`~socsim.sim.lanes.numerics.LaneGroup` of one lane). The lane whose predecessors
are all committed is the **head**: it adds its terms of the reduced symbols straight into memory, as the sequential
loop does. Another lane keeps its terms (in program order) until it becomes the head, then adds them and goes on
straight; past :data:`KEPT_WORDS` kept words it waits for that. At its end a lane is **committed**: its converter counts
go to the ledger. So every sum has the sequential order (lane by lane, instructions in program order), and the memory
held is T lanes' private symbols, at most :data:`KEPT_WORDS` kept words a lane and one copy of the reduced symbols'
words (taken when a lane becomes the head, to undo its sums if it stops), not every lane's as the together pass
holds.

A lane that faults (a bad operand, NaN or inf in a word it wrote or in a reduced word after a sum) or raises stops
the pass there: the lanes before it are committed, its own sums are undone, the last committed lane's private words
are written back, and
:class:`~socsim.sim.lanes.numerics.InTurnPass` runs the rest from that lane on memory, so the trap (or the error)
comes exactly as in turn on one thread. Each lane's numbers are its own (the together pass's argument), so the
result does not depend on the thread count (``tests/test_threads.py``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

from socsim.base.actions import Action
from socsim.base.threads import numerics_threads, pool, sync_numba
from socsim.sim.lanes import numerics
from socsim.sim.lanes.claims import REDUCED, Claims
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.numerics import GroupTile, InTurnPass, LaneGroup, NumericsPass
from socsim.sim.lanes.trace import Trace
from socsim.sim.ops.kernels import first_nonfinite

if TYPE_CHECKING:
    from socsim.sim.controller import Controller

passes = 0
"""Passes of this process that ran their lanes in turn on several threads (a count for tests and profiles)."""
stopped = 0
"""Those that stopped at a lane and ran the rest in turn on one thread (a fault or an error)."""
KEPT_WORDS = 24 << 20
"""Words of reduction terms (float32: 96 MiB) a lane that is not the head keeps before it waits to become the head."""


def turn_pass(ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims,
              issue: np.ndarray) -> "InTurnPass | TurnsOnThreads":
    """The in-turn pass of ``loop``: on threads when more than one is in force and the loop has the lanes and the
    private words (:data:`~socsim.sim.lanes.numerics.MIN_GROUP_WORDS` a lane) for it to pay, else on this thread."""
    threads = min(numerics_threads(), loop.count)
    if threads > 1 and sum(s.size for s in loop.private) >= numerics.MIN_GROUP_WORDS:
        return TurnsOnThreads(ctrl, loop, trace, claims, issue, threads)
    return InTurnPass(ctrl, loop, trace, issue)


class Stopped(Exception):
    """The pass stopped at an earlier lane (this lane's work is dropped), or this lane's sum made a reduced word NaN
    or inf (the in-turn pass runs it again and traps)."""


class TurnLane(LaneGroup):
    """One lane of a :class:`TurnsOnThreads`: its terms kept until it is the head lane, then added straight."""

    def __init__(self, run: "TurnsOnThreads", lane: int):
        super().__init__(run, lane, 1, run.lane_store())
        self.pass_ = run
        self.head = False
        self.kept = 0
        """Words of the kept terms."""

    def defer(self, dst: np.ndarray, apply, term: np.ndarray) -> None:
        if not self.head and self.kept + term.size > KEPT_WORDS:
            self.pass_.become_head(self)
        if self.head:
            self.pass_.add(dst, apply, term)
        else:
            self.deferred.append((dst, apply, term))
            self.kept += term.size


class TurnsOnThreads(NumericsPass):
    """The lanes of one loop execution in turn on ``threads`` threads, summed in lane order (module docstring)."""

    def __init__(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims, issue: np.ndarray,
                 threads: int):
        super().__init__(ctrl, loop, trace, claims, issue)
        self.threads = threads
        ranges = dict.fromkeys((space, start, size) for rec, classes in zip(trace.units, claims.operands)
                               for name, o in classes.items() if o.kind == REDUCED
                               for space, start, size in [rec.mem[name]])
        self.reduced = [self.arrays[space][start:start + size] for space, start, size in ranges]
        """The reduced symbols' words (each distinct operand range once)."""
        self.saved: list[np.ndarray] = []
        """The reduced words as the head lane found them (restored if it stops)."""
        self.committed = 0
        """Lanes committed so far (in lane order); the next is the head."""
        self.stop: int | None = None
        """The lane the pass stops at (a fault or an error), once known."""
        self.tiles: dict = {}
        """The last committed lane's tile views (the output stages it latched are the loop's)."""
        self.turn = threading.Condition()

    def fill_store(self) -> None:
        """No lanes' storage for the whole pass: each lane gets its own (:meth:`lane_store`)."""
        self.store = []

    def lane_store(self) -> list[np.ndarray]:
        """One lane's copy of the private symbols (as :meth:`NumericsPass.fill_store` makes every lane's)."""
        out = []
        for sym, exposed in zip(self.loop.private, self.claims.exposed):
            copy = np.full((1, sym.size), np.nan, np.float32)
            copy[:, exposed] = self.arrays[sym.space][sym.start + exposed]
            out.append(copy)
        return out

    def run(self) -> None:
        global passes, stopped
        passes += 1
        errors = np.geterr()  # numpy's error state is per thread: the workers take the caller's
        list(pool(self.threads).map(lambda w: self.worker(w, errors), range(self.threads)))
        for index, view in self.tiles.items():
            if isinstance(view, GroupTile) and view.epilogue is not view.initial:
                self.ctrl.soc.tiles[index].epilogue = view.epilogue
        if self.stop is not None:
            stopped += 1
            InTurnPass(self.ctrl, self.loop, self.trace, self.issue).run(self.stop)  # traps (or raises) there
            return
        for t, per in self.trace.tile_reads.items():
            self.ctrl.soc.tiles[t].crossbar.stream.reads += self.lanes * per

    def worker(self, first: int, errors: dict) -> None:
        """Lanes ``first``, ``first + T``, ...: compute each, then commit it in its turn."""
        sync_numba(1)
        with np.errstate(**errors):
            for lane in range(first, self.lanes, self.threads):
                if self.stop is not None:
                    return
                group = None
                try:
                    group = TurnLane(self, lane)
                    ok = self.run_group(group) is None
                    if ok:
                        self.become_head(group)
                        self.commit(group)
                except Exception:  # noqa: BLE001 - Stopped, or an error the in-turn pass raises again
                    ok = False
                with self.turn:
                    if not ok:
                        self.turn.wait_for(lambda lane=lane: self.committed == lane or self.stop is not None)
                        if self.stop is None:
                            self.stop = lane
                            if group is not None and group.head:
                                for words, before in zip(self.reduced, self.saved):
                                    words[...] = before
                    elif group is not None:
                        self.committed += 1
                        self.tiles = group.tiles
                    self.saved = []
                    self.turn.notify_all()
                del group

    def become_head(self, group: TurnLane) -> None:
        """Wait until every lane before ``group``'s is committed, keep the reduced words, add its kept terms."""
        if group.head:
            return
        with self.turn:
            self.turn.wait_for(lambda: self.committed == group.first or self.stop is not None)
            if self.stop is not None:
                raise Stopped
            self.saved = [words.copy() for words in self.reduced]
            group.head = True
        for dst, apply, term in group.deferred:
            self.add(dst, apply, term)
        group.deferred.clear()
        group.kept = 0

    def add(self, dst: np.ndarray, apply, term: np.ndarray) -> None:
        """The head lane's term into memory; Stopped if a word it summed is then NaN or inf (NaN checks on)."""
        apply(dst, term)
        if self.ctrl.trap_on_nan and first_nonfinite(dst, 0, dst.shape[1]) >= 0:
            raise Stopped

    def commit(self, group: LaneGroup) -> None:
        """The head lane ``group.first``'s converter counts into the ledger (its sums are in memory) and the words it
        wrote into memory, as the sequential loop leaves them after it (no lane reads them: they are private)."""
        ledger = self.ctrl.soc.ledger
        for position, counts in group.saturated:
            n = int(counts[0])
            if n:
                rec = self.trace.units[position]
                ledger.record(self.ctrl.soc.tiles[rec.tile].name, Action.ADC_SATURATED, rec.ins.spec.mnemonic,
                              *(rec.tags_first if group.first == 0 else rec.tags), n)
        for sym, copy, written in zip(self.loop.private, group.store, self.claims.written):
            self.arrays[sym.space][sym.start + written] = copy[0, written]
