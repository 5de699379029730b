"""A lane-parallel loop of a loaded program: its extent, counter and the symbols its lanes write."""

from __future__ import annotations

from dataclasses import dataclass

from isa.program import Instruction, LaneMark, Program
from isa.spec import Space
from socsim.sim.ops.control import CONDITIONS


@dataclass(frozen=True)
class LaneSymbol:
    """A symbol a lane-parallel loop's lanes write: words [start, end) of ``space``."""

    name: str
    space: Space
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class LaneLoop:
    """The loop from ``head`` through its closing branch at ``end`` (back to ``head``), ``count`` iterations."""

    mark: LaneMark
    head: int
    end: int
    """The pc of the one conditional branch back to ``head``, or -1 if there is none (a trap at entry)."""
    reg: int
    count: int
    private: tuple[LaneSymbol, ...]
    reduced: tuple[LaneSymbol, ...]

    def describe(self) -> str:
        return f"the lane-parallel loop {self.mark.label} (pc {self.head}, .lanes)"


def _closing_branch(code: list[Instruction | None], head: int) -> int:
    """The pc of the one conditional branch at or after ``head`` that jumps back to it (-1: none or several)."""
    found = [pc for pc in range(head, len(code)) if code[pc] is not None
             and code[pc].spec.mnemonic in CONDITIONS and code[pc].args[2] == head]  # type: ignore[union-attr]
    return found[0] if len(found) == 1 else -1


def lane_loops(program: Program, code: list[Instruction | None]) -> dict[int, LaneLoop]:
    """The lane-parallel loops of ``program`` by the pc of their first instruction."""
    out = {}
    for mark in program.lanes:
        def symbols(names: tuple[str, ...]) -> tuple[LaneSymbol, ...]:
            return tuple(LaneSymbol(n, program.symbols[n].space, program.symbols[n].addr, program.symbols[n].end)
                         for n in names)
        out[mark.head] = LaneLoop(mark, mark.head, _closing_branch(code, mark.head), mark.reg, mark.count,
                                  symbols(mark.private), symbols(mark.reduce))
    return out
