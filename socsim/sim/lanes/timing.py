"""The timing pass: a lane-parallel loop's iterations fed to the SimPy model in program order.

The controller issues each recorded instruction of iteration 0, 1, ... exactly as the reference engine
would (scalar cycles, marks, unit jobs with that iteration's operands), so cycles, ledger rows and busy
cycles come from the same model. At each iteration boundary the timing state is compared with earlier
boundaries of this loop and with the memo of earlier executions of the same iteration (``memo``); when
it repeats, whole periods are skipped (:mod:`socsim.sim.lanes.replay`). A skip may cover the last
iteration too: its closing branch, the iteration's last instruction, is then not taken, which changes
nothing but the controller's cycles (taken back afterwards).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

import numpy as np

from isa.spec import Unit
from socsim.sim.lanes import replay
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.trace import CLOSE, MARK, SCALAR, Trace

if TYPE_CHECKING:
    from socsim.sim.controller import Controller


def run(ctrl: "Controller", loop: LaneLoop, trace: Trace, execution: int,
        memo: dict | None) -> Generator:
    """Simulate the loop's timing; returns the issue cycle of every (unit record, lane) as an int64 array and how
    many iterations were simulated (the others were replayed).

    ``memo`` maps a boundary state to the :class:`replay.Period` that follows it (shared by executions of
    the same iteration; None: no replay).
    """
    soc = ctrl.soc
    env = soc.env
    lanes = loop.count
    records, units = trace.records, trace.units
    issue = np.zeros((len(units), lanes), np.int64)
    seen: dict[tuple, replay.Boundary] = {}
    taken, not_taken = ctrl.taken_cycles, ctrl.alu_cycles
    lane = simulated = 0
    while lane < lanes:
        if env.now + ctrl.lag > ctrl.poll:
            ctrl.check_budget(soc.code[loop.head])
        if memo is not None:
            state = replay.snapshot(soc, ctrl, execution, lane)
            if state is not None:
                found = memo.get(state)
                if found is None and state in seen:
                    found = memo[state] = replay.period(soc, ctrl, seen[state], lane, issue)
                if found is not None:
                    times = (lanes - lane) // found.lanes
                    if times:
                        lane = replay.apply(soc, ctrl, found, times, lane, issue, units, execution)
                        seen.clear()  # boundaries before the skip no longer measure a period
                        if lane == lanes:
                            _not_taken(ctrl, records[-1][2])
                        continue
                else:
                    seen[state] = replay.boundary(soc, ctrl, lane)
        ctrl.executed += len(records)
        simulated += 1
        for kind, pc, a, b in records:
            ctrl.pc = pc
            if kind == SCALAR:
                ctrl.count(a, b)
            elif kind == MARK:
                ctrl.tag(a, b)
            elif kind == CLOSE:
                ctrl.count(a, taken if lane < lanes - 1 else not_taken)
            else:
                issue[a.index, lane] = env.now + ctrl.lag
                ins = a.ins
                unit = soc.tiles[a.tile] if ins.spec.unit is Unit.TILE else (yield from ctrl.unit_for(ins))
                yield from ctrl.submit(ins, a.op, pc, a.resolved(lane), unit, None, (execution, a.index, lane))
        lane += 1
    return issue, simulated


def _not_taken(ctrl: "Controller", mnemonic: str) -> None:
    """The replayed last iteration counted its closing branch as taken: take the penalty back."""
    penalty = ctrl.taken_cycles - ctrl.alu_cycles
    ctrl.lag -= penalty
    ctrl.busy_cycles -= penalty
    ctrl.stats[(mnemonic, ctrl.layer, ctrl.phase)][1] -= penalty
