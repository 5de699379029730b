"""Functional semantics of the CIM instructions: calls into the tile's :class:`Crossbar` at issue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from socsim.sim.memory import Memory
from socsim.sim.operands import Resolved

if TYPE_CHECKING:
    from socsim.sim.tile import Tile


def _tcfg(tile: "Tile", o: Resolved, mem: Memory, t_s: float) -> dict:
    return {}


def _mvm(tile: "Tile", o: Resolved, mem: Memory, t_s: float) -> dict:
    r0, c0, rows, cols, bits = tile.block
    x = o.array(mem, "src").reshape(o.values["n"], rows)
    xbar = tile.crossbar
    before = xbar.saturated_conversions()
    o.array(mem, "dst")[:] = xbar.mvm(x, r0, c0, cols, bits, t_s).ravel()
    return {"saturated": xbar.saturated_conversions() - before}


def _mvmt(tile: "Tile", o: Resolved, mem: Memory, t_s: float) -> dict:
    r0, c0, rows, cols, bits = tile.block
    x = o.array(mem, "src").reshape(o.values["n"], cols)
    xbar = tile.crossbar
    before = xbar.saturated_conversions()
    o.array(mem, "dst")[:] = xbar.mvm_t(x, r0, c0, rows, bits, t_s).ravel()
    return {"saturated": xbar.saturated_conversions() - before}


def _wv(tile: "Tile", o: Resolved, mem: Memory, t_s: float) -> dict:
    r0, c0, rows, cols, _ = tile.block
    target = o.array(mem, "target").reshape(rows, cols)
    mask = o.array(mem, "mask").reshape(rows, cols) != 0
    return {"report": tile.crossbar.write_verify(target, mask, r0, c0, t_s)}


def _pulse(tile: "Tile", o: Resolved, mem: Memory, t_s: float) -> dict:
    r0, c0, rows, cols, _ = tile.block
    n = np.rint(o.array(mem, "npulses").reshape(rows, cols)).astype(np.int32)
    return {"report": tile.crossbar.pulse(n, r0, c0, t_s)}


def _rdw(tile: "Tile", o: Resolved, mem: Memory, t_s: float) -> dict:
    r0, c0, rows, cols, _ = tile.block
    o.array(mem, "dst")[:] = tile.crossbar.read_weights(r0, c0, rows, cols, t_s).ravel()
    return {}


TILE_NUMERICS: dict[str, Callable[["Tile", Resolved, Memory, float], dict]] = {
    "tcfg": _tcfg, "mvm": _mvm, "mvmt": _mvmt, "wv": _wv, "pulse": _pulse, "rdw": _rdw,
}
