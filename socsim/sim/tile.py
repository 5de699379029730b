"""A CIM tile: timing of MVMs (DAC pulses, ADC conversions shared by column groups) and programming."""

from __future__ import annotations

from typing import Callable

import simpy

from socsim.config import TileConfig
from socsim.physics import Crossbar
from socsim.physics.adc import conversions_per_output
from socsim.physics.dac import pulse_slots
from socsim.physics.params import DacEncoding
from socsim.sim.ledger import Ledger
from socsim.sim.ops import Block
from socsim.sim.unit import Job, Unit


class Tile(Unit):
    """One array with its DACs, ADCs and buffer; numerics live in its :class:`Crossbar`.

    ``crossbar`` is a Crossbar, or a function building one on first use (a large SoC then holds device
    state only for the tiles a program touches; each tile's seed is its own, so the state is the
    same whenever it is built), or None when the SoC runs without numerics (timing-only mode).
    """

    priority = 2

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: TileConfig,
                 crossbar: Crossbar | Callable[[], Crossbar] | None):
        super().__init__(env, name, ledger)
        self.cfg = cfg
        self._make: Callable[[], Crossbar] | None = None if isinstance(crossbar, Crossbar) else crossbar
        self._crossbar: Crossbar | None = crossbar if isinstance(crossbar, Crossbar) else None
        self._read_costs: dict[tuple[int, bool], tuple[int, int]] = {}
        self.block: Block = (0, 0, cfg.rows, cfg.weight_cols, 8)
        """Active block: (r0, c0, rows, cols, in_bits), set by tcfg at issue."""

    @property
    def crossbar(self) -> Crossbar | None:
        if self._crossbar is None and self._make is not None:
            self._crossbar, self._make = self._make(), None
        return self._crossbar

    @crossbar.setter
    def crossbar(self, value: Crossbar | None) -> None:
        self._crossbar, self._make = value, None

    def bitlines(self, cols: int) -> int:
        return cols * self.cfg.devices_per_weight

    def read_cost(self, in_bits: int, transposed: bool = False) -> tuple[int, int]:
        """(pulse slots per input code, ADC conversions per output) of the tile's DAC (the bit lines' when
        ``transposed``) and ADC at ``in_bits``."""
        cost = self._read_costs.get((in_bits, transposed))
        if cost is None:
            phys = self.cfg.physics
            dac = phys.dac_t if transposed else phys.dac
            radix4 = dac.radix4_exponents_per_pulse if dac.encoding is DacEncoding.RADIX4 else 0
            slots = pulse_slots(dac.levels_per_pulse, in_bits, radix4)
            cost = self._read_costs[(in_bits, transposed)] = (slots, conversions_per_output(phys.adc.kind, slots))
        return cost

    def mvm_cycles(self, n: int, cols: int, conversions: int = 1) -> int:
        """n vectors: each reads its bit lines in ``min(bitlines_per_adc, active)`` ADC steps of ``conversions``
        conversions (1 for BWMCS, one per pulse for shift-and-add)."""
        steps = min(self.cfg.bitlines_per_adc, self.bitlines(cols))
        return n * steps * conversions * self.cfg.adc_conversion_cycles

    def mvmt_cycles(self, n: int, rows: int, conversions: int = 1) -> int:
        steps = min(self.cfg.rows_per_adc_transposed, rows)
        return n * steps * conversions * self.cfg.adc_conversion_cycles

    def finish(self, job: Job, start: int) -> int:
        cycles, actions = job.op.tile_cost(self, job.ops.values, job.report)
        self.record(job, "busy", 1, cycles)
        for action, count in actions:
            self.record(job, action, count)
        self.record_operand_access(job)
        return start + cycles
