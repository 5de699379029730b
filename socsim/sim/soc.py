"""The SoC: built from a config in visible steps, then runs programs to a :class:`Result`."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Callable, Collection, Iterator

import numpy as np
import pandas as pd

from isa.encoding import decode_instruction, encode_code
from isa.program import Instruction, IsaError, Program
from isa.spec import MAX_WORDS
from socsim.base.actions import Action
from socsim.base.errors import CapacityError, InputError
from socsim.config.soc import MvmPricing, SocConfig
from socsim.physics import make_crossbar
from socsim.pricing.area import leakage_pj_per_cycle
from socsim.pricing.costs import action_prices, memory_prices
from socsim.sim.clock import Clock
from socsim.sim.controller import Controller
from socsim.sim.digital import DigitalUnit
from socsim.sim.dma import Dma
from socsim.sim.elapsed import elapsed_by_layer
from socsim.sim.engines import DEFAULT_ENGINE, make_engine
from socsim.sim.fabric import Fabric
from socsim.sim.ledger import CHIP, STATIC_OPCODE, Ledger
from socsim.sim.memory import Memory
from socsim.sim.operands import Plan, plan
from socsim.sim.ops import OPS, Op
from socsim.sim.profile import Profile
from socsim.sim.result import TIMELINE_COLUMNS, Result
from socsim.sim.scoreboard import Scoreboard
from socsim.sim.tile import Tile, converter_prices
from socsim.sim.traps import Trap, TrapKind


def decode_image(words: list[int]) -> tuple[list[Instruction | None], str]:
    """Decode an instruction-memory image; an undecodable instruction and all after it are None."""
    out: list[Instruction | None] = []
    i = 0
    while i < len(words):
        try:
            ins = decode_instruction(words[i:i + MAX_WORDS], len(out))
        except IsaError as exc:
            return out + [None], str(exc)
        out.append(ins)
        i += ins.spec.words
    return out, ""


class Soc:
    """Controller, CIM tiles, digital unit, DMA, bus, SRAMs and DRAM of one configuration.

    Hardware state (memories, crossbar conductances, time) persists across :meth:`run` calls.
    """

    deadline: float | None = None
    """Host ``time.monotonic()`` past which a run traps (WALL_CLOCK; ``socsim run --timeout``); None: no limit."""

    def __init__(self, cfg: SocConfig, timeline: bool = False, timing_only: bool = False, engine: str = DEFAULT_ENGINE):
        self.cfg = cfg
        self.keep_timeline = timeline
        self.timing_only = timing_only
        """Skip every instruction's numerics; cycles and ledger as the full run (socsim.sim.timing_only)."""
        self._setup_clock_and_ledger()
        self._setup_memories()
        self._setup_units()
        self.engine = make_engine(engine, self)
        self.program = Program()
        self.hooks: dict[int, Callable[[], None]] = {}
        self.code: list[Instruction | None] = []
        self.ops: list[Op | None] = []
        """The op of each instruction (looked up once per loaded program)."""
        self.plans: list[Plan | None] = []
        """The operand plan of each instruction (made once per loaded program)."""
        self.decode_error = ""
        self._words: list[int] = []
        """The instruction words :attr:`code` was decoded from."""
        self.profile: Profile | None = None
        """Per-pc counters of the next run (``start_profile``; the reference engine only)."""

    def start_profile(self, events: bool = False) -> Profile:
        """Count per pc what the next runs execute (:mod:`socsim.sim.profile`; ``events``: keep a row per
        controller instruction and unit job too); the engine must be ``reference`` (the fast engine runs a
        lane-parallel loop's iterations together, not pc by pc)."""
        if self.engine.name != "reference":
            raise InputError("a profile needs the reference engine (engine='reference'); the numbers are the same")
        self.profile = Profile(self.ledger, self.memory, events)
        for unit in self.all_units():
            unit.profile = self.profile
        return self.profile

    @classmethod
    def from_config(cls, cfg: SocConfig, timeline: bool = False, timing_only: bool = False,
                    engine: str = DEFAULT_ENGINE) -> "Soc":
        """Build the SoC; ``timeline`` keeps one (unit, pc, opcode, start, end) row per executed job.

        ``timing_only`` skips the numerics (no crossbar state, memories not computed, ``Result.outputs``
        empty); cycles and ledger counts are the full run's except programming, charged by the rule
        in :mod:`socsim.sim.timing_only`. ``engine`` is ``fast`` (lane-parallel loops with replayed timing)
        or ``reference`` (one instruction at a time); both give the same numbers bit for bit
        (:data:`socsim.sim.engines.ENGINES`).
        """
        return cls(cfg, timeline, timing_only, engine)

    def _setup_clock_and_ledger(self) -> None:
        self.env = Clock()
        self.ledger = Ledger(self.cfg.energy,
                             {**action_prices(self.cfg),
                              **converter_prices(self.cfg.tiles, self.cfg.energy.adc_fom_fj)},
                             leakage_pj_per_cycle(self.cfg), memory_prices(self.cfg))
        self.scoreboard = Scoreboard()

    def _setup_memories(self) -> None:
        self.memory = Memory(self.cfg)
        self.fabric = Fabric(self.env, self.cfg)

    def _setup_units(self) -> None:
        cfg = self.cfg
        seeds = np.random.SeedSequence(cfg.seed).spawn(cfg.tiles.count)

        def builder(seed: np.random.SeedSequence) -> Callable[[], object]:
            return lambda: make_crossbar(cfg.tiles.rows, cfg.tiles.weight_cols, cfg.tiles.physics, seed)
        full = cfg.energy.mvm_pricing is MvmPricing.FULL_TILE
        self.tiles = [Tile(self.env, f"tile{i}", self.ledger, cfg.tiles,
                           None if self.timing_only else builder(seeds[i]), full)
                      for i in range(cfg.tiles.count)]
        self.dma = [Dma(self.env, f"dma{i}", self.ledger, cfg, self.fabric) for i in range(cfg.dma.channels)]
        self.du = DigitalUnit(self.env, "du", self.ledger, cfg, self.fabric)

    def all_units(self) -> list:
        return [*self.dma, self.du, *self.tiles]

    def pick_dma(self) -> Dma:
        """The DMA channel with the fewest transfers waiting or in flight (lowest index on ties)."""
        return min(self.dma, key=lambda d: (d.load(), self.dma.index(d)))

    def restore_time(self, cycle: int) -> None:
        """Set the clock of an idle SoC (resuming from a checkpoint); every unit must be idle."""
        if any(u.current or u.pending() for u in self.all_units()):
            raise RuntimeError("restore_time needs an idle SoC")
        self.env.set_time(cycle)
        self.fabric.bus_free_at = min(self.fabric.bus_free_at, cycle)
        self.fabric.port_free_at = [min(t, cycle) for t in self.fabric.port_free_at]

    def unit_states(self) -> str:
        return "; ".join(u.state() for u in self.all_units() if u.current or u.pending()) or "every unit idle"

    def load(self, program: Program) -> None:
        """Place the program in instruction memory (through its binary encoding) and its data."""
        imem_bytes = self.cfg.controller.imem_kbit * 1024 // 8
        if program.code_bytes() > imem_bytes:
            raise Trap(TrapKind.CAPACITY, f"program needs {program.code_bytes()} bytes of instruction memory; "
                                          f"controller.imem_kbit = {self.cfg.controller.imem_kbit} holds "
                                          f"{imem_bytes} bytes", cycle=self.env.now)
        try:
            self.memory.load_symbols(program)
        except CapacityError as exc:
            raise Trap(TrapKind.CAPACITY, str(exc), cycle=self.env.now) from None
        self.load_image(encode_code(program.instructions), program)

    def load_image(self, words: list[int], program: Program) -> None:
        """Load raw instruction words (decoded lazily into traps if malformed). The same words of the same program
        again (a training program run once per epoch) keep their decoded instructions, ops and operand plans."""
        if program is not self.program or words != self._words:
            self.code, self.decode_error = decode_image(words)
            for ins, src in zip(self.code, program.instructions):
                if ins is not None:
                    object.__setattr__(ins, "line", src.line)
            self.ops = [None if ins is None else OPS[ins.spec.mnemonic] for ins in self.code]
            self.plans = [None if ins is None else plan(ins) for ins in self.code]
            self._words = list(words)
        self.program = program
        self.engine.load(program, self.code)

    def run(self, program: Program | None = None, hooks: dict[int, Callable[[], None]] | None = None,
            outputs: Collection[str] | None = None) -> Result:
        """Run ``program`` (or the loaded one) from pc 0 until ``halt``; raises :class:`Trap`.

        ``hooks`` maps a pc to a function called each time the controller fetches it (progress bars).
        ``outputs`` names the symbols whose final words ``Result.outputs`` copies (None: every symbol).
        """
        if program is not None:
            self.load(program)
        unknown = sorted(set(outputs or ()) - set(self.program.symbols))
        if unknown:
            raise InputError(f"no symbol {', '.join(map(repr, unknown))} in the program; it has "
                             f"{', '.join(self.program.symbols) or 'none'}", field="outputs")
        self.hooks = hooks or {}
        start = self.env.now
        self.ledger.rows.clear()  # a Result covers one run
        busy0 = {u.name: u.busy_cycles for u in self.all_units()}
        bus0 = self.fabric.bus_busy_cycles
        for unit in self.all_units():
            unit.timeline.clear()
        ctrl = Controller(self, self.engine)
        self.controller = ctrl
        self.engine.start(ctrl)
        try:
            with np.errstate(all="ignore"), _heap_frozen():  # NaN and inf are trapped where written (trap_on_nan)
                if not self.engine.replay_run(ctrl):
                    self.env.run(until=self.env.process(ctrl.run()))
                    self.engine.end_run(ctrl)
        except RuntimeError as exc:
            if isinstance(exc, Trap):
                trap = exc
            elif "No scheduled events left" not in str(exc):
                raise
            else:
                trap = Trap(TrapKind.DEADLOCK, f"every unit is idle and the controller waits on "
                                               f"{ctrl.waiting_on or 'an event that cannot happen'}",
                            ctrl.pc, _text(self.code, ctrl.pc), self.env.now, self.unit_states())
            self._locate(trap)
            trap.registers = [int(r) for r in ctrl.regs]
            ctrl.flush_stats()
            self._drain(trap.cycle)
            trap.partial = self._result(ctrl, start, busy0, bus0, outputs)
            raise trap from None
        finally:
            ctrl.flush_stats()
        return self._result(ctrl, start, busy0, bus0, outputs)

    def _drain(self, cycle: int) -> None:
        """After a trap: let the units finish the work issued before it (as they would, the controller stopped), and
        the clock reach the trap's ``cycle``, so that the partial result covers everything up to the trap."""
        with np.errstate(all="ignore"), _heap_frozen():
            self.env.run()  # returns when no event is left (units waiting on a trapped producer stay waiting)
            if cycle > self.env.now:
                self.env.run(until=cycle)

    def _locate(self, trap: Trap) -> None:
        """Name the trapping instruction by its source text and ``file:line`` when the program has a line table."""
        if trap.pc is None:
            return
        src = self.program.source_of(trap.pc)
        if src is not None:
            trap.locate(src.text, str(src))
        elif 0 <= trap.pc < len(self.program.instructions):
            trap.locate(self.program.describe(trap.pc), "")

    def _result(self, ctrl: Controller, start: int, busy0: dict[str, int], bus0: int,
                outputs: Collection[str] | None) -> Result:
        """The run's result from ``start`` to now (at halt, or at a trap: what ran until then)."""
        self._record_time(start)
        busy = {u.name: u.busy_cycles - busy0[u.name] for u in self.all_units()}
        busy["controller"] = ctrl.busy_cycles
        busy["bus"] = self.fabric.bus_busy_cycles - bus0
        names = self.program.symbols if outputs is None else outputs
        copied = {} if self.timing_only else {name: self.memory.read_symbol(self.program, name) for name in names}
        rows = (row for u in self.all_units() for row in u.timeline.table_rows()) if self.keep_timeline else ()
        timeline = pd.DataFrame(sorted(rows, key=lambda r: (r[5], r[0], r[1])), columns=TIMELINE_COLUMNS)
        if not self.keep_timeline:
            for unit in self.all_units():
                unit.timeline.clear()
        return Result(self.cfg, self.program, self.env.now - start, ctrl.executed, self.ledger.frame(), busy,
                      copied, timeline)

    def _record_time(self, start: int) -> None:
        """Ledger rows of the run's time: its elapsed cycles by (layer, phase) (component ``chip``, action
        ``elapsed``, :mod:`socsim.sim.elapsed`) and every component's leakage over those cycles (action ``leakage``,
        count = cycles, priced in pJ per cycle by :mod:`socsim.pricing.area`). Both come from the run's cycles and job
        timeline, which both engines produce alike."""
        elapsed = elapsed_by_layer([u.timeline for u in self.all_units()], start, self.env.now)
        ledger = self.ledger
        for (layer, phase), cycles in elapsed.items():
            ledger.record(CHIP, Action.ELAPSED, STATIC_OPCODE, layer, phase, 0, cycles)
        for component, price in ledger.leakage_pj.items():
            if price:
                for (layer, phase), cycles in elapsed.items():
                    ledger.record(component, Action.LEAKAGE, STATIC_OPCODE, layer, phase, cycles)


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the objects that exist before a run out of the cyclic garbage collector's scans during it.

    A run allocates many short-lived objects (SimPy events, jobs), so the collector runs often, and a full
    collection also walks the whole heap of numba, pandas and the compiled program (what that cost is measured in
    docs/performance.md, "Where a batch's time goes"). Garbage created in the run is still collected; the frozen
    objects return to the collector when the run ends."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _text(code: list[Instruction | None], pc: int) -> str:
    if 0 <= pc < len(code) and code[pc] is not None:
        return code[pc].text()  # type: ignore[union-attr]
    return ""
