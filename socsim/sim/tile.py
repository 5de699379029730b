"""A CIM tile: timing of MVMs (DAC pulses, ADC conversions shared by column groups) and programming."""

from __future__ import annotations

from typing import Generator

import simpy

from socsim.config import TileConfig
from socsim.physics import Crossbar, ProgramReport
from socsim.sim.ledger import Ledger
from socsim.sim.unit import Job, Unit


class Tile(Unit):
    """One array with its DACs, ADCs and buffer; numerics live in its :class:`Crossbar`."""

    priority = 2

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: TileConfig, crossbar: Crossbar):
        super().__init__(env, name, ledger)
        self.cfg, self.crossbar = cfg, crossbar
        self.block = (0, 0, cfg.rows, cfg.weight_cols, 8)
        """Active block: (r0, c0, rows, cols, in_bits), set by tcfg at issue."""

    def bitlines(self, cols: int) -> int:
        return 2 * cols if self.cfg.differential else cols

    def mvm_cycles(self, n: int, cols: int) -> int:
        """n vectors: each reads its bit lines in ``min(bitlines_per_adc, active)`` ADC steps."""
        steps = min(self.cfg.bitlines_per_adc, self.bitlines(cols))
        return n * steps * self.cfg.adc_conversion_cycles

    def mvmt_cycles(self, n: int, rows: int) -> int:
        steps = min(self.cfg.rows_per_adc_transposed, rows)
        return n * steps * self.cfg.adc_conversion_cycles

    def execute(self, job: Job) -> Generator:
        mn = job.ins.spec.mnemonic
        v = job.ops.values
        rows, cols, bits = v["ROWS"], v["COLS"], max(1, v["IN_BITS"])
        if mn == "tcfg":
            cycles = self.cfg.config_cycles
        elif mn in ("mvm", "mvmt"):
            n = v["n"]
            cycles = self.mvm_cycles(n, cols) if mn == "mvm" else self.mvmt_cycles(n, rows)
            drive, convert = (rows, self.bitlines(cols)) if mn == "mvm" else (self.bitlines(cols), rows)
            self.record(job, "dac_pulse", n * drive * bits)
            self.record(job, "array_cell", n * rows * self.bitlines(cols) * bits)
            self.record(job, "adc_conversion", n * convert)
            self.record(job, "shift_add", n * convert)
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
        self.record_operand_access(job)
        yield self.env.timeout(cycles)
        self.record(job, "busy", 1, cycles)
