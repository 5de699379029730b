"""A CIM tile: timing of MVMs (DAC pulses, ADC conversions shared by column groups) and programming."""

from __future__ import annotations

from typing import Callable, Generator

import simpy

from isa.spec import Space
from socsim.base.actions import Action
from socsim.config.soc import TileConfig
from socsim.physics import Crossbar
from socsim.physics.adc import conversions_per_output, converter_cost
from socsim.physics.dac import pulse_slots
from socsim.physics.params import DacEncoding, SignedMode
from socsim.sim.ledger import Ledger
from socsim.sim.ops.epilogue import IDENTITY, Epilogue
from socsim.sim.ops.tile import Block
from socsim.sim.unit import Job, Unit, wait_for

NO_STREAMS = {"IN": ((1, 0),), "OUT": ((1, 0),), "EPI": (0, 0, 0)}
"""A tile's stream state before any tpat or tepi: one word at offset 0 each way, no epilogue step."""


class Tile(Unit):
    """One array with its DACs, ADCs and buffer; numerics live in its :class:`Crossbar`.

    ``crossbar`` is a Crossbar, or a function building one on first use (a large SoC then holds device
    state only for the tiles a program touches; each tile's seed is its own, so the state is the
    same whenever it is built), or None when the SoC runs without numerics (timing-only mode).
    """

    priority = 2

    def __init__(self, env: simpy.Environment, name: str, ledger: Ledger, cfg: TileConfig,
                 crossbar: Crossbar | Callable[[], Crossbar] | None, full_tile: bool = False):
        super().__init__(env, name, ledger)
        self.cfg = cfg
        self.full_tile = full_tile
        """Count every MVM vector as a full-array operation (``energy.mvm_pricing = full_tile``)."""
        self._make: Callable[[], Crossbar] | None = None if isinstance(crossbar, Crossbar) else crossbar
        self._crossbar: Crossbar | None = crossbar if isinstance(crossbar, Crossbar) else None
        self._read_costs: dict[tuple[int, bool], tuple[int, int, int]] = {}
        self.block: Block = (0, 0, cfg.rows, cfg.weight_cols, 8)
        """Active block: (r0, c0, rows, cols, in_bits), set by tcfg at issue."""
        self.configured = False
        """A ``tcfg`` has set the block (an MVM on a tile never configured traps)."""
        self.programmed = False
        """A ``wv`` or ``pulse`` has written the devices, or a checkpoint restored them (an MVM on a tile never
        programmed traps)."""
        self.streams: dict[str, tuple] = dict(NO_STREAMS)
        """The address generators' patterns (``IN``, ``OUT``: mvms's input and output, latched by tpat at issue) and
        which epilogue steps tepi turned on (``EPI``: bias, batch norm, ReLU flags, set at issue)."""
        self.epilogue: Epilogue = IDENTITY
        """The output stage's function, latched by tepi when its numerics run."""
        self.stage = 0
        """Where a job with late dependencies is: 0 converting (or none), 1 waiting for them, 2 its last output."""

    @property
    def crossbar(self) -> Crossbar | None:
        if self._crossbar is None and self._make is not None:
            self._crossbar, self._make = self._make(), None
        return self._crossbar

    @crossbar.setter
    def crossbar(self, value: Crossbar | None) -> None:
        self._crossbar, self._make = value, None

    @property
    def has_devices(self) -> bool:
        """The tile has a crossbar (built or still to build); False in timing-only mode."""
        return self._crossbar is not None or self._make is not None

    @property
    def built(self) -> bool:
        """Its crossbar was built (an instruction used the tile, or a checkpoint restored it); an unbuilt one is the
        fresh crossbar its config and seed make, built when first needed."""
        return self._crossbar is not None

    def bitlines(self, cols: int) -> int:
        return cols * self.cfg.devices_per_weight

    def converted(self, cols: int) -> int:
        return cols * self.cfg.converted_per_weight

    def read_cost(self, in_bits: int, transposed: bool = False) -> tuple[int, int, int]:
        """(pulse slots per input code, ADC conversions per output, cycles per conversion) of the tile's DAC (the bit
        lines' when ``transposed``) and ADC at ``in_bits``: the ADC model's, at its configured bits (docs/energy.md)."""
        cost = self._read_costs.get((in_bits, transposed))
        if cost is None:
            phys = self.cfg.physics
            dac = phys.dac_t if transposed else phys.dac
            radix4 = dac.radix4_exponents_per_pulse if dac.encoding is DacEncoding.RADIX4 else 0
            slots = pulse_slots(dac.levels_per_pulse, in_bits, radix4, dac.signed_mode is SignedMode.SIGN_MAGNITUDE)
            cycles = converter_cost(phys.adc.kind, phys.adc.bits).cycles
            cost = self._read_costs[(in_bits, transposed)] = (slots, conversions_per_output(phys.adc.kind, slots),
                                                              cycles)
        return cost

    def mvm_cycles(self, n: int, cols: int, conversions: int, cycles: int) -> int:
        """n vectors: each converts its converter inputs (bit lines, or pairs subtracted before the converter) in
        ``min(inputs per ADC, active)`` ADC steps of ``conversions`` conversions (1 for BWMCS, one per pulse for
        shift-and-add) of ``cycles`` cycles each."""
        steps = min(self.cfg.inputs_per_adc, self.converted(cols))
        return n * steps * conversions * cycles

    def mvmt_cycles(self, n: int, rows: int, conversions: int, cycles: int) -> int:
        """n vectors: each drives the weight slices' bit lines one slice after the other and converts every row of
        each in ``min(rows_per_adc_transposed, rows)`` ADC steps."""
        steps = min(self.cfg.rows_per_adc_transposed, rows) * self.cfg.weight_slices
        return n * steps * conversions * cycles

    def finish(self, job: Job, start: int) -> int:
        cycles, tail = self._cost(job, start)
        self.record(job, Action.BUSY, 1, cycles + tail)
        return start + cycles + tail

    def execute(self, job: Job) -> Generator:
        """A streamed job with late dependencies: converts from its start, then waits for its partial-sum producers
        (they may finish after it), then adds and writes its last output."""
        env = self.env
        cycles, tail = self._cost(job, self.started)
        self.stage = 0
        yield self.wait(env.timeout(self.started + cycles - env.now))
        pending = [d for d in job.late if not d.triggered]
        if pending:
            self.stage = 1
            yield self.wait(wait_for(env, pending))
        self.stage = 2
        yield self.wait(env.timeout(tail))
        self.stage = 0
        self.record(job, Action.BUSY, 1, env.now - self.started)

    def _cost(self, job: Job, start: int) -> tuple[int, int]:
        """Record the job's actions; returns (its cycles from ``start`` to its last conversion, the cycles after)."""
        op, v = job.op, job.ops.values
        cycles, actions = op.tile_cost(self, v, job.report)
        for action, count in actions:
            self.record(job, action, count)
        if op.stream_edges is None:
            self.record_operand_access(job)
            return cycles, 0
        fetch, tail = op.stream_edges(self, v)
        cycles += max(0, job.ready_at() + fetch - start)  # the first fetch, unless made while the array was busy
        for name, written, words in op.stream_accesses(v, job.ops.mem):
            space = job.ops.mem[name][0]
            if space is Space.TBUF:
                self.record(job, Action.TBUF_ACCESS, words, component="tbuf")
            else:
                self.record(job, Action.SRAM_WRITE if written else Action.SRAM_READ, words,
                            component=space.name.lower())
        return cycles, tail


def converter_prices(cfg: TileConfig, fom_fj: float) -> dict[Action, float]:
    """Ledger prices (pJ per action) the tiles' converter sets: one ``adc_conversion`` costs the figure of merit
    ``fom_fj`` (fJ per step) times the 2^bits steps of the configured ADC (Walden's figure of merit)."""
    adc = cfg.physics.adc
    return {Action.ADC_CONVERSION: fom_fj * converter_cost(adc.kind, adc.bits).steps / 1000.0}
