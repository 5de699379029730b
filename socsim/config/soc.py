"""SoC configuration: frozen dataclasses (meaning, units, ranges, sources) and preset loading.

Numbers live in ``socsim/presets/*.toml``; a preset names its ``base`` and changes only what
differs. ``load_config("wu2023")`` loads a preset by name, ``load_config("my.toml")`` a file.
See ``docs/config.md`` (generated from these dataclasses) for every field.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from socsim.base.configtools import ConfigError, Params, deep_merge, from_mapping, param
from socsim.base.fileio import read_toml
from socsim.config.area_params import AreaTable
from socsim.physics.fitted import fitted_path
from socsim.physics.params import PairReadout, PhysicsParams
from socsim.physics.registry import is_exact, slices

PRESET_DIR = Path(__file__).parent.parent / "presets"
DEFAULT_PRESET = "wu2023"
WU = "Wu et al. 2023, arXiv 2305.14547"
HOROWITZ = "Horowitz, ISSCC 2014, 'Computing's energy problem' (45 nm)"
MAX_TILES = 2048
"""Most tiles a config may have: tile t's buffer starts at word t x 2^16 of its space, and the lowering reaches the
words past the 24-bit operand offset through the 8 base registers x21..x28 (isa/spec.py, socsim/compiler/emit.py)."""
MAX_PJ = 1e12
"""Highest price of one action (1 J): with any count a run's energy stays a finite number."""


class MvmPricing(enum.Enum):
    """How the tile's MVM actions are counted (and so priced)."""

    ACTIVE = "active"
    """The physical count: the active block's rows drive DAC pulses and its bit lines are converted."""
    FULL_TILE = "full_tile"
    """Every MVM vector is counted as a full-array operation (all rows, all bit lines), whatever the block:
    Wu et al.'s accounting of a tile operation (their Table 2 energies)."""


class Arbitration(enum.Enum):
    """How the shared bus grants requests."""

    FIFO = "fifo"
    """In order of request."""
    PRIORITY = "priority"
    """Lower unit priority number first (DMA before digital unit before tiles), FIFO among equals."""


@dataclass(frozen=True)
class ControllerConfig(Params):
    """The RISC-class controller that fetches, decodes and issues in order."""

    imem_kbit: int = param(32, unit="kbit", lo=1, hi=1 << 20, doc="instruction memory", source=WU)
    dmem_kbit: int = param(512, unit="kbit", lo=1, hi=1 << 24,
                           doc="data memory (the on-chip data SRAM, space 'sram')", source=WU)
    alu_cycles: int = param(1, unit="cycles", lo=1, hi=64, doc="scalar ALU instruction")
    branch_taken_penalty_cycles: int = param(2, unit="cycles", lo=0, hi=64,
                                             doc="extra cycles of a taken branch or jump (pipeline refill)")
    issue_cycles: int = param(1, unit="cycles", lo=1, hi=64, doc="issuing one instruction to a unit")
    unit_queue_depth: int = param(4, unit="instructions", lo=1, hi=1024,
                                  doc="instructions a unit may hold waiting before the controller stalls")
    max_cycles: int = param(1 << 40, unit="cycles", lo=1,
                            doc="stop a run with a trap past this many cycles from its start")
    trap_on_nan: bool = param(True, doc="trap when an instruction produces NaN or inf")


