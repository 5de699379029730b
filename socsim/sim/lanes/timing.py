"""The timing pass: a lane-parallel loop's iterations fed to the SimPy model in program order.

The controller issues each recorded instruction of iteration 0, 1, ... exactly as the reference engine
would (scalar cycles, marks, unit jobs with that iteration's operands), so cycles, ledger rows and busy
cycles come from the same model. At each boundary of an iteration, of the lane loop or of a replayable
inner loop (:mod:`socsim.sim.lanes.inner`), the timing state is compared with earlier boundaries of the
same loop and with the memo of earlier executions of the same iteration (``memo``); when it repeats,
whole periods are skipped (:mod:`socsim.sim.lanes.replay`). A lane-level skip may cover the last
iteration: its closing branch, the iteration's last instruction, is then not taken, which changes nothing
but the controller's cycles (taken back afterwards). An inner loop's last iteration is always simulated.
"""

from __future__ import annotations

from itertools import accumulate
from typing import TYPE_CHECKING, Generator

import numpy as np

from isa.spec import Unit
from socsim.sim.lanes import replay
from socsim.sim.lanes.inner import InnerLoop
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.lanes.trace import CLOSE, MARK, SCALAR, UNIT, Trace

if TYPE_CHECKING:
    from socsim.sim.controller import Controller


def run(ctrl: "Controller", loop: LaneLoop, trace: Trace, execution: int, memo: dict | None,
        inner: list[InnerLoop]) -> Generator:
    """Simulate the loop's timing; returns the issue cycle of every (lane, unit record) as an int64 array, how many
    iterations were simulated (the others were replayed) and how many inner-loop iterations were replayed.

    ``memo`` maps ("lane",) or ("inner", first record) to {boundary state: the period that follows it}, shared
    by executions of the same iteration (None: no replay).
    """
    soc = ctrl.soc
    env = soc.env
    lanes = loop.count
    records, units = trace.records, trace.unit_at
    per_lane, unit_count = len(records), len(trace.units)
    before = [0, *accumulate(1 if r[0] == UNIT else 0 for r in records)]  # unit records before each position
    issue = np.zeros(lanes * unit_count, np.int64)
    at_boundary = {b: (il, k) for il in inner for k, b in enumerate(il.boundaries())}
    taken, not_taken = ctrl.taken_cycles, ctrl.alu_cycles
    seen: dict[tuple, replay.Boundary] = {}
    lane = simulated = inner_replayed = 0
    while lane < lanes:
        if env.now + ctrl.lag > ctrl.poll:
            ctrl.check_budget(soc.code[loop.head])
        here = lane * per_lane
        if memo is not None:
            moved = _try_replay(ctrl, memo.setdefault(("lane",), {}), seen, execution, here, 0, lane * unit_count,
                                issue, units, per_lane, lanes - lane, per_lane)
            if moved:
                lane += moved
                if lane == lanes:
                    _not_taken(ctrl, records[-1][2])
                continue
        simulated += 1
        inner_seen: dict[int, dict] = {}
        i = 0
        while i < per_lane:
            hit = at_boundary.get(i) if memo is not None else None
            if hit is not None and hit[1] < hit[0].count - 1:
                il, k = hit
                moved = _try_replay(ctrl, memo.setdefault(("inner", il.start), {}), inner_seen.setdefault(il.start, {}),
                                    execution, here + i, here + il.start, lane * unit_count + before[i], issue, units,
                                    per_lane, il.count - 1 - k, il.length)
                if moved:
                    i += moved * il.length
                    inner_replayed += moved
                    continue
            kind, pc, a, b = records[i]
            ctrl.pc = pc
            ctrl.executed += 1
            if kind == SCALAR:
                ctrl.count(a, b)
            elif kind == MARK:
                ctrl.tag(a, b)
            elif kind == CLOSE:
                ctrl.count(a, taken if lane < lanes - 1 else not_taken)
            else:
                issue[lane * unit_count + a.index] = env.now + ctrl.lag
                ins = a.ins
                unit = soc.tiles[a.tile] if ins.spec.unit is Unit.TILE else (yield from ctrl.unit_for(ins))
                yield from ctrl.submit(ins, a.op, pc, a.resolved(lane), unit, None, (execution, here + i))
            i += 1
        lane += 1
    return issue.reshape(lanes, unit_count), simulated, inner_replayed


def _try_replay(ctrl: "Controller", memo: dict, seen: dict, execution: int, here: int, first: int, unit: int,
                issue: np.ndarray, units, per_lane: int, left: int, length: int) -> int:
    """At a boundary of a loop whose iterations are ``length`` positions long and start at position ``first``:
    skip whole periods of its next ``left`` iterations if the state repeats; returns the iterations skipped."""
    soc = ctrl.soc
    state = replay.snapshot(soc, ctrl, execution, here, first)
    if state is None:
        return 0
    found = memo.get(state)
    if found is None:
        if state not in seen:
            seen[state] = replay.boundary(soc, ctrl, here, unit)
            return 0
        found = memo[state] = replay.period(soc, ctrl, seen[state], here, unit, issue)
    times = left // (found.positions // length)
    if not times:
        return 0
    replay.apply(soc, ctrl, found, times, unit, issue, units, per_lane, execution)
    seen.clear()  # boundaries before the skip no longer measure a period
    return times * found.positions // length


def _not_taken(ctrl: "Controller", mnemonic: str) -> None:
    """The replayed last iteration counted its closing branch as taken: take the penalty back."""
    penalty = ctrl.taken_cycles - ctrl.alu_cycles
    ctrl.lag -= penalty
    ctrl.busy_cycles -= penalty
    ctrl.stats[(mnemonic, ctrl.layer, ctrl.phase)][1] -= penalty
