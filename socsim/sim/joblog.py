"""A unit's log of finished jobs: one row per job, and blocks of rows that the fast engine's replay repeats.

A row is ``(unit, pc, opcode, layer, phase, start cycle, end cycle)``. The reference engine and the simulated
part of a fast run append rows one by one. A replayed period adds the same rows many times, shifted by the
period's cycles; unless the run keeps its timeline as a table (``Soc(timeline=True)``), the log keeps such rows
once with the cycles they repeat at (a :class:`Block`), so a long replay costs one array instead of a tuple per
job. Either way the log lists the same jobs in the same order (:meth:`JobLog.columns`), so the elapsed time by
layer (:mod:`socsim.sim.elapsed`) is the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Row = tuple[str, int, str, str, str, int, int]


@dataclass
class Block:
    """Rows (and nested blocks) with cycles relative to a base, repeated at every cycle of ``bases``."""

    rows: list[Row]
    blocks: list["Block"]
    bases: np.ndarray
    """Cycles (int64) each repetition starts at."""
    at: int
    """How many rows of the enclosing log or block came before it."""

    def moved(self, cycles: int, rows: int) -> "Block":
        return Block(self.rows, self.blocks, self.bases + cycles, self.at + rows)

    def columns(self) -> Columns:
        """Every repetition's jobs, repetitions in order."""
        one = _columns(self.rows, self.blocks)
        reps = self.bases.shape[0]
        return Columns((one.starts[None, :] + self.bases[:, None]).ravel(),
                       (one.ends[None, :] + self.bases[:, None]).ravel(), np.tile(one.keys, reps), one.names)

    def table_rows(self) -> list[Row]:
        out: list[Row] = []
        for base in self.bases.tolist():
            out.extend(_expanded(self.rows, self.blocks, base))
        return out


@dataclass
class Columns:
    """Jobs as arrays, in log order: start and end cycles (int64) and an index (int64) into ``names``, the
    distinct (layer, phase) pairs."""

    starts: np.ndarray
    ends: np.ndarray
    keys: np.ndarray
    names: list[tuple[str, str]]


def _expanded(rows: list[Row], blocks: list[Block], base: int) -> list[Row]:
    """Rows in log order with the blocks expanded, all ``base`` cycles later."""
    out: list[Row] = []
    cut = 0
    for b in blocks:
        out.extend(_later(rows[cut:b.at], base))
        out.extend(b.moved(base, 0).table_rows())
        cut = b.at
    out.extend(_later(rows[cut:], base))
    return out


def _later(rows: list[Row], cycles: int) -> list[Row]:
    return rows if not cycles else [(*r[:5], r[5] + cycles, r[6] + cycles) for r in rows]


def _columns(rows: list[Row], blocks: list[Block]) -> Columns:
    ids: dict[tuple[str, str], int] = {}
    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    keys: list[np.ndarray] = []

    def add_rows(part: list[Row]) -> None:
        starts.append(np.fromiter((r[5] for r in part), np.int64, len(part)))
        ends.append(np.fromiter((r[6] for r in part), np.int64, len(part)))
        keys.append(np.fromiter((ids.setdefault((r[3], r[4]), len(ids)) for r in part), np.int64, len(part)))

    cut = 0
    for b in blocks:
        add_rows(rows[cut:b.at])
        cut = b.at
        inner = b.columns()
        remap = np.fromiter((ids.setdefault(name, len(ids)) for name in inner.names), np.int64, len(inner.names))
        starts.append(inner.starts)
        ends.append(inner.ends)
        keys.append(remap[inner.keys])
    add_rows(rows[cut:])
    return Columns(np.concatenate(starts), np.concatenate(ends), np.concatenate(keys), list(ids))


@dataclass
class Segment:
    """What a log gained between two points, cycles relative to the first point's cycle."""

    rows: list[Row]
    blocks: list[Block]


@dataclass
class JobLog:
    """One unit's finished jobs in the current run, in the order they ended."""

    rows: list[Row] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)

    def append(self, row: Row) -> None:
        self.rows.append(row)

    def clear(self) -> None:
        self.rows.clear()
        self.blocks.clear()

    def mark(self) -> tuple[int, int]:
        """A point in the log, to take a :meth:`since` from."""
        return len(self.rows), len(self.blocks)

    def since(self, mark: tuple[int, int], origin: int) -> Segment:
        """The rows and blocks added after ``mark``, their cycles relative to cycle ``origin``."""
        nrows, nblocks = mark
        return Segment([(*r[:5], r[5] - origin, r[6] - origin) for r in self.rows[nrows:]],
                       [b.moved(-origin, -nrows) for b in self.blocks[nblocks:]])

    def repeat(self, segment: Segment, bases: np.ndarray, as_rows: bool) -> None:
        """Add ``segment`` once at each cycle of ``bases`` (int64): as rows if ``as_rows`` (a timeline table is
        kept; the log then holds no blocks) or as one block."""
        if not segment.rows and not segment.blocks:
            return
        if as_rows and not segment.blocks:
            for base in bases.tolist():
                self.rows.extend(_later(segment.rows, base))
        else:
            self.blocks.append(Block(segment.rows, segment.blocks, bases, len(self.rows)))

    def table_rows(self) -> list[Row]:
        """Every row in log order, blocks expanded (for a timeline table)."""
        return _expanded(self.rows, self.blocks, 0)

    def columns(self) -> Columns:
        """Every job in log order."""
        return _columns(self.rows, self.blocks)