@dataclass(frozen=True)
class TileConfig(Params):
    """The CIM tiles: array geometry, how bit lines share converters, and the physics model behind them.

    A conversion's cycles and energy follow the ADC model and its bits (``physics.adc``; docs/energy.md)."""

    REMOVED: ClassVar[dict[str, str]] = {
        "adc_conversion_cycles": "a conversion's cycles follow tiles.physics.adc.kind and bits (docs/energy.md)"}

    count: int = param(4, unit="tiles", lo=1, hi=MAX_TILES, source=WU,
                       doc="CIM tiles; tile buffers past word 2^24 of the tile-buffer space are reached through "
                           "base registers (docs/compiler.md), so at most 2048")
    rows: int = param(64, unit="word lines", lo=1, hi=4095, doc="inputs per array", source=WU)
    bitlines: int = param(64, unit="bit lines", lo=2, hi=8190, doc="columns of devices", source=WU)
    differential: bool = param(True, doc="a weight is a G+/G- pair on adjacent bit lines", source=WU)
    bitlines_per_adc: int = param(8, unit="bit lines", lo=1, hi=8190,
                                  doc="bit lines multiplexed onto one ADC (converted in sequence)", source=WU)
    rows_per_adc_transposed: int = param(8, unit="word lines", lo=1, hi=4095,
                                         doc="rows multiplexed per ADC for transposed reads")
    transposed_mvm: bool = param(False, doc="the array can be read transposed (mvmt); Wu et al.'s cannot",
                                 source=WU)
    buffer_words: int = param(4096, unit="words", lo=1, hi=65536,
                              doc="each tile's input/output buffer (space tbN), 32-bit words")
    config_cycles: int = param(1, unit="cycles", lo=0, hi=1024, doc="tcfg")
    program_round_cycles: int = param(20, unit="cycles", lo=1, hi=1 << 20,
                                      doc="one programming pulse slot incl. its verify read (200 ns at 100 MHz; "
                                          "estimate)")
    program_parallel_cells: int = param(32, unit="weights", lo=1, hi=1 << 20,
                                        doc="weights pulsed in one slot (one row of the array)")
    readback_cycles_per_row: int = param(9, unit="cycles", lo=1, hi=1024, doc="rdw: read one row of weights")
    stream_words_per_cycle: int = param(1, unit="words/cycle", lo=1, hi=1024,
                                        doc="mvms: words per cycle the tile's own address generator reads from an "
                                            "on-chip memory into its double-buffered input, and its output stage "
                                            "writes back (a port of its own, not the shared bus)",
                                        source="design choice (docs/compiler.md, 'Pipelined datapath')")
    psum_add_cycles: int = param(1, unit="cycles", lo=0, hi=1024,
                                 doc="mvms: the output stage's last partial-sum add and epilogue after the job's "
                                     "last conversion and its partial-sum producer", source="design choice")
    physics: PhysicsParams = param(PhysicsParams(), doc="array model and its parameters (docs/physics.md)")

    @property
    def devices_per_weight(self) -> int:
        """Bit lines one weight occupies: 2 per differential pair (1 single-ended), times the physics' slices."""
        return (2 if self.differential else 1) * slices(self.physics)

    @property
    def weight_slices(self) -> int:
        """Device pairs (or single devices) of different significance per weight: a transposed read converts each
        slice's row sum separately, so it reads the slices one after the other."""
        return slices(self.physics)

    @property
    def converted_per_weight(self) -> int:
        """Converter inputs one weight column has: every bit line (``devices_per_weight``), or one per pair when a
        differential pair is subtracted before the converter (``physics.adc.pair_readout = analog``)."""
        if self.differential and self.physics.adc.pair_readout is PairReadout.ANALOG:
            return slices(self.physics)
        return self.devices_per_weight

    @property
    def inputs_per_adc(self) -> int:
        """Converter inputs one ADC converts in sequence: the ``bitlines_per_adc`` bit lines it serves, or the pairs
        they form when each pair is subtracted before the converter (rounded up)."""
        return -(-self.bitlines_per_adc * self.converted_per_weight // self.devices_per_weight)

    @property
    def weight_cols(self) -> int:
        """Weights per row: bit lines / devices per weight."""
        return self.bitlines // self.devices_per_weight

    @property
    def adcs(self) -> int:
        return -(-self.bitlines // self.bitlines_per_adc)

    def validate(self) -> None:
        if not self.differential and not is_exact(self.physics):
            raise ConfigError(f"TileConfig.differential = false: the array model {self.physics.model!r} stores each "
                              "weight as G+/G- pairs and reads both devices, so a single-ended array would be "
                              "priced (half the bit lines) but not simulated; set differential = true (or "
                              "physics.model = 'ideal', which has no devices)")
        if self.differential and self.bitlines % 2:
            raise ConfigError(f"TileConfig.bitlines = {self.bitlines} must be even for differential pairs")
        if self.weight_cols < 1:
            raise ConfigError(f"TileConfig.bitlines = {self.bitlines} holds no weight: one weight needs "
                              f"{self.devices_per_weight} bit lines ({self.physics.model})")


@dataclass(frozen=True)
class DigitalUnitConfig(Params):
    """The digital vector/matrix unit (FP32)."""

    lanes: int = param(16, unit="FP32 lanes", lo=1, hi=4096, doc="elementwise ops or MACs per cycle")
    startup_cycles: int = param(4, unit="cycles", lo=0, hi=4096, doc="pipeline fill per instruction")
    special_cycles: int = param(4, unit="cycles", lo=1, hi=256,
                                doc="cycles per lane for exp, sqrt, divide")


@dataclass(frozen=True)
class SramConfig(Params):
    """On-chip SRAMs: the data SRAM is the controller's data memory; the accumulator SRAM is separate."""

    acc_kbit: int = param(512, unit="kbit", lo=1, hi=1 << 24,
                          doc="accumulator SRAM (space 'acc') for weight-update accumulation (design choice)")
    ports: int = param(2, unit="ports", lo=1, hi=64, doc="concurrent accesses to the data and accumulator SRAMs")
    access_cycles: int = param(1, unit="cycles", lo=1, hi=64, doc="one access")


@dataclass(frozen=True)
class BusConfig(Params):
    """The shared AXI-like system bus."""

    width_bytes: int = param(8, unit="bytes/cycle", lo=1, hi=1024, doc="data beat width")
    arbitration: Arbitration = param(Arbitration.FIFO, doc="fifo or priority")
    grant_bytes: int = param(2048, unit="bytes", lo=4, hi=1 << 20,
                             doc="bytes a master moves per bus grant before it re-arbitrates: one burst",
                             source="AMBA AXI4: INCR bursts of up to 256 beats; 256 x 8-byte beats")
    grant_cycles: int = param(1, unit="cycles", lo=0, hi=64, doc="arbitration / address phase per grant")


@dataclass(frozen=True)
class DmaConfig(Params):
    """The DMA engine (also executes on-chip copies, gathers and scatters)."""

    setup_cycles: int = param(4, unit="cycles", lo=0, hi=4096, doc="descriptor setup per transfer")
    channels: int = param(2, unit="channels", lo=1, hi=16,
                          doc="independent DMA channels; a transfer goes to the least busy one (bus masters)")


@dataclass(frozen=True)
class DramConfig(Params):
    """Off-chip DRAM behind the DMA."""

    capacity_mib: int = param(1024, unit="MiB", lo=1, hi=1 << 20)
    latency_cycles: int = param(20, unit="cycles", lo=0, hi=1 << 16,
                                doc="first-word latency per transfer (~200 ns at 100 MHz; estimate)")
    bytes_per_cycle: int = param(8, unit="bytes/cycle", lo=1, hi=1024, doc="sustained bandwidth")


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


class Scheme(enum.Enum):
    """Training scheme (config + compiler recipe), see docs/training.md."""

    WU2023 = "wu2023"
    """Forward on the arrays, digital backward from the weight copy, accumulate, threshold write-verify."""
    NAIVE = "naive"
    """No accumulation: every batch, each weight is written to (what its devices hold + the update),
    and the digital copy is then read back from the devices, so updates below a level are lost."""
    IDEAL = "ideal"
    """As wu2023 on ideal devices and converters; must match the numpy baseline."""
    MP_ONARRAY = "mp_onarray"
    """Nandakumar-style: backward by transposed MVM on the arrays, pulses = trunc(acc / eps) open loop."""
    PCM_HIC = "pcm_hic"
    """Hybrid binary + multi-level PCM: backward on the arrays, low-precision accumulator, open-loop pulses
    on the multi-level slice with refresh into the binary slices (Joshi et al. 2021)."""
    RADIX4 = "radix4"
    """Grimm, Lee, Verma 2024 on Sun et al. 2020's number formats: INT weights and activations forward, radix-4 FP4
    backward errors (GradScale, two-phase rounding) driven through the transposed arrays, FP32 master weights
    re-quantised every batch."""
    RADIX4_DIGITS = "radix4_digits"
    """The earlier reading of radix-4: integer activations and errors driven as radix-4 digit pulses (4 levels);
    backward on the arrays, wu2023 transfer."""


ERROR_SCALINGS = ("percentile", "fixed")
"""train.error_scaling values: the chip's per-layer statistic, or the fixed train.error_range."""


@dataclass(frozen=True)
class TrainConfig(Params):
    """How the compiled program trains: scheme, optimizer, batch, quantisation of the tile inputs."""

    scheme: Scheme = param(Scheme.WU2023, doc="wu2023, naive, ideal, mp_onarray, pcm_hic, radix4 or radix4_digits "
                                              "(socsim/compiler/recipes.py)")
    epochs: int = param(2, unit="epochs", lo=1, hi=100000)
    batch: int = param(64, unit="images", lo=1, hi=65535, source=WU)
    optimizer: str = param("adamw", doc="adamw or sgd")
    lr: float = param(0.004, lo=0.0, hi=10.0, source=WU)
    beta1: float = param(0.9, lo=0.0, hi=1.0)
    beta2: float = param(0.999, lo=0.0, hi=1.0)
    eps: float = param(1e-8, lo=0.0, hi=1.0)
    weight_decay: float = param(0.0, lo=0.0, hi=1.0)
    momentum: float = param(0.0, lo=0.0, hi=1.0, doc="SGD momentum")
    transfer_levels: float = param(1.0, unit="device levels", lo=0.0,
                                   doc="wu2023: write a weight only when |accumulated update| reaches this many "
                                       "programming levels of one device (naive, ideal: every update is written)",
                                   source=WU)
    weight_range: float = param(1.5, unit="x init bound", lo=1e-3,
                                doc="a layer's crossbar weight range +-w_max stands for +-weight_range / "
                                    "sqrt(fan_in) digital weight units (ideal: unscaled)",
                                source="design choice: best of 0.8-3.0 for the digits MLP on wu2023 (docs/training.md)")
    in_bits: int = param(8, unit="bits", lo=0, hi=16, doc="DAC input bits (0: analog, unquantised)", source=WU)
    input_range: float = param(1.0, lo=1e-9, doc="largest network input (data in [0, 1])")
    act_range: float = param(4.0, lo=1e-9, doc="largest hidden activation before clipping at the DAC")
    error_scaling: str = param("percentile",
                               doc="integer backward errors driven into the arrays (transposed MVM): percentile = "
                                   "each layer's error scale measured by the chip, per layer and micro-batch, as "
                                   "train.error_percentile of |error| from a histogram (vhist, vpctl) over the "
                                   "largest code; fixed = every layer's errors over train.error_range (older "
                                   "results)",
                               source="per-layer error scaling: Nandakumar et al. 2020; Sun et al. 2020 (GradScale)")
    error_percentile: float = param(99.9, unit="%", lo=0.0, hi=100.0,
                                    doc="error_scaling = percentile: a layer's largest error code stands for this "
                                        "percentile of the magnitudes of its micro-batch's errors",
                                    source="design choice: the forward calibration's percentile (docs/training.md)")
    error_range: float = param(0.05, lo=1e-12,
                               doc="error_scaling = fixed: largest backward error before clipping at the DAC "
                                   "(transposed MVM), every layer alike")
    error_exponents: int = param(7, unit="exponents", lo=1, hi=7,
                                 doc="radix-4 FP4 errors (scheme radix4): nonzero magnitudes 4^-k of the format, "
                                     "k < this (3 exponent bits: 7 and one code for zero); the codes take 2 x this DAC "
                                     "bits",
                                 source="Sun et al., NeurIPS 2020 (radix-4 FP4, [1,3,0]); the zero code is our choice")
    error_last_fp32: bool = param(False, doc="radix-4 FP4 errors (scheme radix4): the last weight layer's errors (the "
                                             "loss gradient) stay FP32, its input gradient computed on the digital "
                                             "unit from the FP32 master copy (the last layer at higher precision)",
                                  source="our choice (docs/training.md): rounded to radix-4, the softmax gradient "
                                         "keeps a common mode that destabilises LeNet training (docs/results.md)")
    acc_bits: int = param(0, unit="bits", lo=0, hi=24,
                          doc="update accumulator width: signed fixed point, saturating (0: FP32 accumulator)")
    acc_lsb: float = param(0.0625, unit="transfer quanta", lo=1e-6, hi=1.0,
                           doc="with acc_bits > 0: the accumulator's LSB as a fraction of the scheme's transfer "
                               "quantum (one pulse step, or the write threshold)")
    init_seed: int = param(1, lo=0, hi=(1 << 31) - 1, doc="seed of the initial weights")
    calibration_images: int = param(16, unit="images", lo=0, hi=1 << 20,
                                    doc="training images (at least, in whole micro-batches) the calibrate program "
                                        "reads to set each block's converter full scale, after init and every "
                                        "epoch; 0 = no calibration (also none without tiles.physics.adc.fs_bits)",
                                    source="design choice (docs/training.md)")
    calibration_percentile: float = param(99.9, unit="%", lo=0.0, hi=100.0,
                                          doc="a block's full scale is this percentile of its converter readings",
                                          source="design choice (docs/training.md)")
    calibration_headroom: float = param(1.0, unit="x percentile", lo=0.01, hi=100.0,
                                        doc="multiplies the percentile: the full scale a block is set to",
                                        source="design choice (docs/training.md)")
    calibrate_every: int = param(8, unit="batches", lo=0, hi=1 << 20,
                                 doc="during an epoch, calibrate after every this many batches (the epoch's training "
                                     "runs in stretches); 0 = after every epoch only",
                                 source="design choice (docs/training.md)")
    calibration_passes: int = param(2, unit="passes", lo=1, hi=16,
                                    doc="passes of the calibrate program: the first reads at the widest full scale, "
                                        "each next one at the full scale the pass before set",
                                    source="design choice (docs/training.md)")

    def validate(self) -> None:
        if self.optimizer not in ("adamw", "sgd"):
            raise ConfigError(f"TrainConfig.optimizer = {self.optimizer!r}; expected adamw or sgd")
        if self.error_scaling not in ERROR_SCALINGS:
            raise ConfigError(f"TrainConfig.error_scaling = {self.error_scaling!r}; expected one of "
                              f"{', '.join(ERROR_SCALINGS)}")


class RowBlocking(enum.Enum):
    """Where a weight matrix's rows are cut into crossbar row blocks."""

    CUT = "cut"
    """Every ``tiles.rows`` rows (a 3 x 3 kernel of one channel may straddle two blocks)."""
    KERNEL = "kernel"
    """Whole kernels: a block of a convolution holds floor(tiles.rows / (kh x kw)) input channels (28 of a 3 x 3
    kernel on 256 rows: 252 rows), so a block's im2col rows are an address pattern over its channels."""


class PlacementPolicy(enum.Enum):
    """How the lowering places blocks on tiles (socsim/compiler/mapping/placement.py)."""

    PACK = "pack"
    """Column strips, first fit in layer order: small layers share a tile, as do a layer's own blocks."""
    SPREAD = "spread"
    """Column strips, first fit, but the blocks of one layer on distinct tiles, so they can run concurrently."""


class Datapath(enum.Enum):
    """How the evaluation program drives the tiles (docs/compiler.md)."""

    SEQUENTIAL = "sequential"
    """Per block: DMA gather into the tile buffer, quantise in the digital unit, mvm, DMA scatter-add the partial
    sums; one block after another."""
    PIPELINED = "pipelined"
    """mvms: each tile streams its inputs from SRAM with its own address generator (double-buffered), quantises
    them, adds the partial sums of the tile before it in its output stage (chained as the vectors come) and applies
    the layer's epilogue; the blocks of a layer run concurrently. Same numerics as sequential, other timing."""


class Staging(enum.Enum):
    """Whether the training program stages activations and gradients through DRAM (docs/compiler.md, "Staging
    through DRAM")."""

    OFF = "off"
    """Every activation, gradient and padded copy has its own data-SRAM symbol for the whole micro-batch."""
    AUTO = "auto"
    """As off when that plan fits the data SRAM at some micro-batch; otherwise as always."""
    ALWAYS = "always"
    """Tensors share one SRAM pool by liveness over the forward and backward steps; a forward tensor the backward
    pass reads again is copied out to DRAM after its last forward use and back before its first backward use, and
    the update transfer works on one block row band of a layer at a time."""


@dataclass(frozen=True)
class CompilerConfig(Params):
    """How the compiler maps a graph onto the tiles and lowers it (docs/compiler.md)."""

    row_blocking: RowBlocking = param(RowBlocking.CUT, doc="cut: every tiles.rows rows; kernel: whole kernels per "
                                                            "block", source=f"kernel: {WU}, Table 2 crossbar counts")
    placement: PlacementPolicy = param(PlacementPolicy.PACK,
                                       doc="pack: first-fit column strips; spread: a layer's blocks on distinct tiles")
    datapath: Datapath = param(Datapath.SEQUENTIAL, doc="sequential or pipelined evaluation program (socsim infer "
                                                        "--pipelined sets pipelined)")
    staging: Staging = param(Staging.AUTO, doc="off, auto (only when the data SRAM does not hold the unstaged plan) "
                                               "or always: activations and gradients staged through DRAM",
                             source="design choice (docs/compiler.md, 'Staging through DRAM')")


@dataclass(frozen=True)
class SocConfig(Params):
    """The whole SoC: composition of the parts above, the clock and the seed."""

    name: str = param("custom", doc="preset or design-point name")
    seed: int = param(0, lo=0, hi=(1 << 63) - 1, doc="seed of every random draw (device variation, noise)")
    clock_hz: float = param(100e6, unit="Hz", lo=1.0, hi=1e12, doc="controller, bus and tile clock", source=WU)
    controller: ControllerConfig = param(ControllerConfig())
    tiles: TileConfig = param(TileConfig())
    du: DigitalUnitConfig = param(DigitalUnitConfig())
    sram: SramConfig = param(SramConfig())
    bus: BusConfig = param(BusConfig())
    dma: DmaConfig = param(DmaConfig())
    dram: DramConfig = param(DramConfig())
    energy: EnergyTable = param(EnergyTable())
    tech: TechConfig = param(TechConfig(), doc="node, capacity, word-width and bank scaling of digital and memory "
                                                "energies, and node scaling of their area and leakage "
                                                "(docs/energy.md, docs/area.md)")
    area: AreaTable = param(AreaTable(), doc="area and leakage per component (docs/area.md)")
    train: TrainConfig = param(TrainConfig())
    compiler: CompilerConfig = param(CompilerConfig())

    def space_words(self) -> dict[str, int]:
        """Capacity in 32-bit words of each address space."""
        return {"dram": self.dram.capacity_mib * (1 << 20) // 4,
                "sram": self.controller.dmem_kbit * 1024 // 32,
                "acc": self.sram.acc_kbit * 1024 // 32,
                "tbuf": self.tiles.buffer_words}


def preset_names() -> list[str]:
    """Names of the shipped presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def _resolve(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise ConfigError(f"unknown preset {name_or_path!r}; presets: {', '.join(preset_names())} "
                              "(or give a path to a .toml file)")
    data = _expand_fitted(read_toml(path, "config", ConfigError), str(path))
    base = data.pop("base", None)
    if base is None:
        return data, str(path)
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base: expected a preset name or file path, got {base!r}")
    if base in seen:
        raise ConfigError(f"{path}: base {base!r} forms a cycle: {' -> '.join(seen + (base,))}")
    if not Path(base).suffix or Path(base).is_absolute():
        parent, _ = _resolve(base, seen + (base,))
    else:
        parent, _ = _resolve(str(path.parent / base), seen + (base,))
    return deep_merge(parent, data), str(path)


def _expand_fitted(data: dict[str, Any], where: str) -> dict[str, Any]:
    """``[tiles.physics] fitted = "NAME"`` stands for socsim/physics/fitted/NAME.toml, then the table's own keys."""
    tiles = data.get("tiles")
    physics = tiles.get("physics") if isinstance(tiles, dict) else None  # not a table: from_mapping names it
    if not isinstance(physics, dict) or "fitted" not in physics:
        return data
    name = physics.pop("fitted")
    try:
        path = fitted_path(name)
    except ValueError as exc:
        raise ConfigError(f"{where}: tiles.physics.fitted: {exc}") from None
    data["tiles"]["physics"] = deep_merge(read_toml(path, "config", ConfigError), physics)
    return data


def load_config(name_or_path: str = DEFAULT_PRESET, overrides: dict[str, Any] | None = None) -> SocConfig:
    """Load a preset by name or a TOML file; ``overrides`` is a nested dict laid on top."""
    data, where = _resolve(name_or_path)
    if overrides:
        data = deep_merge(data, overrides)
    try:
        return from_mapping(SocConfig, data)
    except ConfigError as exc:
        raise ConfigError(exc.what, file=where, field=exc.field) from None
