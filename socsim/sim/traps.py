"""Runtime traps: an error in the simulated program, carrying the PC, the instruction and unit state."""

from __future__ import annotations

import enum
from typing import Any

from socsim.base.errors import ErrorKind, SocsimError


class TrapKind(enum.Enum):
    ILLEGAL_INSTRUCTION = "illegal instruction"
    OUT_OF_RANGE = "out-of-range access"
    CAPACITY = "capacity exceeded"
    DEADLOCK = "deadlock"
    NAN = "NaN or inf produced"
    BAD_OPERAND = "bad operand value"
    """An operand value the instruction does not accept: its numerics (or the physics they call) raised
    ``isa.program.BadOperand``, or its operand sizes are undefined; any other exception there is a simulator bug."""
    TIMEOUT = "cycle limit reached"
    LANES = "lane-parallel loop claim violated"
    WALL_CLOCK = "time limit reached"


class Trap(SocsimError, RuntimeError):
    """The simulated SoC stopped on an error; ``pc`` is the instruction index (None before the run).

    ``source`` is the instruction's ``file:line`` when the program has a line table (the instruction text is then
    its source text); ``partial`` is the :class:`~socsim.sim.result.Result` of the run up to the trap (set by
    ``Soc.run``), ``registers`` the controller's registers at the trap."""

    error_kind = ErrorKind.TRAP

    def __init__(self, kind: TrapKind, detail: str, pc: int | None = None, instruction: str = "",
                 cycle: int = 0, state: str = "", source: str = ""):
        self.kind, self.detail, self.pc, self.instruction, self.cycle, self.state = (
            kind, detail, pc, instruction, cycle, state)
        self.source = source
        self.partial: Any = None
        self.registers: list[int] | None = None
        self.report = ""
        """Lines a command prints after the trap's (what ran, the registers, the files written)."""
        SocsimError.__init__(self, self.message())

    def message(self) -> str:
        where = f" at pc {self.pc} ({self.instruction})" if self.pc is not None else ""
        src = f", {self.source}" if self.source else ""
        tail = f"; unit state: {self.state}" if self.state else ""
        return f"trap: {self.kind.value}{where}{src}, cycle {self.cycle}: {self.detail}{tail}"

    def locate(self, instruction: str, source: str) -> None:
        """Name the instruction as the program's source does (its text and ``file:line``)."""
        self.instruction, self.source = instruction or self.instruction, source
        self.args = (self.message(),)

    def __str__(self) -> str:
        return self.message()
