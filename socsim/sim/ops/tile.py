"""CIM operations: block configuration, forward and transposed MVMs, programming and read-back.

The numerics call the tile's :class:`socsim.physics.Crossbar` (lanes read together through
``mvm_lanes``; programming runs one instruction at a time); the costs turn an instruction's block and
programming report into tile cycles and ledger actions (DAC pulses, array cell reads, ADC conversions,
programming pulses, verify reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

from socsim.base.actions import Action
from socsim.physics import ProgramReport
from socsim.sim.ops.base import Op, Operands, TimingOnly

if TYPE_CHECKING:
    from socsim.config.soc import TileConfig
    from socsim.physics import Crossbar
    from socsim.sim.ops.epilogue import Epilogue

Block = tuple[int, int, int, int, int]
"""A tile's active block: (r0, c0, rows, cols, in_bits)."""
Actions = list[tuple[Action, int]]
"""(ledger action, count) of one instruction on its tile."""


class TileView(Protocol):
    """What the tile operations see of their tile (:class:`socsim.sim.tile.Tile`, interface): its configuration,
    its array, its output stage and the cost of a read."""

    name: str
    cfg: TileConfig
    full_tile: bool
    """Every MVM vector counts as a full-array operation (``energy.mvm_pricing = full_tile``)."""
    epilogue: Epilogue
    """The output stage's function (``tepi`` latches it)."""

    @property
    def crossbar(self) -> Crossbar | None:
        """The array's numerics (None without numerics: timing-only mode)."""
        ...

    def bitlines(self, cols: int) -> int:
        """Bit lines of ``cols`` weight columns."""
        ...

    def converted(self, cols: int) -> int:
        """Converter inputs of ``cols`` weight columns in a forward read: their bit lines, or one per differential
        pair when the pair is subtracted before the converter (``physics.adc.pair_readout = analog``)."""
        ...

    def read_cost(self, in_bits: int, transposed: bool = False) -> tuple[int, int, int]:
        """(pulse slots per input code, ADC conversions per output, cycles per conversion) at ``in_bits``."""
        ...

    def mvm_cycles(self, n: int, cols: int, conversions: int, cycles: int) -> int:
        """Cycles of ``n`` forward reads of ``cols`` weight columns."""
        ...

    def mvmt_cycles(self, n: int, rows: int, conversions: int, cycles: int) -> int:
        """Cycles of ``n`` transposed reads of ``rows`` rows."""
        ...


TileCost = Callable[[TileView, dict, ProgramReport | None], tuple[int, Actions]]
"""A tile instruction's cost: (its tile, field values, programming report) -> (tile cycles, actions)."""


def configure(cfg: "TileConfig", args: tuple) -> Block | str:
    """The block a ``tcfg`` selects, or what is wrong with it."""
    _, r0, c0, rows, cols, bits = args
    if rows < 1 or cols < 1 or r0 + rows > cfg.rows or c0 + cols > cfg.weight_cols:
        return (f"block rows {r0}:{r0 + rows}, cols {c0}:{c0 + cols} does not fit the "
                f"{cfg.rows} x {cfg.weight_cols} weight array")
    return (r0, c0, rows, cols, bits)


def block_values(block: Block) -> dict[str, int]:
    """The size names a tile instruction's operand sizes use (docs/isa.md)."""
    r0, c0, rows, cols, bits = block
    return {"ROWS": rows, "COLS": cols, "IN_BITS": bits, "R0": r0, "C0": c0}


class TileOperands(Operands):
    """Operands of a tile instruction: also the tile, and where each lane's read draws come from."""

    tile: TileView
    report: ProgramReport | None = None

    def read_draws(self) -> tuple[np.ndarray, np.ndarray]:
        """(read times (L,) s, read numbers (L,) uint64) of this instruction's lanes."""
        raise NotImplementedError

    def program_time(self) -> float:
        """Simulated time (s) of a programming instruction (one lane)."""
        raise NotImplementedError

    def count_saturated(self, per_lane: np.ndarray) -> None:
        """Record each lane's ADC conversions outside the converter's range (a ledger counter)."""
        raise NotImplementedError


def _read(transposed: bool, readings: bool = False) -> Callable[[TileOperands], None]:
    def run(c: TileOperands) -> None:
        v = c.v
        rows, cols = v["ROWS"], v["COLS"]
        n_in, n_out = (cols, rows) if transposed else (rows, cols)
        x = c.a("src").reshape(c.lanes, v["n"], n_in)
        t_s, counters = c.read_draws()
        xbar = c.tile.crossbar
        if readings:
            y, sat = xbar.readings_lanes(x, v["R0"], v["C0"], n_out, v["IN_BITS"], t_s, counters)
        else:
            y, sat = xbar.mvm_lanes(x, v["R0"], v["C0"], n_out, v["IN_BITS"], t_s, counters, transposed)
        c.put("dst", y.reshape(c.lanes, -1))
        c.count_saturated(sat)
    return run


def _tgain(c: TileOperands) -> None:
    v = c.v
    c.tile.crossbar.set_full_scale(v["R0"], v["C0"], float(c.a("src")[0, 0]))


