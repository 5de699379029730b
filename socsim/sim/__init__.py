"""The event-driven SoC model (SimPy): controller, CIM tiles, digital unit, DMA, bus, SRAMs, DRAM."""

from socsim.sim.result import Result
from socsim.sim.soc import Soc
from socsim.sim.traps import Trap, TrapKind

__all__ = ["Result", "Soc", "Trap", "TrapKind"]
