"""What the SoC's actions cost: the energy table (pJ per action) and how digital and memory energies, area and
leakage scale with the CMOS node and each memory's capacity, word width and banks (docs/energy.md, docs/area.md).

:class:`~socsim.config.soc.SocConfig` composes them; import them from :mod:`socsim.config.soc` as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from socsim.base.configtools import Params, param
from socsim.config.parts import HOROWITZ, WU

MAX_PJ = 1e12
"""Highest price of one action (1 J): with any count a run's energy stays a finite number."""


class MvmPricing(enum.Enum):
    """How the tile's MVM actions are counted (and so priced)."""

    ACTIVE = "active"
    """The physical count: the active block's rows drive DAC pulses and its bit lines are converted."""
    FULL_TILE = "full_tile"
    """Every MVM vector is counted as a full-array operation (all rows, all bit lines), whatever the block:
    Wu et al.'s accounting of a tile operation (their Table 2 energies)."""


HOROWITZ_SRAM = ("fit to Horowitz, ISSCC 2014: 64-bit SRAM access 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB "
                 "(exponents 0.50 and 0.46)")

SRAM_WORD = ("first order: the bit lines and sense amplifiers of every bit of the word switch on each access "
             "(Horowitz 2014's 64-bit figures halved per 32-bit word)")
SRAM_BANKS = ("first order: a bank's bit and word lines are those of a memory of capacity / banks; the routing to it "
              "spans the whole memory (CACTI's banked H-tree organisation, Wilton and Jouppi, IEEE JSSC 31(5) 1996)")
LEAKAGE_RULE = ("first order: a transistor's leakage current is proportional to its width (off-current per um of "
                "width held about constant across nodes by the low-power roadmaps, ITRS PIDS tables), power = "
                "current x Vdd: per bit it falls as node x Vdd, slower than the dynamic energy (node x Vdd^2) and "
                "the area (node^2)")


@dataclass(frozen=True)
class TechConfig(Params):
    """How digital and memory energies scale with the CMOS node and each memory's capacity, word width and banks, and
    digital and SRAM area and leakage with the node (socsim.pricing.costs; docs/energy.md, "Scaling with node and
    capacity"; docs/area.md, "Scaling with the node"). The [energy] and [area] tables hold each figure at 45 nm and each
    memory's price at the reference capacity and word width below, in one bank: the preset's own, so every preset
    keeps its calibrated figures."""

    node_nm: float = param(45.0, unit="nm", lo=16.0, hi=130.0,
                           doc="CMOS node of the digital logic and SRAMs: their energy per action scales by "
                               "(node / 45) x (Vdd / 1.0 V)^2 with the PTM nominal supply",
                           source="C V^2 scaling (Dennard et al., IEEE JSSC 1974) with PTM supplies (Zhao and Cao, "
                                  "IEEE TED 2006); 45 nm: Horowitz 2014's node")
    capacity_exponent: float = param(0.5, lo=0.0, hi=2.0,
                                     doc="SRAM energy per access scales as (capacity / reference)^this",
                                     source=HOROWITZ_SRAM)
    dmem_ref_kbit: float = param(512.0, unit="kbit", lo=1.0, hi=float(1 << 24),
                                 doc="data-SRAM capacity at which energy.sram_read_pj / sram_write_pj hold",
                                 source=f"{WU}: the 512 kbit data memory the table was set for")
    acc_ref_kbit: float = param(512.0, unit="kbit", lo=1.0, hi=float(1 << 24),
                                doc="accumulator-SRAM capacity at which energy.sram_read_pj / sram_write_pj hold",
                                source="the default accumulator SRAM (design choice)")
    tbuf_ref_words: float = param(4096.0, unit="words", lo=1.0, hi=65536.0,
                                  doc="tile-buffer size at which energy.tbuf_access_pj holds",
                                  source="the default tile buffer (16 KiB; the 8 KB figure of Horowitz 2014 halved "
                                         "per 32-bit word)")
    ref_word_bits: int = param(32, unit="bits", lo=1, hi=1024,
                               doc="word width at which energy.sram_read_pj / sram_write_pj / tbuf_access_pj hold",
                               source="the 32-bit words of the controller and tile buffers (the 8 KB figure of "
                                      "Horowitz 2014 halved per 32-bit word)")
    dmem_word_bits: int = param(32, unit="bits", lo=1, hi=1024,
                                doc="bits read or written per data-SRAM access; energy per access scales linearly",
                                source=SRAM_WORD)
    acc_word_bits: int = param(32, unit="bits", lo=1, hi=1024,
                               doc="bits read or written per accumulator-SRAM access; energy per access scales "
                                   "linearly", source=SRAM_WORD)
    tbuf_word_bits: int = param(32, unit="bits", lo=1, hi=1024,
                                doc="bits read or written per tile-buffer access; energy per access scales linearly",
                                source=SRAM_WORD)
    dmem_banks: int = param(1, lo=1, hi=4096, doc="banks of the data SRAM (an access activates one bank)",
                            source=SRAM_BANKS)
    acc_banks: int = param(1, lo=1, hi=4096, doc="banks of the accumulator SRAM (an access activates one bank)",
                           source=SRAM_BANKS)
    tbuf_banks: int = param(1, lo=1, hi=4096, doc="banks of each tile buffer (an access activates one bank)",
                            source=SRAM_BANKS)
    routing_share: float = param(0.5, unit="fraction", lo=0.0, hi=1.0,
                                 doc="share of an SRAM access's energy spent in the routing to and from the bank "
                                     "(grows with the whole memory's capacity; the rest with one bank's)",
                                 source="estimate: the H-tree interconnect is the largest share of a large SRAM's "
                                        "access energy (Muralimanohar, Balasubramonian, Jouppi, 'CACTI 6.0', "
                                        "MICRO 2007)")
    area_node_exponent: float = param(2.0, lo=0.0, hi=4.0,
                                      doc="digital and SRAM area scales as (node / 45)^this",
                                      source="Dennard et al., IEEE JSSC 1974: dimensions scale by 1/k, area by 1/k^2")
    leakage_node_exponent: float = param(1.0, lo=0.0, hi=4.0,
                                         doc="digital and SRAM leakage scales as (node / 45)^this x (Vdd / 1.0 V)",
                                         source=LEAKAGE_RULE)


