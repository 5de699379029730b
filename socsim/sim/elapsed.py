"""Elapsed time by layer and phase: every cycle of a run attributed to one (layer, phase) from the job timeline.

Units run in parallel, so their busy times overlap and add up to more than the elapsed time. Elapsed time
by layer instead gives each cycle of the run to exactly one job, so the per-(layer, phase) cycles add up
to the run's cycles. The rule (docs/reports.md, "Elapsed time by layer"):

- **one job active**: the cycle belongs to that job's (layer, phase);
- **several jobs active** (units overlapping): to the job that started most recently; on equal start
  cycles, to the unit listed later in ``Soc.all_units()`` (``dma0``, ``dma1``, ``du``, ``tile0``, ...).
  A job that started earlier gets the cycle back once the later one has ended, if it is still running;
- **no job active** (the controller alone: scalar instructions, loop control, branch refills): to the
  next job that starts (the controller was issuing it); after the last job has ended, to the job that
  started last; in a run without unit jobs, to layer ``-``, phase ``other``.

The timeline rows are the same on both engines (the fast engine produces every row), so is the result.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
from numba import njit

from socsim.sim.joblog import JobLog, Row

NO_JOB = ("-", "other")
"""(layer, phase) of a run without any unit job."""


@njit(cache=True)
def _attribute(starts: np.ndarray, ends: np.ndarray, keys: np.ndarray, t0: int, t1: int,
               nkeys: int, empty_key: int) -> np.ndarray:  # pragma: no cover - compiled
    """Cycles per key over [t0, t1): jobs sorted by (start, unit order); the stack holds started jobs."""
    out = np.zeros(nkeys, np.int64)
    n = starts.shape[0]
    stack_end = np.empty(n, np.int64)
    stack_key = np.empty(n, np.int64)
    sp = 0
    t = t0
    for i in range(n + 1):
        nxt = starts[i] if i < n else t1
        while t < nxt and sp > 0:
            e = stack_end[sp - 1]
            if e <= t:
                sp -= 1
                continue
            seg = min(e, nxt)
            out[stack_key[sp - 1]] += seg - t
            t = seg
        if t < nxt:  # nothing running: the controller alone
            if i < n:
                out[keys[i]] += nxt - t
            elif n > 0:
                out[keys[n - 1]] += nxt - t
            else:
                out[empty_key] += nxt - t
            t = nxt
        if i < n:
            stack_end[sp] = ends[i]
            stack_key[sp] = keys[i]
            sp += 1
    return out


def elapsed_by_layer(logs: Sequence[JobLog | Iterable[Row]], start: int, end: int) -> dict[tuple[str, str], int]:
    """Cycles of [``start``, ``end``) per (layer, phase), by the rule of this module.

    ``logs`` holds one :class:`JobLog` (or list of rows (unit, pc, opcode, layer, phase, start cycle, end cycle))
    per unit, in ``Soc.all_units()`` order. The values sum to ``end - start``; keys with no cycle are left out.
    """
    ids: dict[tuple[str, str], int] = {}
    starts, ends, keys, order = [], [], [], []
    for u, log in enumerate(logs):
        cols = (log if isinstance(log, JobLog) else JobLog(list(log))).columns()
        remap = np.fromiter((ids.setdefault(name, len(ids)) for name in cols.names), np.int64, len(cols.names))
        starts.append(cols.starts)
        ends.append(cols.ends)
        keys.append(remap[cols.keys])
        order.append(np.full(cols.starts.shape[0], u, np.int64))
    empty = ids.setdefault(NO_JOB, len(ids))
    s, e, k, o = (np.concatenate(parts) if parts else np.zeros(0, np.int64) for parts in (starts, ends, keys, order))
    idx = np.lexsort((o, s))  # by start, then unit order (a stable sort: then log order)
    cycles = _attribute(s[idx], e[idx], k[idx], start, end, len(ids), empty)
    names = list(ids)
    return {names[k]: int(c) for k, c in enumerate(cycles) if c}
