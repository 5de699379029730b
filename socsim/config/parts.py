"""The SoC's hardware parts as config: the controller, the CIM tiles, the digital unit, the SRAMs, the bus, the DMA
and the DRAM (frozen dataclasses with meaning, units, ranges and sources; docs/config.md).

:class:`~socsim.config.soc.SocConfig` composes them; import them from :mod:`socsim.config.soc` as before.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from socsim.base.configtools import ConfigError, Params, param
from socsim.physics.params import PairReadout, PhysicsParams
from socsim.physics.registry import is_exact, slices

WU = "Wu et al. 2023, arXiv 2305.14547"
HOROWITZ = "Horowitz, ISSCC 2014, 'Computing's energy problem' (45 nm)"
MAX_TILES = 2048
"""Most tiles a config may have: tile t's buffer starts at word t x 2^16 of its space, and the lowering reaches the
words past the 24-bit operand offset through the 8 base registers x21..x28 (isa/spec.py, socsim/compiler/emit.py)."""


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
