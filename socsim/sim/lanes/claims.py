"""Checking a lane-parallel loop's claim, operand by operand, on one recorded iteration.

Every memory operand of every unit instruction is classified:

- **private**: inside a ``private`` symbol, at the same address in every lane; each lane has its own
  copy. A lane may read a private word before writing it only if no lane writes that word (it then
  reads what was there before the loop); otherwise it would read what the previous iteration wrote;
- **reduced**: inside a ``reduce`` symbol, and only as the destination of an accumulation the
  instruction supports (``Op.reducible``), or as an operand that is that destination;
- **shared**: anywhere else: only read (at one address for all lanes, or one per lane).

Since every lane runs the same instructions at the same private addresses, one iteration's record
decides for all lanes. A violation raises :class:`LaneViolation` with the instruction's pc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.sim.lanes.loop import LaneLoop, LaneSymbol
from socsim.sim.lanes.trace import LaneViolation, Trace, UnitRecord

PRIVATE, REDUCED, SHARED = range(3)


@dataclass(frozen=True)
class Operand:
    """Where one operand lives for the lanes: its kind, the lane symbol (index) and its offset in it."""

    kind: int
    symbol: int
    offset: int


@dataclass
class Claims:
    """The checked claim: every record's operand classes, and per private symbol which words lanes write
    (copied back from the last lane after the loop) and which they read from before the loop."""

    operands: list[dict[str, Operand]]
    written: list[np.ndarray]
    exposed: list[np.ndarray]


def _find(symbols: tuple[LaneSymbol, ...], space, start: int, size: int) -> tuple[int, bool]:
    """(index of the symbol holding [start, start + size), whether some symbol overlaps it only partly)."""
    for i, s in enumerate(symbols):
        if s.space is space and start < s.end and s.start < start + size:
            return (i, False) if s.start <= start and start + size <= s.end else (-1, True)
    return -1, False


def _access(rec: UnitRecord) -> list[tuple[str, bool, bool]]:
    """(operand, read, written) as these field values use them (``mm`` without acc does not read dst)."""
    plain = rec.op.overwrites(rec.values)
    return [(n, r and n not in plain, w) for n, r, w in rec.op.access]


def classify(trace: Trace, loop: LaneLoop) -> list[dict[str, Operand]]:
    """Every record's operand classes; raises LaneViolation where the claim does not hold."""
    out = []
    for rec in trace.units:
        classes: dict[str, Operand] = {}
        same = (lambda a, b, mem=rec.mem: mem[a][0] is mem[b][0] and np.array_equal(mem[a][1], mem[b][1])
                and mem[a][2] == mem[b][2])
        reducible = rec.op.reducible(rec.values, same)
        for name, _read, write in _access(rec):
            space, start, size = rec.mem[name]
            if isinstance(start, np.ndarray):  # where it reaches is checked per execution: check_varying
                if write:
                    raise LaneViolation(rec.pc, f"{rec.ins.spec.mnemonic} at pc {rec.pc} writes memory the iterations "
                                                f"share through an address that differs between them (operand "
                                                f"{name}); declare it private or reduce")
                classes[name] = Operand(SHARED, -1, 0)
                continue
            where = f"{space.name.lower()}[{start}:{start + size}]"
            i, partial = _find(loop.private, space, start, size)
            j, partial_r = _find(loop.reduced, space, start, size)
            if partial or partial_r:
                raise LaneViolation(rec.pc, f"operand {name} of {rec.ins.spec.mnemonic} at pc {rec.pc} ({where}) "
                                            "crosses the edge of a lane symbol")
            if i >= 0:
                classes[name] = Operand(PRIVATE, i, start - loop.private[i].start)
            elif j >= 0:
                if name not in reducible and not any(same(name, r) for r in reducible):
                    raise LaneViolation(rec.pc, f"{rec.ins.spec.mnemonic} at pc {rec.pc} uses reduced symbol "
                                                f"{loop.reduced[j].name} (operand {name}) other than by accumulating "
                                                "into it")
                classes[name] = Operand(REDUCED, j, start - loop.reduced[j].start)
            else:
                if write:
                    raise LaneViolation(rec.pc, f"{rec.ins.spec.mnemonic} at pc {rec.pc} writes memory the iterations "
                                                f"share (operand {name}, {where}); declare it private or reduce")
                classes[name] = Operand(SHARED, -1, 0)
        out.append(classes)
    return out


def check_varying(trace: Trace, loop: LaneLoop) -> None:
    """Operands whose address differs between lanes must stay clear of the lane symbols (they are only read)."""
    for rec in trace.units:
        if not rec.varying:
            continue
        for name, (space, start, size) in rec.mem.items():
            if not isinstance(start, np.ndarray):
                continue
            lo, hi = int(start.min()), int(start.max()) + size
            for s in loop.private + loop.reduced:
                if s.space is space and lo < s.end and s.start < hi:
                    raise LaneViolation(rec.pc, f"operand {name} of {rec.ins.spec.mnemonic} at pc {rec.pc} reaches "
                                                f"lane symbol {s.name} at an address that differs between iterations")


def _words(rec: UnitRecord, name: str, operand: Operand) -> slice | np.ndarray:
    """The words of a private operand within its symbol (a gather/scatter span: the pattern's words)."""
    size = rec.mem[name][2]
    if rec.streams is not None and name in rec.streams:
        return operand.offset + rec.streams[name]
    if rec.pattern is not None and rec.span == name:
        return operand.offset + rec.pattern
    return slice(operand.offset, operand.offset + size)


def check(trace: Trace, loop: LaneLoop, dataflow: bool) -> Claims:
    """Classify every operand; with ``dataflow`` also prove each private word is written before it is read
    (when another lane writes it) and find the words to copy in and out."""
    operands = classify(trace, loop)
    sizes = [s.size for s in loop.private]
    written_any = [np.zeros(n, bool) for n in sizes]
    if not dataflow:
        none = [np.zeros(0, np.int64) for _ in sizes]
        return Claims(operands, none, none)
    for rec, classes in zip(trace.units, operands):
        for name, _, write in _access(rec):
            o = classes[name]
            if write and o.kind == PRIVATE:
                written_any[o.symbol][_words(rec, name, o)] = True
    now = [np.zeros(n, bool) for n in sizes]
    exposed = [np.zeros(n, bool) for n in sizes]
    for rec, classes in zip(trace.units, operands):
        access = _access(rec)
        for name, read, _ in access:
            o = classes[name]
            if read and o.kind == PRIVATE:
                words = _words(rec, name, o)
                fresh = ~now[o.symbol][words]
                if (fresh & written_any[o.symbol][words]).any():
                    sym = loop.private[o.symbol]
                    raise LaneViolation(rec.pc, f"{rec.ins.spec.mnemonic} at pc {rec.pc} reads private symbol "
                                                f"{sym.name} where the iteration has not written it yet, so it would "
                                                "read what another iteration wrote")
                if fresh.any():
                    index = np.arange(words.start, words.stop) if isinstance(words, slice) else words
                    exposed[o.symbol][index[fresh]] = True
        for name, _, write in access:
            o = classes[name]
            if write and o.kind == PRIVATE:
                now[o.symbol][_words(rec, name, o)] = True
    return Claims(operands, [np.flatnonzero(w) for w in written_any], [np.flatnonzero(e) for e in exposed])
