"""Operand resolution at issue: registers and symbols -> absolute regions, sizes from the opcode table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import CodeType

import numpy as np

from isa.program import Instruction, MemRef
from isa.spec import Kind, OpSpec, Space
from socsim.sim.memory import Memory, Region, effective

PATTERN_LEVELS = 8


@lru_cache(maxsize=None)
def _size_code(expr: str) -> CodeType:
    return compile(expr, f"<size of {expr}>", "eval")


@lru_cache(maxsize=4096)
def pattern_offsets(levels: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Word offsets of an address pattern; ``levels[0]`` is the innermost loop (extent, stride)."""
    offs = np.zeros(1, dtype=np.int64)
    for extent, stride in reversed(levels):
        offs = (offs[:, None] + np.arange(extent, dtype=np.int64)[None, :] * stride).ravel()
    offs.setflags(write=False)
    return offs


def pattern_extent(levels: tuple[tuple[int, int], ...]) -> tuple[int, int, int]:
    """(number of offsets, lowest offset, highest offset) of a pattern in O(levels), without listing them."""
    count, lo, hi = 1, 0, 0
    for extent, stride in levels:
        count *= extent
        step = (extent - 1) * stride
        lo, hi = lo + min(0, step), hi + max(0, step)
    return (count, lo, hi) if count else (0, 0, 0)


@dataclass
class Resolved:
    """One issued instruction's operands: scalars by name, memory as (space, start, size)."""

    values: dict[str, object]
    mem: dict[str, tuple[Space, int, int]]
    reads: tuple[Region, ...]
    writes: tuple[Region, ...]
    pattern: np.ndarray | None = None
    """Gather/scatter offsets relative to the start of the SPAN operand."""

    def array(self, memory: Memory, name: str) -> np.ndarray:
        space, start, size = self.mem[name]
        return memory.view(space, start, size)


def resolve(ins: Instruction, regs: list[int], memory: Memory, env: dict[str, int],
            pattern: tuple[tuple[int, int], ...] | None = None, offsets: bool = True) -> Resolved | str:
    """Resolve operands; returns an error text instead if an access is out of range.

    ``env`` supplies ROWS/COLS (the tile's active block) for tile instructions; ``pattern`` the
    address-generator levels for gather/scatter. ``offsets=False`` skips listing the pattern's word
    offsets (``Resolved.pattern`` is then None): the sizes and regions still come out exactly.
    """
    spec: OpSpec = ins.spec
    values: dict[str, object] = dict(env)
    for f, a in zip(spec.fields, ins.args):
        if f.kind is not Kind.MEM:
            values[f.name] = a
    offs = None
    lo = 0
    if pattern is not None:
        count, lo, hi = pattern_extent(pattern)
        values["PATTERN"] = count
        values["SPAN"] = hi - lo + 1 if count else 0
        if offsets:
            offs = pattern_offsets(pattern) - lo
    mem: dict[str, tuple[Space, int, int]] = {}
    reads: list[Region] = []
    writes: list[Region] = []
    for f, a in zip(spec.fields, ins.args):
        if f.kind is not Kind.MEM:
            continue
        assert isinstance(a, MemRef)
        size = int(eval(_size_code(f.size), {"__builtins__": {}}, values))  # noqa: S307 - table expressions
        start = effective(a, regs)
        if f.size == "SPAN":
            start += lo
        problem = memory.check(a.space, start, size)
        if problem:
            return f"operand {f.name}: {problem}"
        mem[f.name] = (a.space, start, size)
        region = (int(a.space), start, start + size)
        if "r" in f.access:
            reads.append(region)
        if "w" in f.access:
            writes.append(region)
    return Resolved(values, mem, tuple(reads), tuple(writes), offs)
