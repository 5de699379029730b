"""What the controller, its waiting operations and the engines use of the SoC: the :class:`Machine` protocol
:class:`socsim.sim.soc.Soc` satisfies. They are written against this, not against ``Soc``, so the SoC builds its
controller and its engine without the two importing each other. It names the units and memories, which import none
of them back (the controller is given its engine: :class:`socsim.sim.controller.LoopEngine`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

if TYPE_CHECKING:
    from isa.program import Instruction, Program
    from socsim.config.soc import SocConfig
    from socsim.sim.clock import Clock
    from socsim.sim.digital import DigitalUnit
    from socsim.sim.dma import Dma
    from socsim.sim.fabric import Fabric
    from socsim.sim.ledger import Ledger
    from socsim.sim.memory import Memory
    from socsim.sim.operands import Plan
    from socsim.sim.ops.base import Op
    from socsim.sim.profile import Profile
    from socsim.sim.scoreboard import Scoreboard
    from socsim.sim.tile import Tile
    from socsim.sim.unit import Unit


class Machine(Protocol):
    """The SoC's units, memories, clock, ledger and loaded program, as the controller sees them."""

    cfg: SocConfig
    env: Clock
    ledger: Ledger
    scoreboard: Scoreboard
    memory: Memory
    fabric: Fabric
    tiles: list[Tile]
    dma: list[Dma]
    du: DigitalUnit
    timing_only: bool
    """Numerics skipped (socsim.sim.timing_only)."""
    keep_timeline: bool
    """Every unit job is kept for the timeline table."""
    deadline: float | None
    """Host wall-clock time (time.monotonic) past which the run traps; None: no limit."""
    program: Program
    code: list[Instruction | None]
    """The decoded instruction memory, by pc (None: a word that does not decode; ``decode_error`` says why)."""
    ops: list[Op | None]
    plans: list[Plan | None]
    decode_error: str
    hooks: dict[int, Callable[[], None]]
    """Host callbacks by pc (progress bars), called when the controller reaches it."""
    profile: Profile | None
    """Per-pc counters of the run (socsim.sim.profile), or None."""

    def all_units(self) -> list[Unit]:
        """Every unit that runs jobs: the DMA channels, the digital unit, the tiles."""
        ...

    def pick_dma(self) -> Dma:
        """The DMA channel a transfer goes to."""
        ...

    def unit_states(self) -> str:
        """What each busy unit is doing (for a trap's message)."""
        ...
