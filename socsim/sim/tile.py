"""A CIM tile: timing of MVMs (DAC pulses, ADC conversions shared by column groups) and programming."""

from __future__ import annotations

from typing import Callable

import simpy

from socsim.config import TileConfig
from socsim.physics import Crossbar, ProgramReport
from socsim.physics.adc import conversions_per_output
from socsim.physics.dac import pulse_slots
from socsim.sim.ledger import Ledger
from socsim.sim.unit import Job, Unit


class Tile(Unit):
    """One array with its DACs, ADCs and buffer; numerics live in its :class:`Crossbar`.

    ``crossbar`` is a Crossbar, or a function building one on first use (a large SoC then holds device
    state only for the tiles a program touches; each tile's generator is its own, so the state is the
    same whenever it is built), or None when the SoC runs without numerics (timing-only mode).
    """

    priority = 2

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: TileConfig,
                 crossbar: Crossbar | Callable[[], Crossbar] | None):
        super().__init__(env, name, ledger)
        self.cfg = cfg
        self._make: Callable[[], Crossbar] | None = None if isinstance(crossbar, Crossbar) else crossbar
        self._crossbar: Crossbar | None = crossbar if isinstance(crossbar, Crossbar) else None
        self._read_costs: dict[int, tuple[int, int]] = {}
        self.block = (0, 0, cfg.rows, cfg.weight_cols, 8)
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

    def read_cost(self, in_bits: int) -> tuple[int, int]:
        """(pulse slots per input code, ADC conversions per output) of the tile's DAC and ADC at ``in_bits``."""
        cost = self._read_costs.get(in_bits)
        if cost is None:
            phys = self.cfg.physics
            slots = pulse_slots(phys.dac.levels_per_pulse, in_bits)
            cost = self._read_costs[in_bits] = (slots, conversions_per_output(phys.adc.kind, slots))
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
        mn = job.ins.spec.mnemonic
        v = job.ops.values
        rows, cols = v["ROWS"], v["COLS"]
        if mn == "tcfg":
            cycles = self.cfg.config_cycles
        elif mn in ("mvm", "mvmt"):
            n = v["n"]
            slots, conv = self.read_cost(v["IN_BITS"])
            cycles = self.mvm_cycles(n, cols, conv) if mn == "mvm" else self.mvmt_cycles(n, rows, conv)
            drive, convert = (rows, self.bitlines(cols)) if mn == "mvm" else (self.bitlines(cols), rows)
            self.record(job, "dac_pulse", n * drive * slots)
            self.record(job, "array_cell", n * rows * self.bitlines(cols) * slots)
            self.record(job, "adc_conversion", n * convert * conv)
            self.record(job, "adc_saturated", job.info.get("saturated", 0))
            self.record(job, "shift_add", n * convert * conv)
        elif mn in ("wv", "pulse"):
            rep: ProgramReport = job.info["report"]
            slots = -(-(rep.set_pulses + rep.reset_pulses) // self.cfg.program_parallel_cells)
            cycles = max(1, slots * self.cfg.program_round_cycles)
            self.record(job, "set_pulse", rep.set_pulses)
            self.record(job, "reset_pulse", rep.reset_pulses)
            self.record(job, "verify_read", rep.verify_reads)
            self.record(job, "cells_written", rep.cells)
        else:  # rdw
            cycles = rows * self.cfg.readback_cycles_per_row
            self.record(job, "readback_weight", rows * cols)
        self.record(job, "busy", 1, cycles)
        self.record_operand_access(job)
        return start + cycles