def _wv(c: TileOperands) -> None:
    v = c.v
    shape = (v["ROWS"], v["COLS"])
    target = c.a("target")[0].reshape(shape)
    mask = c.a("mask")[0].reshape(shape) != 0
    c.report = c.tile.crossbar.write_verify(target, mask, v["R0"], v["C0"], c.program_time())


def _pulse(c: TileOperands) -> None:
    v = c.v
    n = np.rint(c.a("npulses")[0].reshape(v["ROWS"], v["COLS"])).astype(np.int32)
    c.report = c.tile.crossbar.pulse(n, v["R0"], v["C0"], c.program_time())


def _rdw(c: TileOperands) -> None:
    v = c.v
    t_s, counters = c.read_draws()
    xbar = c.tile.crossbar
    c.put("dst", np.stack([xbar.read_weights_at(v["R0"], v["C0"], v["ROWS"], v["COLS"], float(t_s[lane]),
                                                int(counters[lane])).ravel() for lane in range(c.lanes)]))


def _read_cost(transposed: bool) -> TileCost:
    def cost(tile: TileView, v: dict, report: ProgramReport | None) -> tuple[int, Actions]:
        n, rows, cols = v["n"], v["ROWS"], v["COLS"]
        slots, conv, per = tile.read_cost(v["IN_BITS"], transposed)
        cycles = tile.mvmt_cycles(n, rows, conv, per) if transposed else tile.mvm_cycles(n, cols, conv, per)
        return cycles, read_actions(tile, n, rows, cols, slots, conv, transposed)
    return cost


def read_actions(tile: TileView, n: int, rows: int, cols: int, slots: int, conv: int, transposed: bool) -> Actions:
    """DAC pulses, cell reads, conversions and shift-adds of ``n`` reads of a rows x cols block: of the block, or of
    the whole array when the energy table prices a full tile operation per MVM (``energy.mvm_pricing``). A forward
    read converts each bit line, or each pair once when it is subtracted before the converter; a transposed read
    converts each row once per weight slice (the slices' bit lines are driven one slice at a time). ``tile_mac``
    counts one multiply-accumulate per weight (of the block, or of the whole array) and vector."""
    if tile.full_tile:
        rows, cols = tile.cfg.rows, tile.cfg.weight_cols
        bitlines, outputs = tile.cfg.bitlines, tile.cfg.bitlines * tile.cfg.converted_per_weight \
            // tile.cfg.devices_per_weight
    else:
        bitlines, outputs = tile.bitlines(cols), tile.converted(cols)
    drive, convert = (bitlines, rows * tile.cfg.weight_slices) if transposed else (rows, outputs)
    return [(Action.DAC_PULSE, n * drive * slots), (Action.ARRAY_CELL, n * rows * bitlines * slots),
            (Action.ADC_CONVERSION, n * convert * conv), (Action.SHIFT_ADD, n * convert * conv),
            (Action.TILE_MAC, n * rows * cols)]


def _program_cost(tile: TileView, v: dict, report: ProgramReport | None) -> tuple[int, Actions]:
    assert report is not None
    slots = -(-(report.set_pulses + report.reset_pulses) // tile.cfg.program_parallel_cells)
    return max(1, slots * tile.cfg.program_round_cycles), [
        (Action.SET_PULSE, report.set_pulses), (Action.RESET_PULSE, report.reset_pulses),
        (Action.VERIFY_READ, report.verify_reads), (Action.CELLS_WRITTEN, report.cells)]


_MULTIPLY = {"reads_array": True, "needs_weights": True, "own_buffer": True}
"""What the sequential datapath's reads (mvm, mvmt, mvmr) are: each reads the array (one read number for its draws) by
the tile's weights, through its own tile's buffer."""
_PROGRAM = {"programs": True, "lane_shared": True, "timing_only": TimingOnly.NOMINAL}
"""What the programming instructions (wv, pulse) are: they write the devices every later read shares; timing-only
runs charge them a nominal report (socsim.sim.timing_only)."""

TILE: dict[str, Op] = {
    "tcfg": Op(tile_cost=lambda tile, v, report: (tile.cfg.config_cycles, []), configures_block=True, only_moves=True),
    "mvm": Op(numerics=_read(False), tile_cost=_read_cost(False), **_MULTIPLY),
    "mvmt": Op(numerics=_read(True), tile_cost=_read_cost(True), transposed=True, **_MULTIPLY),
    "wv": Op(numerics=_wv, tile_cost=_program_cost, **_PROGRAM),
    "pulse": Op(numerics=_pulse, tile_cost=_program_cost, **_PROGRAM),
    "rdw": Op(numerics=_rdw, tile_cost=lambda tile, v, report: (v["ROWS"] * tile.cfg.readback_cycles_per_row,
                                                                [(Action.READBACK_WEIGHT, v["ROWS"] * v["COLS"])]),
              reads_array=True),
    "mvmr": Op(numerics=_read(False, readings=True), tile_cost=_read_cost(False), **_MULTIPLY),
    "tgain": Op(numerics=_tgain, tile_cost=lambda tile, v, report: (tile.cfg.physics.adc.fs_settle_cycles,
                                                                    [(Action.ADC_FS_SET, 1)]),
                lane_shared=True),
}
"""mnemonic -> its op (numerics over lanes, cost: (tile, field values, programming report) -> (cycles, actions), and
what the controller and the lane-parallel engine check of it)."""
