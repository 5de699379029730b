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


def pattern_offsets(levels: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Word offsets of an address pattern; ``levels[0]`` is the innermost loop (extent, stride)."""
    offs = np.zeros(1, dtype=np.int64)
    for extent, stride in reversed(levels):
        offs = (offs[:, None] + np.arange(extent, dtype=np.int64)[None, :] * stride).ravel()
    return offs


@lru_cache(maxsize=512)
def _span_offsets(levels: tuple[tuple[int, int], ...]) -> np.ndarray:
    """The pattern's word offsets from its lowest word (read-only; made once per pattern)."""
    offs = pattern_offsets(levels)
    offs -= offs.min(initial=0)
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
    streams: dict[str, np.ndarray] | None = None
    """``mvms``: each streamed operand's word offsets (its tile's input or output pattern) from its start."""

    def array(self, memory: Memory, name: str) -> np.ndarray:
        space, start, size = self.mem[name]
        return memory.view(space, start, size)


@dataclass(frozen=True)
class MemPlan:
    """The static part of one memory operand: its field name, reference, size and access."""

    name: str
    ref: MemRef
    size: str | CodeType
    """A field name (looked up) or a compiled size expression (evaluated over the field values)."""
    span: bool
    """The operand is the SPAN of a gather/scatter pattern (its start moves to the pattern's lowest word)."""
    read: bool
    write: bool
    stream: str = ""
    """"IN" or "OUT": the operand is addressed by that stream pattern of its tile (``mvms``: size ``IN_SPAN`` /
    ``OUT_SPAN``; its start moves to the pattern's lowest word); "" otherwise."""


@dataclass(frozen=True)
class Plan:
    """What does not change between executions of one instruction: scalar fields and memory operands."""

    scalars: dict[str, object]
    mems: tuple[MemPlan, ...]

    @property
    def patterned(self) -> bool:
        """True for gathers and scatters (an operand is the SPAN of the address-generator pattern)."""
        return any(m.span for m in self.mems)

    @property
    def span(self) -> str:
        """The operand the address-generator pattern addresses ("" if none)."""
        return next((m.name for m in self.mems if m.span), "")

    @property
    def streamed(self) -> bool:
        """True for ``mvms``: operands addressed by its tile's stream patterns."""
        return any(m.stream for m in self.mems)


def plan(ins: Instruction) -> Plan:
    """The operand plan of ``ins`` (made once per loaded instruction)."""
    spec: OpSpec = ins.spec
    scalars = {f.name: a for f, a in zip(spec.fields, ins.args) if f.kind is not Kind.MEM}
    mems = []
    for f, a in zip(spec.fields, ins.args):
        if f.kind is Kind.MEM:
            assert isinstance(a, MemRef)
            size = f.size if f.size.isidentifier() else _size_code(f.size)
            stream = next((s for s in STREAMS if f"{s}_SPAN" in f.size), "")
            mems.append(MemPlan(f.name, a, size, f.size == "SPAN", "r" in f.access, "w" in f.access, stream))
    return Plan(scalars, tuple(mems))


def operand_size(m: MemPlan, values: dict) -> int:
    """Words of memory operand ``m`` given the instruction's values."""
    return int(values[m.size] if m.size.__class__ is str else eval(m.size, _NO_BUILTINS, values))  # noqa: S307


def pattern_values(pattern: tuple[tuple[int, int], ...], values: dict, offsets: bool,
                   prefix: str = "") -> tuple[int, np.ndarray | None]:
    """Add PATTERN and SPAN (``prefix`` first: IN_, OUT_) to ``values``; returns (lowest offset, word offsets from it
    or None)."""
    count, lo, hi = pattern_extent(pattern)
    values[f"{prefix}PATTERN"] = count
    values[f"{prefix}SPAN"] = hi - lo + 1 if count else 0
    return lo, _span_offsets(pattern) if offsets else None


STREAMS = ("IN", "OUT")
"""A tile's stream patterns, by name (isa.spec.TileStream)."""


def stream_values(streams: dict[str, tuple[tuple[int, int], ...]], values: dict,
                  offsets: bool) -> tuple[dict[str, int], dict[str, np.ndarray | None]]:
    """Add IN_/OUT_ PATTERN and SPAN of a tile's stream patterns to ``values``; returns the lowest offset and the word
    offsets (or None) of each stream."""
    lows, offs = {}, {}
    for name in STREAMS:
        lows[name], offs[name] = pattern_values(streams[name], values, offsets, f"{name}_")
    return lows, offs
