"""The streamed MVM of the pipelined datapath: ``tpat`` (a tile's stream patterns), ``tepi`` (its output stage's
epilogue) and ``mvms`` (n vectors streamed in through the input pattern, converted, chained and written out).

Numerics are those of the sequential datapath's instructions, in the same order and float32 operations: the input
stage quantises as ``quant`` does, the array reads as ``mvm`` does (one read number per instruction), the partial sum
of the tile before is added as ``scadd`` adds it (``psum + y``), and the epilogue applies ``vscl``, ``vaddr``,
``bneval``, ``vadd`` and ``vrelu``'s operations in that order. So a pipelined program that feeds the same vectors in
the same instructions computes bit for bit what the sequential one does; only the timing differs.

Timing (docs/architecture.md, "Streamed MVM"): per vector the slowest of the conversion (as ``mvm``), the input
fetch (ROWS words at ``tiles.stream_words_per_cycle``) and the output stage's traffic; before the first vector the
fetch of one input (hidden when the tile's address generator could fetch it while the previous job converted);
after the last one the output stage's last add and write (``tiles.psum_add_cycles`` + its words). The partial-sum
operand is read as it arrives: its producer is a late dependency (the job converts meanwhile and ends no earlier
than the producer, plus the tail).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from isa.program import BadOperand
from isa.spec import Space, TileStream
from socsim.base.actions import Action
from socsim.sim.ops.base import F32, Op
from socsim.sim.ops.digital import quantize_by, scale_operand
from socsim.sim.ops.epilogue import Epilogue, apply_epilogue
from socsim.sim.ops.tile import read_actions

if TYPE_CHECKING:
    from socsim.physics import ProgramReport
    from socsim.sim.ops.tile import Actions, TileOperands, TileView


def _tepi(c: "TileOperands") -> None:
    v = c.v
    cols, ch = v["COLS"], v["ch"]
    bias = c.a("b").astype(F32, copy=True) if v["hb"] else None
    scale = mean = beta = None
    if v["hn"]:
        run, gb = c.a("run"), c.a("gb")
        scale = gb[:, :cols] / np.sqrt(run[:, ch:ch + cols] + F32(v["eps"]))  # as bneval: gamma / sqrt(var + eps)
        mean, beta = run[:, :cols].copy(), gb[:, ch:ch + cols].copy()
    f = F32(v["f"]) * scale_operand(c, "s")  # (L, 1): as vsclm, f times the scale in memory
    c.tile.epilogue = Epilogue(f, bias, scale, mean, beta, bool(v["relu"]))


def _mvms(c: "TileOperands") -> None:
    v = c.v
    n, rows, cols = v["n"], v["ROWS"], v["COLS"]
    if v["IN_PATTERN"] != n * rows or v["OUT_PATTERN"] != n * cols:
        raise BadOperand(f"mvms: the tile's input pattern has {v['IN_PATTERN']} words and its output pattern "
                         f"{v['OUT_PATTERN']}; n x ROWS = {n * rows} and n x COLS = {n * cols} expected")
    lanes, streams = c.lanes, c.streams
    x = quantize_by(c.a("src")[:, streams["src"]], scale_operand(c, "scale"), v["IN_BITS"]).reshape(lanes, n, rows)
    t_s, counters = c.read_draws()
    y, sat = c.tile.crossbar.mvm_lanes(x, v["R0"], v["C0"], cols, v["IN_BITS"], t_s, counters)
    c.count_saturated(sat)
    if v["acc"]:
        y = c.a("psum").reshape(lanes, n, cols) + y
    if v["post"]:
        res = c.a("res")[:, streams["res"]].reshape(lanes, n, cols) if v["hres"] else None
        y = apply_epilogue(c.tile.epilogue.lanes(lanes), y, res)
    c.a("dst")[:, streams["dst"]] = y.reshape(lanes, -1)


def output_words(v: dict) -> int:
    """Words the output stage moves per vector: the result, and the partial sum and residual it reads."""
    return v["COLS"] * (1 + v["acc"] + v["hres"])


def _mvms_cost(tile: TileView, v: dict, report: "ProgramReport | None") -> tuple[int, "Actions"]:
    """Cycles of the n vectors (without the first fetch and the last output, :func:`stream_edges`) and the tile's
    actions: the array's reads as ``mvm``, and the input stage's quantiser and the output stage's adds priced as the
    digital unit's operations they replace."""
    n, rows, cols = v["n"], v["ROWS"], v["COLS"]
    slots, conv, conv_cycles = tile.read_cost(v["IN_BITS"])
    rate = tile.cfg.stream_words_per_cycle
    per = max(tile.mvm_cycles(1, cols, conv, conv_cycles), -(-rows // rate), -(-output_words(v) // rate))
    outs = n * cols
    adds = outs * (v["acc"] + v["hres"])
    ops = 2 * n * rows + adds
    macs = 0
    if v["post"]:  # the steps tepi turned on (EPI_*: control state at issue, as the numerics' epilogue)
        macs += outs * (1 + v["EPI_N"])
        ops += outs * (v["EPI_B"] + v["EPI_N"] + v["EPI_R"])
    return n * per, [*read_actions(tile, n, rows, cols, slots, conv, False), (Action.DU_OP, ops), (Action.DU_MAC, macs),
                     (Action.DU_SPECIAL, n * rows)]


def stream_edges(tile: TileView, v: dict) -> tuple[int, int]:
    """(the first input's fetch, the last output's add and write) of an ``mvms``, in cycles."""
    rate = tile.cfg.stream_words_per_cycle
    return -(-v["ROWS"] // rate), tile.cfg.psum_add_cycles + -(-output_words(v) // rate)


def stream_accesses(v: dict, mem: dict[str, tuple[Space, int, int]]) -> list[tuple[str, bool, int]]:
    """(operand, written, words) the streams move: the words the patterns address, not their spans."""
    n, rows, cols = v["n"], v["ROWS"], v["COLS"]
    out = [("src", False, n * rows), ("scale", False, 1), ("dst", True, n * cols)]
    if v["acc"]:
        out.append(("psum", False, n * cols))
    if v["hres"]:
        out.append(("res", False, n * cols))
    return out


def _tepi_cost(tile: TileView, v: dict, report: "ProgramReport | None") -> tuple[int, "Actions"]:
    words = v["COLS"] * (v["hb"] + 4 * v["hn"])
    return tile.cfg.config_cycles + -(-words // tile.cfg.stream_words_per_cycle), \
        [(Action.DU_SPECIAL, v["COLS"] * v["hn"]), (Action.DU_OP, v["COLS"] * v["hn"])]


def _set_pattern(streams: dict[str, tuple], args: tuple, agen: list[tuple[int, int]]) -> str:
    """``tpat``: the address generator's levels become the tile's input or output stream pattern."""
    name = STREAM_NAMES[args[1]]
    streams[name] = tuple(agen)
    return name


def _set_epilogue(streams: dict[str, tuple], args: tuple, agen: list[tuple[int, int]]) -> str:
    """``tepi``: the epilogue's step flags (bias, batch norm, ReLU)."""
    *_, hb, hn, relu = args
    streams["EPI"] = (hb, hn, relu)
    return "EPI"


def stream_env(streams: dict[str, tuple]) -> dict[str, int]:
    """The epilogue flags as size names of an mvms (EPI_B, EPI_N, EPI_R)."""
    hb, hn, relu = streams["EPI"]
    return {"EPI_B": hb, "EPI_N": hn, "EPI_R": relu}


STREAM_NAMES = {int(TileStream.IN): "IN", int(TileStream.OUT): "OUT"}

STREAM: dict[str, Op] = {
    "tpat": Op(tile_cost=lambda tile, v, report: (tile.cfg.config_cycles, []), configures_stream=_set_pattern,
               reads_agen=True, only_moves=True),
    "tepi": Op(numerics=_tepi, tile_cost=_tepi_cost, configures_stream=_set_epilogue),
    "mvms": Op(numerics=_mvms, tile_cost=_mvms_cost, reads_array=True, needs_weights=True,
               late_reads=frozenset({"psum"}), stream_edges=stream_edges, stream_accesses=stream_accesses),
}
"""mnemonic -> its op, as socsim.sim.ops.tile.TILE; ``mvms``'s partial sums are read late (socsim.sim.unit.Job.late)."""
