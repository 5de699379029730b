"""Issuing a unit instruction, as both engines do it: the checks of its tile and the placement of its operands.

The sequential controller (socsim.sim.controller) and the lane-parallel control pass (socsim.sim.lanes.trace) both
call these; a register, and so an operand's first word, is an integer or (in the control pass) an int64 array of
one value per lane. What the program did wrong raises :class:`Problem` with the trap it makes: the controller turns
it into a :class:`~socsim.sim.traps.Trap`, the control pass into a lane violation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from isa.program import TBUF_STRIDE
from isa.spec import Space
from socsim.sim.operands import Plan, Resolved, operand_size, pattern_values, stream_values
from socsim.sim.traps import TrapKind

if TYPE_CHECKING:
    from socsim.config.soc import SocConfig
    from socsim.sim.memory import Memory
    from socsim.sim.ops import Op

Start = int | np.ndarray
"""An operand's first word: the same in every lane, or one per lane."""
Placed = dict[str, tuple[Space, Start, int]]
"""Memory operands by name: (space, first word, words)."""


class Problem(Exception):
    """What the program did wrong at issue, and the trap it makes."""

    def __init__(self, kind: TrapKind, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def tile_problem(op: "Op", args: tuple, cfg: "SocConfig") -> str:
    """What is wrong with the tile a CIM instruction names ("" if nothing)."""
    t = args[0]
    if t >= cfg.tiles.count:
        return f"tile {t} does not exist (tiles.count = {cfg.tiles.count})"
    if op.transposed and not cfg.tiles.transposed_mvm:
        return "this configuration has no transposed read (tiles.transposed_mvm = false)"
    return ""


def weights_problem(op: "Op", args: tuple, configured: bool, programmed: bool) -> str:
    """What keeps an MVM from multiplying by its tile's weights ("" if nothing): no ``tcfg`` set the block, or no
    ``wv`` / ``pulse`` wrote the devices."""
    if op.needs_weights:
        if not configured:
            return f"{op.mnemonic} on tile {args[0]}, which no tcfg has configured (its block is unset)"
        if not programmed:
            return f"{op.mnemonic} on tile {args[0]}, which holds no weights (no wv or pulse has programmed it)"
    return ""


def check_tile(op: "Op", args: tuple, cfg: "SocConfig") -> None:
    """Raise the :class:`Problem` of the tile a CIM instruction names, if any."""
    problem = tile_problem(op, args, cfg)
    if problem:
        raise Problem(TrapKind.ILLEGAL_INSTRUCTION, problem)


def check_weights(op: "Op", args: tuple, configured: bool, programmed: bool) -> None:
    """Raise the :class:`Problem` of an MVM whose tile has no block or no weights, if any."""
    problem = weights_problem(op, args, configured, programmed)
    if problem:
        raise Problem(TrapKind.ILLEGAL_INSTRUCTION, problem)


def values_of(p: Plan, env: dict[str, int], pattern: tuple | None, streams: dict[str, tuple] | None,
              offsets: bool) -> tuple[dict[str, Any], int, np.ndarray | None, dict[str, int], dict[str, Any]]:
    """An instruction's scalar values (its fields, ``env``: the tile's block and epilogue sizes, the pattern's and
    streams' PATTERN and SPAN), the pattern's lowest offset and word offsets, the streams' lowest offsets and word
    offsets (``offsets=False``: None)."""
    values: dict[str, Any] = {**env, **p.scalars} if env else dict(p.scalars)
    lo, offs = 0, None
    if pattern is not None:
        lo, offs = pattern_values(pattern, values, offsets)
    lows: dict[str, int] = {}
    stream_offs: dict[str, Any] = {}
    if streams is not None:
        lows, stream_offs = stream_values(streams, values, offsets)
    return values, lo, offs, lows, stream_offs


def place(p: Plan, regs: list, memory: "Memory", values: dict[str, Any], lo: int, lows: dict[str, int]) -> Placed:
    """Every memory operand's (space, first word, words): the reference's offset plus its base register (plus the
    pattern's or the stream's lowest offset), checked against the memory and its symbols."""
    out: Placed = {}
    for m in p.mems:
        try:
            size = operand_size(m, values)
        except ZeroDivisionError:  # an operand size is undefined, e.g. pooling with stride 0
            raise Problem(TrapKind.BAD_OPERAND, "operand sizes are undefined for these field values "
                                                "(division by zero)") from None
        ref = m.ref
        start = ref.offset + regs[ref.reg] if ref.reg else ref.offset
        if m.span:
            start = start + lo
        elif m.stream:
            start = start + lows[m.stream]
        problem = (memory.check_lanes(ref.space, start, size) if start.__class__ is np.ndarray
                   else memory.check(ref.space, start, size))
        if problem:
            raise Problem(TrapKind.OUT_OF_RANGE, f"operand {m.name}: {problem}")
        out[m.name] = (ref.space, start, size)
    return out


def check_buffer(op: "Op", tile: int, mem: Placed) -> None:
    """An instruction that works in its own tile's buffer (Op.own_buffer) reads and writes only there."""
    if op.own_buffer:
        for name, (space, start, _) in mem.items():
            if space is not Space.TBUF or start // TBUF_STRIDE != tile:
                raise Problem(TrapKind.OUT_OF_RANGE, f"operand {name} must be in tile {tile}'s buffer tb{tile}")


def resolve(p: Plan, regs: list[int], memory: "Memory", env: dict[str, int],
            pattern: tuple[tuple[int, int], ...] | None = None, offsets: bool = True,
            streams: dict[str, tuple[tuple[int, int], ...]] | None = None) -> Resolved:
    """One instruction's operands in the sequential engine (integer registers): its values, placed operands and the
    word regions it reads and writes (the scoreboard's).

    ``env`` supplies ROWS/COLS (the tile's active block) for tile instructions; ``pattern`` the address-generator
    levels for gather/scatter; ``streams`` the tile's stream patterns for ``mvms``. ``offsets=False`` skips listing
    the patterns' word offsets (``Resolved.pattern`` and ``streams`` are then None): the sizes and regions still come
    out exactly. Raises :class:`Problem` on an operand out of range or of undefined size.
    """
    values, lo, offs, lows, stream_offs = values_of(p, env, pattern, streams, offsets)
    mem = place(p, regs, memory, values, lo, lows)
    reads: list[tuple[int, int, int]] = []
    writes: list[tuple[int, int, int]] = []
    for m in p.mems:
        space, start, size = mem[m.name]
        region = (int(space), start, start + size)
        if m.read:
            reads.append(region)
        if m.write:
            writes.append(region)
    by_operand = ({m.name: stream_offs[m.stream] for m in p.mems if m.stream}
                  if streams is not None and offsets else None)
    return Resolved(values, mem, tuple(reads), tuple(writes), offs, by_operand)  # type: ignore[arg-type]
