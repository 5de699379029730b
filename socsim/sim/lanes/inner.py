"""Which inner loops of a lane-parallel iteration may have their timing replayed.

An inner loop (one the iteration runs, e.g. over the bands of an im2col convolution) is replayable when
every iteration is the same instructions with the same field values, and the way their operands conflict
does not depend on which iteration they are in: an operand's address is the same in every iteration, or
moves by a fixed stride; two operands that move differently (or one fixed, one moving) never touch the
same word where either writes. Then the timing state at one iteration boundary determines the next
iterations exactly as it did before, and a repeat can be skipped (:mod:`socsim.sim.lanes.replay`).
Operands whose address differs between lanes are only read (the lane-parallel claim) and conflict with
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.sim.lanes.trace import UNIT, Trace, UnitRecord


@dataclass(frozen=True)
class InnerLoop:
    """An inner loop of the recorded iteration: iterations of ``length`` records from record ``start``."""

    start: int
    length: int
    count: int

    def boundaries(self) -> range:
        return range(self.start, self.start + self.count * self.length, self.length)


def replayable(trace: Trace) -> list[InnerLoop]:
    """The inner loops of ``trace`` whose timing may be replayed (see the module docstring)."""
    out = []
    for starts in trace.inner:
        lengths = {b - a for a, b in zip(starts, starts[1:])}
        if len(lengths) != 1 or len(starts) < 3:
            continue
        loop = InnerLoop(starts[0], lengths.pop(), len(starts) - 1)
        if _same_shape(trace, loop) and _shift_invariant(trace, loop):
            out.append(loop)
    return out


def _same_shape(trace: Trace, loop: InnerLoop) -> bool:
    """Every iteration but the last is the same records: instructions, cycles, field values, operand spaces and
    sizes (the last ends with its branch not taken; replay never skips it)."""
    recs = trace.records
    first = recs[loop.start:loop.start + loop.length]
    for k in range(1, loop.count - 1):
        for a, b in zip(first, recs[loop.start + k * loop.length:loop.start + (k + 1) * loop.length]):
            if a[0] != b[0] or a[1] != b[1]:
                return False
            if a[0] != UNIT:
                if a[2:] != b[2:]:
                    return False
            elif not _same_unit(a[2], b[2]):
                return False
    return True


def _same_unit(a: UnitRecord, b: UnitRecord) -> bool:
    if a.ins != b.ins or a.values != b.values or a.tile != b.tile or a.varying != b.varying:
        return False
    return all(a.mem[n][0] is b.mem[n][0] and a.mem[n][2] == b.mem[n][2] for n in a.mem)


def _shift_invariant(trace: Trace, loop: InnerLoop) -> bool:
    """Whether two operands' conflicts depend only on how many iterations apart they are."""
    recs = trace.records
    entries = []  # (space, lowest word, past the highest, stride (0 fixed, None irregular), starts (n,), size, written)
    for offset in range(loop.length):
        rec = recs[loop.start + offset]
        if rec[0] != UNIT:
            continue
        for name, _read, write in rec[2].op.access:
            starts = [recs[loop.start + k * loop.length + offset][2].mem[name][1] for k in range(loop.count)]
            if isinstance(starts[0], np.ndarray):
                continue  # differs between lanes: only read, conflicts with nothing
            space, _, size = rec[2].mem[name]
            steps = {b - a for a, b in zip(starts, starts[1:])}
            stride = steps.pop() if len(steps) == 1 else (0 if not steps else None)
            entries.append((int(space), min(starts), max(starts) + size, stride, starts, size, write))
    entries.sort(key=lambda e: (e[0], e[1]))
    for i, (s1, _lo1, hi1, d1, a1, z1, w1) in enumerate(entries):
        for j in range(i, len(entries)):  # each pair once, and each operand with itself
            s2, lo2, hi2, d2, a2, z2, w2 = entries[j]
            if s2 != s1 or lo2 >= hi1:
                break                                          # sorted by start: nothing later overlaps
            if not (w1 or w2) or (d1 is not None and d1 == d2):
                continue                                       # reads only; both fixed or both with one stride
            x, y = np.asarray(a1), np.asarray(a2)
            hit = (x[:, None] < y[None, :] + z2) & (y[None, :] < x[:, None] + z1)
            if i == j:
                np.fill_diagonal(hit, False)                   # an instruction does not conflict with itself
            if hit.any():
                return False                                   # they touch in some iterations only
    return True
