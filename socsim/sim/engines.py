"""The table of the two engines: how the controller runs a loop the compiler marked lane-parallel.

- ``reference`` interprets every instruction one at a time (the oracle);
- ``fast`` runs a lane-parallel loop's iterations together, one lane each, and replays its timing
  (:mod:`socsim.sim.lanes`). Everything else runs as in the reference.

Both give bit-identical cycles, ledgers, outputs and conductances; ``tests/test_engines.py`` holds them
to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from socsim.base.errors import InputError
from socsim.sim.lanes.engine import FastEngine
from socsim.sim.reference import ReferenceEngine

if TYPE_CHECKING:
    from socsim.sim.machine import Machine


ENGINES: dict[str, Callable[["Machine"], ReferenceEngine]] = {"fast": FastEngine, "reference": ReferenceEngine}
"""Engine name -> constructor."""
DEFAULT_ENGINE = "fast"
ENGINE_HELP = ("how loops the program declares lane-parallel run: fast (default: iterations as lanes, timing replayed "
               "once it repeats) or reference (one instruction at a time); both give the same numbers bit for bit")
"""Command-line help of ``--engine`` (socsim run, train, sweep)."""


def make_engine(name: str, soc: "Machine"):
    """The engine called ``name``; an unknown name is an :class:`InputError` listing the valid ones."""
    try:
        return ENGINES[name](soc)
    except KeyError:
        raise InputError(f"unknown engine {name!r}; valid: {', '.join(sorted(ENGINES))}") from None
