"""The reference engine: every instruction interpreted one at a time, lane-parallel marks ignored (the oracle
the fast engine is held to, :mod:`socsim.sim.engines`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generator

from isa.program import Instruction, Program

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.machine import Machine


class ReferenceEngine:
    """One instruction at a time: lane-parallel marks are ignored."""

    name = "reference"

    def __init__(self, soc: "Machine"):
        self.soc = soc
        self.loops: dict[int, object] = {}
        """The lane-parallel loops this engine runs, by the pc of their first instruction (none here: every
        instruction runs as usual)."""
        self.batches: dict[int, object] = {}
        """The batch loops this engine replays, by the pc of their head (none here)."""

    def load(self, program: Program, code: list[Instruction | None]) -> None:
        """A program was loaded."""

    def start(self, ctrl: "Controller") -> None:
        """A run starts with controller ``ctrl``."""

    def replay_run(self, ctrl: "Controller") -> bool:
        """At a run's start: True if the whole run was replayed (its numerics ran, its timing was added)."""
        return False

    def end_run(self, ctrl: "Controller") -> None:
        """A run reached its halt (simulated)."""

    def run_loop(self, ctrl: "Controller", loop: object) -> Generator:
        raise NotImplementedError

    def run_batch(self, ctrl: "Controller", batch: object) -> int:
        raise NotImplementedError
