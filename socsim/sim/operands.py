"""Operand resolution at issue: registers and symbols -> absolute regions, sizes from the opcode table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import CodeType

import numpy as np

from isa.program import Instruction, MemRef
from isa.spec import Kind, OpSpec, Space
from socsim.sim.memory import Memory, Region

PATTERN_LEVELS = 8


@lru_cache(maxsize=None)
def _size_code(expr: str) -> CodeType:
    return compile(expr, f"<size of {expr}>", "eval")


_NO_BUILTINS: dict = {"__builtins__": {}}
"""Globals for evaluating a size expression: none."""


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


_PLANS: dict[int, tuple[Instruction, dict[str, object], tuple]] = {}
"""id(instruction) -> (the instruction, its scalar operand values, its memory operands' static parts)."""


def _plan(ins: Instruction) -> tuple[dict[str, object], tuple]:
    """The parts of an instruction's operands that do not change between executions (cached per instruction)."""
    hit = _PLANS.get(id(ins))
    if hit is not None and hit[0] is ins:
        return hit[1], hit[2]
    spec: OpSpec = ins.spec
    scalars = {f.name: a for f, a in zip(spec.fields, ins.args) if f.kind is not Kind.MEM}
    mems = []
    for f, a in zip(spec.fields, ins.args):
        if f.kind is Kind.MEM:
            assert isinstance(a, MemRef)
            size = f.size if f.size.isidentifier() else _size_code(f.size)  # a bare name is looked up, not evaluated
            mems.append((f.name, a, size, f.size == "SPAN", "r" in f.access, "w" in f.access))
    if len(_PLANS) > 1_000_000:  # a long-lived process that loads many programs: start over
        _PLANS.clear()
    _PLANS[id(ins)] = (ins, scalars, tuple(mems))
    return scalars, tuple(mems)


def resolve(ins: Instruction, regs: list[int], memory: Memory, env: dict[str, int],
            pattern: tuple[tuple[int, int], ...] | None = None, offsets: bool = True) -> Resolved | str:
    """Resolve operands; returns an error text instead if an access is out of range.

    ``env`` supplies ROWS/COLS (the tile's active block) for tile instructions; ``pattern`` the
    address-generator levels for gather/scatter. ``offsets=False`` skips listing the pattern's word
    offsets (``Resolved.pattern`` is then None): the sizes and regions still come out exactly.
    """
    scalars, mems = _plan(ins)
    values: dict[str, object] = {**env, **scalars} if env else dict(scalars)
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
    no_builtins = _NO_BUILTINS
    capacity = memory.capacity
    for name, ref, code, span, r, w in mems:
        size = int(values[code] if code.__class__ is str else eval(code, no_builtins, values))  # noqa: S307
        start = ref.offset + regs[ref.reg] if ref.reg else ref.offset
        if span:
            start += lo
        cap = capacity.get(ref.space)  # the common in-range case without a call; Memory.check words any problem
        if cap is None or start < 0 or start + size > cap:
            problem = memory.check(ref.space, start, size)
            if problem:
                return f"operand {name}: {problem}"
        mem[name] = (ref.space, start, size)
        region = (int(ref.space), start, start + size)
        if r:
            reads.append(region)
        if w:
            writes.append(region)
    return Resolved(values, mem, tuple(reads), tuple(writes), offs)


_ACCESS: dict[str, tuple[tuple[str, bool, bool], ...]] = {}


def field_access(spec: OpSpec) -> tuple[tuple[str, bool, bool], ...]:
    """(field name, read, written) of every field of an instruction, cached per mnemonic (only memory
    operands appear in ``Resolved.mem``; the rest are skipped by callers looking there)."""
    got = _ACCESS.get(spec.mnemonic)
    if got is None:
        got = _ACCESS[spec.mnemonic] = tuple((f.name, "r" in f.access, "w" in f.access) for f in spec.fields)
    return got
