"""Runtime traps: an error in the simulated program, carrying the PC, the instruction and unit state."""

from __future__ import annotations

import enum


class TrapKind(enum.Enum):
    ILLEGAL_INSTRUCTION = "illegal instruction"
    OUT_OF_RANGE = "out-of-range access"
    CAPACITY = "capacity exceeded"
    DEADLOCK = "deadlock"
    NAN = "NaN or inf produced"
    BAD_OPERAND = "bad operand value"
    TIMEOUT = "cycle limit reached"
    LANES = "lane-parallel loop claim violated"
    WALL_CLOCK = "time limit reached"


class Trap(RuntimeError):
    """The simulated SoC stopped on an error; ``pc`` is the instruction index (None before the run)."""

    def __init__(self, kind: TrapKind, detail: str, pc: int | None = None, instruction: str = "",
                 cycle: int = 0, state: str = ""):
        self.kind, self.detail, self.pc, self.instruction, self.cycle, self.state = (
            kind, detail, pc, instruction, cycle, state)
        where = f" at pc {pc} ({instruction})" if pc is not None else ""
        tail = f"; unit state: {state}" if state else ""
        super().__init__(f"trap: {kind.value}{where}, cycle {cycle}: {detail}{tail}")