@dataclass(frozen=True)
class EnergyTable(Params):
    """Energy per action in pJ. Units count actions in the ledger; this table prices them, one field
    ``<action>_pj`` per action of ``socsim.base.actions.PRICED_BY_TABLE`` (an ADC conversion through the figure of merit
    ``adc_fom_fj`` and the converter's bits)."""

    REMOVED: ClassVar[dict[str, str]] = {
        "adc_conversion_pj": "a conversion costs energy.adc_fom_fj x 2^bits of tiles.physics.adc (docs/energy.md)"}

    ctrl_instr_pj: float = param(10.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one controller instruction",
                                 source="estimate for a 32-bit in-order RISC-V MCU core (docs/energy.md)")
    dac_pulse_pj: float = param(0.087890625, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one input row driven for one input bit",
                                source=f"{WU}: split of 2.66 nJ / 2.93 nJ (docs/energy.md)")
    array_cell_pj: float = param(0.001373291015625, unit="pJ", lo=0.0, hi=MAX_PJ,
                                 doc="one device (row x bit line) read for one input bit",
                                 source=f"{WU}: split of 2.66 nJ / 2.93 nJ (docs/energy.md)")
    adc_fom_fj: float = param(152.9541015625, unit="fJ/step", lo=0.0, hi=MAX_PJ,
                              doc="TIA + ADC energy per conversion step (Walden figure of merit): one conversion "
                                  "of an N-bit ADC costs adc_fom_fj x 2^N (action adc_conversion)",
                              source=f"{WU}: 2506 pJ per 64 8-bit conversions of the 2.66 nJ split / 2^8 "
                                     "(docs/energy.md); scaling: Walden, IEEE JSAC 17(4) 1999")
    adc_fs_set_pj: float = param(10.0, unit="pJ", lo=0.0, hi=MAX_PJ,
                                 doc="tgain: set a block's converter full scale (the tile's references and TIA "
                                     "gains)", source="estimate: 8 reference DACs settling, ~1 pJ each, and a "
                                                      "register write")
    shift_add_pj: float = param(1.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="digital combine of one bit-line output",
                                source="estimate from 8-bit adds (Horowitz 2014: 0.03 pJ each), with registers")
    set_pulse_pj: float = param(10.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one SET programming pulse",
                                source="estimate: 2 V x 50 uA x 100 ns (pulse voltages from Wu et al.)")
    reset_pulse_pj: float = param(10.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one RESET programming pulse",
                                  source="estimate: 2 V x 50 uA x 100 ns (pulse voltages from Wu et al.)")
    verify_read_pj: float = param(1.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one verify read of one device",
                                  source="estimate: read at 0.2 V, 30 uA, 100 ns plus sensing")
    readback_weight_pj: float = param(2.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="read one weight (two devices) back",
                                      source="estimate")
    du_op_pj: float = param(0.9, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one FP32 add/compare/move-class op",
                            source=f"{HOROWITZ}: FP32 add 0.9 pJ")
    du_mac_pj: float = param(4.6, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one FP32 multiply-accumulate",
                             source=f"{HOROWITZ}: FP32 mult 3.7 pJ + add 0.9 pJ")
    du_special_pj: float = param(15.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one exp, sqrt or divide",
                                 source="estimate: ~4 multiply-adds (iterative / polynomial)")
    sram_read_pj: float = param(10.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="read one 32-bit word",
                                source=f"{HOROWITZ}: 32 KB SRAM, 20 pJ per 64-bit read")
    sram_write_pj: float = param(10.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="write one 32-bit word",
                                 source=f"{HOROWITZ}: 32 KB SRAM, 20 pJ per 64-bit access")
    tbuf_access_pj: float = param(2.5, unit="pJ", lo=0.0, hi=MAX_PJ, doc="read or write one word of a tile buffer",
                                  source=f"{HOROWITZ}: 8 KB SRAM, 10 pJ per 64-bit read, halved per 32-bit")
    bus_beat_pj: float = param(12.8, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one 64-bit bus beat over ~2 mm",
                               source="estimate: 0.1 pJ/bit/mm on-chip wire (docs/energy.md)")
    dram_word_pj: float = param(1000.0, unit="pJ", lo=0.0, hi=MAX_PJ, doc="one 32-bit word to or from DRAM",
                                source=f"{HOROWITZ}: DRAM 1.3-2.6 nJ per 64-bit access, ~2 nJ")
    mvm_pricing: MvmPricing = param(MvmPricing.ACTIVE,
                                    doc="active: DAC pulses, cell reads and conversions of the active block; "
                                        "full_tile: every MVM vector counted as a full-array operation",
                                    source=f"full_tile: {WU}, Table 2 (a full tile operation per MVM)")
