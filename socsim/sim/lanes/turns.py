"""Lanes in turn on several threads: the in-turn pass of a large loop, each thread computing one lane at a time.

A loop whose lane storage is too large to keep every lane at once (:func:`socsim.sim.lanes.numerics.together_pass`
returns None) runs in turn: lane after lane on memory. With several threads (:func:`socsim.base.threads.use_threads`)
it runs here instead: thread ``w`` computes lanes ``w, w + T, w + 2T, ...``, each into its own copy of the private
symbols (one lane's, :class:`~socsim.sim.lanes.numerics.LaneGroup` of one lane) and its own kept terms for the
reduced symbols; then, in lane order, each lane is **committed**: its converter counts go to the ledger and its terms
are added into memory, instruction by instruction, as the sequential loop adds them. So every sum has the sequential
order, and the memory held is the private symbols and kept terms of at most T lanes (plus one copy of the reduced
words while a lane commits, when NaN checks are on), not of every lane as the together pass holds.

A lane that faults (a bad operand, NaN or inf in a word it wrote or in a reduced word after its commit) or raises
stops the pass there: the lanes before it are committed, the last one's private words are written back, and
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


def turn_pass(ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims,
              issue: np.ndarray) -> "InTurnPass | TurnsOnThreads":
    """The in-turn pass of ``loop``: on threads when more than one is in force and the loop has the lanes and the
    private words (:data:`~socsim.sim.lanes.numerics.MIN_GROUP_WORDS` a lane) for it to pay, else on this thread."""
    threads = min(numerics_threads(), loop.count)
    if threads > 1 and sum(s.size for s in loop.private) >= numerics.MIN_GROUP_WORDS:
        return TurnsOnThreads(ctrl, loop, trace, claims, issue, threads)
    return InTurnPass(ctrl, loop, trace, issue)


class TurnsOnThreads(NumericsPass):
    """The lanes of one loop execution in turn on ``threads`` threads, committed in lane order (module docstring)."""

    def __init__(self, ctrl: "Controller", loop: LaneLoop, trace: Trace, claims: Claims, issue: np.ndarray,
                 threads: int):
        super().__init__(ctrl, loop, trace, claims, issue)
        self.threads = threads
        self.reduced = [(rec, [rec.mem[name] for name, _, written in rec.op.access
                               if written and classes[name].kind == REDUCED])
                        for rec, classes in zip(trace.units, claims.operands)
                        if rec.op.numerics is not None and not rec.op.only_moves]
        """Per record that may write NaN: its reduced operands' (space, start, words) (checked after a commit)."""
        self.committed = 0
        """Lanes committed so far (in lane order)."""
        self.stop: int | None = None
        """The lane the pass stops at (a fault or an error), once known."""
        self.last: LaneGroup | None = None
        """The last committed lane's group (its private words and output stages are the loop's)."""
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
        if self.last is not None:
            self.write_back(self.last)
        if self.stop is not None:
            stopped += 1
            InTurnPass(self.ctrl, self.loop, self.trace, self.issue).run(self.stop)  # traps (or raises) there
            return
        for t, per in self.trace.tile_reads.items():
            self.ctrl.soc.tiles[t].crossbar.stream.reads += self.lanes * per

    def worker(self, first: int, errors: dict) -> None:
        """Lanes ``first``, ``first + T``, ...: compute one, wait for its turn, commit it."""
        sync_numba(1)
        with np.errstate(**errors):
            for lane in range(first, self.lanes, self.threads):
                group = LaneGroup(self, lane, 1, self.lane_store())
                try:
                    ok = self.stop is None and self.run_group(group) is None
                except Exception:  # noqa: BLE001 - raised again by the in-turn pass from this lane
                    ok = False
                with self.turn:
                    self.turn.wait_for(lambda lane=lane: self.committed == lane or self.stop is not None)
                    if self.stop is not None:
                        return
                    try:
                        ok = ok and self.commit(group)
                    except Exception:  # noqa: BLE001 - raised again by the in-turn pass from this lane
                        ok = False
                    if ok:
                        self.committed += 1
                        self.last = group
                    else:
                        self.stop = lane
                    self.turn.notify_all()
                    if self.stop is not None:
                        return

    def commit(self, group: LaneGroup) -> bool:
        """Lane ``group.first``'s converter counts into the ledger and its terms into memory, instruction by
        instruction; False (and memory as before) if a reduced word it wrote is then NaN or inf."""
        lane = group.first
        ledger = self.ctrl.soc.ledger
        check = self.ctrl.trap_on_nan
        saved = [(dst, dst.copy()) for dst, _, _ in group.deferred] if check else []
        for dst, apply, term in group.deferred:
            apply(dst, term)
        if check and any(first_nonfinite(self.arrays[space][None], start, size) >= 0
                         for _, ranges in self.reduced for space, start, size in ranges):
            for dst, before in reversed(saved):
                dst[...] = before
            return False
        for position, counts in group.saturated:
            n = int(counts[0])
            if n:
                rec = self.trace.units[position]
                ledger.record(self.ctrl.soc.tiles[rec.tile].name, Action.ADC_SATURATED, rec.ins.spec.mnemonic,
                              *(rec.tags_first if lane == 0 else rec.tags), n)
        return True

    def write_back(self, group: LaneGroup) -> None:
        """The words the last committed lane wrote, and the output stages it latched, as the sequential loop leaves
        them."""
        for sym, copy, written in zip(self.loop.private, group.store, self.claims.written):
            self.arrays[sym.space][sym.start + written] = copy[0, written]
        for index, view in group.tiles.items():
            if isinstance(view, GroupTile) and view.epilogue is not view.initial:
                self.ctrl.soc.tiles[index].epilogue = view.epilogue
