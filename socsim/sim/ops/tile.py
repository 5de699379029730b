"""CIM operations: block configuration, forward and transposed MVMs, programming and read-back.

The numerics call the tile's :class:`socsim.physics.Crossbar` (lanes read together through
``mvm_lanes``; programming runs one instruction at a time); the costs turn an instruction's block and
programming report into tile cycles and ledger actions (DAC pulses, array cell reads, ADC conversions,
programming pulses, verify reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from socsim.physics import ProgramReport
from socsim.sim.ops.base import Operands

if TYPE_CHECKING:
    from socsim.config import TileConfig
    from socsim.sim.tile import Tile

Block = tuple[int, int, int, int, int]
"""A tile's active block: (r0, c0, rows, cols, in_bits)."""
Actions = list[tuple[str, int]]
"""(ledger action, count) of one instruction on its tile."""


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

    tile: "Tile"
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


def _read(transposed: bool) -> Callable[[TileOperands], None]:
    def run(c: TileOperands) -> None:
        v = c.v
        rows, cols = v["ROWS"], v["COLS"]
        n_in, n_out = (cols, rows) if transposed else (rows, cols)
        x = c.a("src").reshape(c.lanes, v["n"], n_in)
        t_s, counters = c.read_draws()
        y, sat = c.tile.crossbar.mvm_lanes(x, v["R0"], v["C0"], n_out, v["IN_BITS"], t_s, counters, transposed)
        c.put("dst", y.reshape(c.lanes, -1))
        c.count_saturated(sat)
    return run


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


def _read_cost(transposed: bool) -> Callable[["Tile", dict, ProgramReport | None], tuple[int, Actions]]:
    def cost(tile: "Tile", v: dict, report: ProgramReport | None) -> tuple[int, Actions]:
        n, rows, cols = v["n"], v["ROWS"], v["COLS"]
        slots, conv = tile.read_cost(v["IN_BITS"], transposed)
        bitlines = tile.bitlines(cols)
        if transposed:
            cycles, drive, convert = tile.mvmt_cycles(n, rows, conv), bitlines, rows
        else:
            cycles, drive, convert = tile.mvm_cycles(n, cols, conv), rows, bitlines
        return cycles, [("dac_pulse", n * drive * slots), ("array_cell", n * rows * bitlines * slots),
                        ("adc_conversion", n * convert * conv), ("shift_add", n * convert * conv)]
    return cost


def _program_cost(tile: "Tile", v: dict, report: ProgramReport | None) -> tuple[int, Actions]:
    assert report is not None
    slots = -(-(report.set_pulses + report.reset_pulses) // tile.cfg.program_parallel_cells)
    return max(1, slots * tile.cfg.program_round_cycles), [
        ("set_pulse", report.set_pulses), ("reset_pulse", report.reset_pulses),
        ("verify_read", report.verify_reads), ("cells_written", report.cells)]


TILE: dict[str, tuple[Callable[[TileOperands], None] | None,
                      Callable[["Tile", dict, ProgramReport | None], tuple[int, Actions]]]] = {
    "tcfg": (None, lambda tile, v, report: (tile.cfg.config_cycles, [])),
    "mvm": (_read(False), _read_cost(False)),
    "mvmt": (_read(True), _read_cost(True)),
    "wv": (_wv, _program_cost),
    "pulse": (_pulse, _program_cost),
    "rdw": (_rdw, lambda tile, v, report: (v["ROWS"] * tile.cfg.readback_cycles_per_row,
                                           [("readback_weight", v["ROWS"] * v["COLS"])])),
}
"""mnemonic -> (numerics over lanes, cost: (tile, field values, programming report) -> (cycles, actions))."""
