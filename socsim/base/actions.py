"""The ledger's actions: every kind of row a unit records, one name each (docs/energy.md, docs/architecture.md,
"The ledger").

An action is priced by the energy table (the ``EnergyTable`` field :attr:`Action.price_field`, ``<action>_pj``), by
a model (:data:`MODELLED`: an ADC conversion costs ``energy.adc_fom_fj`` x the configured converter's steps), per
component from the area table (:attr:`Action.LEAKAGE`), or not at all (:data:`COUNTERS`). ``tests/test_actions.py``
holds the energy table and this list to each other. A str enum: the ledger's rows, its tables and the run folder's
files hold the same strings the names always were.
"""

from __future__ import annotations

import enum


class Action(enum.StrEnum):
    """One kind of ledger row (its ``action`` column)."""

    CTRL_INSTR = "ctrl_instr"
    """One controller instruction (its cycles: the controller's busy time)."""
    DAC_PULSE = "dac_pulse"
    """One input row (a bit line, transposed) driven for one pulse slot."""
    ARRAY_CELL = "array_cell"
    """One device read for one pulse slot."""
    ADC_CONVERSION = "adc_conversion"
    """One ADC conversion (priced by the converter model: :data:`MODELLED`)."""
    ADC_FS_SET = "adc_fs_set"
    """``tgain``: a block's converter full scale set."""
    SHIFT_ADD = "shift_add"
    """The digital combine of one converted output."""
    SET_PULSE = "set_pulse"
    RESET_PULSE = "reset_pulse"
    VERIFY_READ = "verify_read"
    """One verify read of one device while programming."""
    READBACK_WEIGHT = "readback_weight"
    """``rdw``: one weight read back."""
    DU_OP = "du_op"
    """One FP32 add, compare or move-class operation of the digital unit (or of a tile's stream stages)."""
    DU_MAC = "du_mac"
    """One FP32 multiply-accumulate."""
    DU_SPECIAL = "du_special"
    """One exp, sqrt or divide."""
    SRAM_READ = "sram_read"
    """One word read from an SRAM (the data or the accumulator SRAM: the row's component)."""
    SRAM_WRITE = "sram_write"
    TBUF_ACCESS = "tbuf_access"
    """One word read or written in a tile buffer."""
    BUS_BEAT = "bus_beat"
    """One bus beat of a DMA transfer."""
    DRAM_WORD = "dram_word"
    """One word to or from DRAM."""
    BUSY = "busy"
    """A unit job's busy cycles (count 1 per job)."""
    CELLS_WRITTEN = "cells_written"
    """Weights a programming instruction addressed."""
    ADC_SATURATED = "adc_saturated"
    """Conversions whose input exceeded the converter's range (already priced as :attr:`ADC_CONVERSION`)."""
    TILE_MAC = "tile_mac"
    """One multiply-accumulate of a tile MVM: one weight and one input element, whatever the pulses, slices or
    pairs that compute it (TOPS/W's operations, socsim.report.headline)."""
    ELAPSED = "elapsed"
    """The run's elapsed cycles by layer and phase (component ``chip``, socsim.sim.elapsed)."""
    LEAKAGE = "leakage"
    """Static energy: the count is cycles, priced at the component's leakage in pJ per cycle (socsim.pricing.area)."""

    @property
    def price_field(self) -> str:
        """The ``EnergyTable`` field that prices one of this action, in pJ (``<action>_pj``)."""
        return f"{self.value}_pj"


COUNTERS = frozenset({Action.BUSY, Action.CELLS_WRITTEN, Action.ADC_SATURATED, Action.TILE_MAC, Action.ELAPSED})
"""Actions counted without energy."""
MODELLED = frozenset({Action.ADC_CONVERSION})
"""Actions a model prices rather than an energy-table field (an ADC conversion: ``energy.adc_fom_fj`` x the
converter's steps, socsim.sim.tile.converter_prices)."""
PER_COMPONENT = frozenset({Action.LEAKAGE})
"""Actions priced per component (leakage: pJ per cycle from the area table)."""
PRICED_BY_TABLE = tuple(a for a in Action if a not in COUNTERS | MODELLED | PER_COMPONENT)
"""Actions the energy table prices, one field each (:attr:`Action.price_field`)."""
