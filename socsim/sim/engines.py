"""The two engines: how the controller runs a loop the compiler marked lane-parallel.

- ``reference`` interprets every instruction one at a time (the oracle);
- ``fast`` runs a lane-parallel loop's iterations together, one lane each, and replays its timing
  (:mod:`socsim.sim.lanes`). Everything else runs as in the reference.

Both give bit-identical cycles, ledgers, outputs and conductances; ``tests/test_engines.py`` holds them
to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Generator

from isa.program import Instruction, Program

if TYPE_CHECKING:
    from socsim.sim.controller import Controller
    from socsim.sim.soc import Soc


class ReferenceEngine:
    """One instruction at a time: lane-parallel marks are ignored."""

    name = "reference"

    def __init__(self, soc: "Soc"):
        self.soc = soc
        self.loops: dict[int, object] = {}
        """The lane-parallel loops this engine runs, by the pc of their first instruction (none here: every
        instruction runs as usual)."""

    def load(self, program: Program, code: list[Instruction | None]) -> None:
        """A program was loaded."""

    def start(self, ctrl: "Controller") -> None:
        """A run starts with controller ``ctrl``."""

    def run_loop(self, ctrl: "Controller", loop: object) -> Generator:
        raise NotImplementedError


def _fast(soc: "Soc"):
    from socsim.sim.lanes.engine import FastEngine
    return FastEngine(soc)


ENGINES: dict[str, Callable[["Soc"], object]] = {"fast": _fast, "reference": ReferenceEngine}
"""Engine name -> constructor."""
DEFAULT_ENGINE = "fast"
ENGINE_HELP = ("how loops the program declares lane-parallel run: fast (default: iterations as lanes, timing replayed "
               "once it repeats) or reference (one instruction at a time); both give the same numbers bit for bit")
"""Command-line help of ``--engine`` (socsim run, train, sweep)."""


def make_engine(name: str, soc: "Soc"):
    """The engine called ``name``; an unknown name raises ValueError listing the valid ones."""
    try:
        return ENGINES[name](soc)
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; valid: {', '.join(sorted(ENGINES))}") from None
