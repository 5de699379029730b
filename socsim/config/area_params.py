"""The priced table of area and leakage (the config's ``[area]``): one number per entry, with its unit and source.

:mod:`socsim.pricing.area` turns it into the area and leakage of every component of a config; the ledger prices
each component's ``leakage`` rows (pJ per cycle) from it. docs/area.md explains every entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsim.base.configtools import Params, param

NEUROSIM = "NeuroSim (Peng, Huang, Yu; DNN_NeuroSim V1/V2 Param.cpp)"
ISAAC = "Shafiee et al., 'ISAAC', ISCA 2016, Table 1 (32 nm)"
GATES = "estimate: ~1e6 gates per mm^2 in a 40 nm-class process"
MAX_UM2 = 1e9
"""Largest area of one part (1000 mm^2)."""
MAX_UW = 1e9
"""Largest leakage of one part (1 kW)."""


@dataclass(frozen=True)
class AreaTable(Params):
    """Area and leakage per component, first order. Areas in um^2 (or F^2 of ``feature_nm``), leakage in uW."""

    feature_nm: float = param(40.0, unit="nm", lo=1.0, hi=1000.0,
                              doc="feature size F of the F^2 cell areas (the technology node)",
                              source="assumption: a 40 nm-class embedded RRAM process; set it per design point")
    rram_cell_f2: float = param(48.0, unit="F^2", lo=1.0, hi=10000.0, doc="one 1T1R device cell of a crossbar",
                                source=f"{NEUROSIM}: 1T1R cell 4F x 12F")
    sram_cell_f2: float = param(280.0, unit="F^2", lo=1.0, hi=10000.0, doc="one SRAM bit cell (6T)",
                                source=f"{NEUROSIM}: SRAM cell 10F x 28F")
    sram_periphery: float = param(0.5, unit="x cell area", lo=0.0, hi=100.0,
                                  doc="SRAM decoders, sense amplifiers and drivers as a fraction of the cells' area",
                                  source="estimate: CACTI-style array efficiency of about 2/3")
    sram_leakage_pw_per_bit: float = param(30.0, unit="pW/bit", lo=0.0, hi=1e6,
                                           doc="standby leakage of one SRAM bit, periphery included",
                                           source="estimate for a low-power 40 nm process (tens of pW per bit)")
    adc_um2: float = param(1200.0, unit="um^2", lo=0.0, hi=MAX_UM2,
                           doc="one SAR ADC of adc_ref_bits bits", source=f"{ISAAC}: 8-bit 1.28 GS/s SAR ADC, "
                                                                          "0.0012 mm^2")
    adc_ref_bits: int = param(8, unit="bits", lo=1, hi=16, doc="resolution at which adc_um2 is given",
                              source=ISAAC)
    adc_area_per_bit: float = param(2.0, unit="x per bit", lo=1.0, hi=4.0,
                                    doc="ADC area ratio per extra bit of resolution",
                                    source="first order: a SAR's capacitive DAC holds 2^bits unit capacitors")
    tia_um2: float = param(200.0, unit="um^2", lo=0.0, hi=MAX_UM2,
                           doc="one transimpedance amplifier (one per ADC, after the bit-line multiplexer)",
                           source="estimate: a small two-stage amplifier with its feedback resistor")
    tia_bias_uw: float = param(1.0, unit="uW", lo=0.0, hi=MAX_UW, doc="static bias power of one TIA",
                               source="estimate: ~1 uA bias at ~1 V")
    dac_um2: float = param(0.166, unit="um^2", lo=0.0, hi=MAX_UM2, doc="one 1-bit input driver (DAC) of a word line",
                           source=f"{ISAAC}: 8 x 128 1-bit DACs, 0.00017 mm^2")
    shift_add_um2: float = param(60.0, unit="um^2", lo=0.0, hi=MAX_UM2, doc="one shift-and-add unit (one per ADC)",
                                 source=f"{ISAAC}: 4 shift-and-add units, 0.00024 mm^2")
    du_lane_um2: float = param(10000.0, unit="um^2", lo=0.0, hi=MAX_UM2,
                               doc="one FP32 multiply-add lane of the digital unit",
                               source=f"{GATES}; an FP32 fused multiply-add is ~1e4 gates")
    controller_um2: float = param(20000.0, unit="um^2", lo=0.0, hi=MAX_UM2,
                                  doc="the controller core (its instruction memory is counted as SRAM)",
                                  source=f"{GATES}; a 32-bit in-order microcontroller core is ~2e4 gates")
    dma_um2: float = param(5000.0, unit="um^2", lo=0.0, hi=MAX_UM2, doc="one DMA channel (address generator, "
                                                                         "descriptor registers)",
                           source=f"{GATES}; ~5e3 gates")
    logic_leakage_uw_per_mm2: float = param(100.0, unit="uW/mm^2", lo=0.0, hi=1e7,
                                            doc="leakage of logic and converters per mm^2 of their area",
                                            source=f"{GATES} at ~0.1 nW leakage per gate (low-power process)")
