"""The control pass: a lane-parallel loop's control flow run once for all its lanes.

Registers hold one integer (the same in every lane) or an int64 array of one value per lane. Every
instruction of one iteration is recorded once, in order, with what its timing and numerics need:
scalar instructions their cycles, unit instructions their operands (an operand's start is an array
when it depends on the lane). Branches must agree in every lane except the loop's closing branch,
which is taken in every lane but the last; anything else violates the loop's claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from isa.program import Instruction
from isa.spec import Kind, Phase, Space, Unit
from socsim.sim.issue import Problem, Start, check_buffer, check_tile, check_weights, place, values_of
from socsim.sim.lanes.loop import LaneLoop
from socsim.sim.memory import Region
from socsim.sim.operands import Resolved
from socsim.sim.ops import Block, Exec, Op, block_values, configure, stream_env
from socsim.sim.ops.base import CONSTANT, ControlState, Shadow
from socsim.sim.traps import TrapKind

if TYPE_CHECKING:
    from socsim.sim.controller import Controller

SCALAR, CLOSE, MARK, UNIT = range(4)
"""Record kinds: a controller instruction of fixed cycles, the closing branch, a ``mark``, a unit instruction."""


class LaneViolation(Exception):
    """The loop does not keep its lane-parallel claim (the engine turns it into a trap with ``pc``)."""

    def __init__(self, pc: int, detail: str):
        super().__init__(detail)
        self.pc, self.detail = pc, detail


@dataclass(slots=True, eq=False)
class UnitRecord:
    """One unit instruction of the iteration, with its operands in every lane."""

    index: int
    """Its place among the iteration's unit instructions."""
    pos: int
    """Its place among all the iteration's records."""
    pc: int
    ins: Instruction
    op: Op
    values: dict[str, Any]
    mem: dict[str, tuple[Space, Start, int]]
    varying: bool
    """Some operand's start differs between lanes."""
    pattern: np.ndarray | None
    """Word offsets of a gather/scatter pattern from its span's start (None without numerics)."""
    span: str
    """The operand the pattern addresses ("" for other instructions)."""
    tile: int
    """The tile of a CIM instruction (-1 otherwise)."""
    streams: dict[str, np.ndarray] | None
    """``mvms``: each streamed operand's word offsets from its start (None without numerics or for other ops)."""
    read_index: int
    """For mvm / mvmt / rdw: how many reads of its tile come before it in the iteration (-1 otherwise)."""
    tags_first: tuple[str, str]
    """(layer, phase) of its ledger rows in the first lane."""
    tags: tuple[str, str]
    """(layer, phase) in the other lanes (they differ before the iteration's first ``mark``)."""
    marked: bool
    """A ``mark`` came before it in the iteration."""
    _shared: Resolved | None = field(default=None)

    def resolved(self, lane: int) -> Resolved:
        """Its operands in ``lane`` as the timing model sees them (no pattern offsets)."""
        if not self.varying:
            if self._shared is None:
                self._shared = self._resolve(0)
            return self._shared
        return self._resolve(lane)

    def _resolve(self, lane: int) -> Resolved:
        mem: dict[str, tuple[Space, int, int]] = {}
        reads: list[Region] = []
        writes: list[Region] = []
        for name, read, write in self.op.access:
            space, start, size = self.mem[name]
            s = int(start[lane]) if isinstance(start, np.ndarray) else start
            mem[name] = (space, s, size)
            region = (int(space), s, s + size)
            if read:
                reads.append(region)
            if write:
                writes.append(region)
        return Resolved(self.values, mem, tuple(reads), tuple(writes), None)


@dataclass
class Trace:
    """One iteration of a lane-parallel loop as every lane runs it, and the state the loop leaves."""

    records: list[tuple]
    """(kind, pc, a, b): SCALAR (mnemonic, cycles), CLOSE (mnemonic, -), MARK (layer id, phase), UNIT (record, -)."""
    units: list[UnitRecord]
    tile_reads: dict[int, int]
    """Reads (mvm, mvmt, rdw) of each tile per iteration."""
    regs: list[Any]
    agen: list[tuple[int, int]]
    blocks: dict[int, Block]
    streams: dict[int, dict[str, tuple]]
    """The stream state (tpat, tepi) each tile has after the iteration."""
    tags: tuple[str, str]
    hook_pcs: list[int]
    """The pcs of the iteration, in order (for progress hooks)."""
    inner: list[tuple[int, ...]]
    """Inner loops run by the iteration: for each, the record index where each of its iterations starts and,
    last, the index after it (socsim.sim.lanes.inner)."""

    @cached_property
    def unit_at(self) -> dict[int, UnitRecord]:
        """The unit record at each record position."""
        return {rec.pos: rec for rec in self.units}

    known_fingerprint: tuple | None = None
    """The fingerprint, once computed (or carried over from the recorded iteration this one relocates)."""

    def fingerprint(self) -> tuple:
        """What the timing of an iteration depends on: every record's pc and its lane-invariant operands."""
        if self.known_fingerprint is None:
            self.known_fingerprint = self._fingerprint()
        return self.known_fingerprint

    def _fingerprint(self) -> tuple:
        out = []
        for kind, pc, a, b in self.records:
            if kind == UNIT:
                out.append((pc, tuple((n, s, st if isinstance(st, int) else "lane", z)
                                      for n, (s, st, z) in a.mem.items())))
            else:
                out.append((kind, pc, a, b))
        return tuple(out)


def check_registers(loop: LaneLoop, final: list[Any], entry: list[int], exposed: set[int]) -> None:
    """The loop counter counts the iterations by one, and every register an iteration reads before it sets it
    (``exposed``) is what the iteration leaves for the next one: ``final`` holds the registers every lane leaves,
    ``entry`` those the loop starts from."""
    lanes = loop.count
    counter = np.asarray(final[loop.reg])
    if not np.array_equal(np.broadcast_to(counter, (lanes,)), entry[loop.reg] + 1 + np.arange(lanes)):
        raise LaneViolation(loop.end, f"{loop.describe()}: x{loop.reg} must count the iterations by one")
    for r in exposed - {loop.reg, 0}:
        now = final[r]
        left = now[:lanes - 1] if isinstance(now, np.ndarray) else now
        if not np.all(left == entry[r]):
            raise LaneViolation(loop.end, f"{loop.describe()}: x{r} is read before the iteration sets it and the "
                                          "iteration changes it, so each iteration depends on the one before")


class _Regs(list):
    """Registers of the control pass, noting which are read before the iteration writes them."""

    def __init__(self, values: list[Any]):
        super().__init__(values)
        self.written: set[int] = set()
        self.exposed: set[int] = set()

    def __getitem__(self, r):  # type: ignore[override]
        if r not in self.written:
            self.exposed.add(r)
        return list.__getitem__(self, r)


class _Levels(list):
    """Address-generator levels of the control pass, noting which the iteration has set."""

    def __init__(self, values: list[tuple[int, int]]):
        super().__init__(values)
        self.written: set[int] = set()

    def __setitem__(self, key, value) -> None:  # type: ignore[override]
        self.written.update(range(len(self))[key] if isinstance(key, slice) else (key,))
        list.__setitem__(self, key, value)


class ControlPass(ControlState):
    """Runs one iteration's control for all lanes of ``loop`` and records it (a :class:`Trace`)."""

    def __init__(self, ctrl: "Controller", loop: LaneLoop):
        self.ctrl, self.loop, self.soc = ctrl, loop, ctrl.soc
        lanes = loop.count
        self.v0 = ctrl.regs[loop.reg]
        self.entry_regs = list(ctrl.regs)
        regs = list(ctrl.regs)
        regs[loop.reg] = self.v0 + np.arange(lanes, dtype=np.int64)
        self.regs = _Regs(regs)
        self.regs.written.add(0)
        self.agen = _Levels(list(ctrl.agen))
        self.agen_used_exposed: set[int] = set()
        self.entry_agen = list(ctrl.agen)
        self.alu_cycles, self.taken_cycles = ctrl.alu_cycles, ctrl.taken_cycles
        self.blocks: dict[int, Block] = {}
        self.entry_blocks: dict[int, Block] = {}
        self.streams: dict[int, dict[str, tuple]] = {}
        self.entry_streams: dict[int, dict[str, tuple]] = {}
        self.streams_set: dict[int, set[str]] = {}
        """Per tile, the stream state (IN, OUT, EPI) the iteration has set so far."""
        self.streams_exposed: dict[int, set[str]] = {}
        """Per tile, the stream state an mvms used before the iteration set it."""
        self.tags_first = (ctrl.layer, ctrl.phase)
        self.tags = self.tags_first
        self.marked = False
        self.records: list[tuple] = []
        self.units: list[UnitRecord] = []
        self.tile_reads: dict[int, int] = {}
        self.pcs: list[int] = []
        self.closed = False
        self.entered: dict[int, int] = {}
        """pc -> the record index it was last run at."""
        self.open: dict[tuple[int, int], list[int]] = {}
        self.inner: list[tuple[int, ...]] = []
        self.shadows = [Shadow({r: 1}) if r else CONSTANT for r in range(len(regs))]
        """How each register depends on the registers the iteration starts from (socsim.sim.lanes.relocate)."""
        self.constraints: list[Shadow] = []
        """Shadows that must not move for the recorded iteration to hold: branches' compared differences."""
        self.moves: list[tuple[int, str, Shadow]] = []
        """(unit record, operand, shadow of its base register) of every operand addressed through a register."""
        self.relocatable = True
        """False when an instruction reads registers in a way the shadows do not follow."""
        self.weighted: set[int] = set()
        """Tiles whose instructions needed weights (programmed and configured)."""

    # ControlState --------------------------------------------------------------------------------------
    def set_reg(self, rd: int, value) -> None:
        if isinstance(value, np.ndarray) and (value == value[0]).all():
            value = int(value[0])
        self.regs.written.add(rd)
        list.__setitem__(self.regs, rd, value)

    def count(self, mnemonic: str, cycles: int) -> None:
        self.records.append((SCALAR, self.pc, mnemonic, cycles))

    def branch(self, taken, target: int, pc: int, mnemonic: str) -> int:
        loop = self.loop
        if pc == loop.end:
            want = np.arange(loop.count) < loop.count - 1
            if not np.array_equal(np.broadcast_to(np.asarray(taken), want.shape), want):
                raise LaneViolation(pc, f"{loop.describe()} declares {loop.count} iterations counted by x{loop.reg}, "
                                        "but its closing branch is not taken in every iteration but the last")
            self.records.append((CLOSE, pc, mnemonic, 0))
            self.closed = True
            return pc + 1
        if isinstance(taken, np.ndarray):
            if not (taken == taken[0]).all():
                raise LaneViolation(pc, f"the branch at pc {pc} goes different ways in different iterations of "
                                        f"{loop.describe()}")
            taken = bool(taken[0])
        if taken and not loop.head <= target <= loop.end:
            raise LaneViolation(pc, f"the branch at pc {pc} leaves {loop.describe()} before its closing branch")
        self.records.append((SCALAR, pc, mnemonic, self.taken_cycles if taken else self.alu_cycles))
        if target <= pc:  # the closing branch of an inner loop: where its iterations start
            key = (target, pc)
            if taken:
                self.open.setdefault(key, [self.entered[target]]).append(len(self.records))
            elif key in self.open:
                self.inner.append((*self.open.pop(key), len(self.records)))
        return target if taken else pc + 1

    def jump(self, target, pc: int, mnemonic: str) -> int:
        raise LaneViolation(pc, f"{mnemonic} at pc {pc}: calls and returns are not allowed in {self.loop.describe()}")

    def tag(self, layer: int, phase: int) -> None:
        self.records.append((MARK, self.pc, layer, phase))
        self.tags = (self.soc.program.layers.get(layer, str(layer)) if layer else "-", Phase(phase).name.lower())
        self.marked = True

    # the pass --------------------------------------------------------------------------------------------
    def run(self) -> Trace:
        soc, loop = self.soc, self.loop
        if loop.end < 0:
            raise LaneViolation(loop.head, f"{loop.describe()} has no single conditional branch back to its first "
                                           "instruction")
        pc = loop.head
        while not self.closed:
            self.pc = pc
            if not loop.head <= pc <= loop.end:
                raise LaneViolation(pc, f"{loop.describe()} runs pc {pc}, outside its body")
            ins = soc.code[pc]
            if ins is None:
                raise LaneViolation(pc, soc.decode_error or "undecodable instruction")
            self.pcs.append(pc)
            self.entered[pc] = len(self.records)
            op = soc.ops[pc]
            if op.exec is Exec.CONTROL:
                self.follow(op, ins)
                pc = op.control(self, ins.args, pc)
            elif op.exec is Exec.UNIT:
                self.unit(ins, op, pc)
                pc += 1
            else:
                raise LaneViolation(pc, f"{ins.spec.mnemonic} at pc {pc} waits on units or memory, which "
                                        f"{loop.describe()} cannot do in lanes")
        self.check_exposed()
        for rec in self.units:
            if not rec.marked:  # before the iteration's first mark: later lanes carry the tags of the one before
                rec.tags = self.tags
        return Trace(self.records, self.units, self.tile_reads, self.exit_regs(), list(self.agen),
                     {**self.entry_blocks, **self.blocks}, {**self.entry_streams, **self.streams}, self.tags, self.pcs,
                     self.inner)

    def unit(self, ins: Instruction, op: Op, pc: int) -> None:
        if op.lane_shared:
            raise LaneViolation(pc, f"{op.mnemonic} at pc {pc} changes state every iteration shares (devices, a "
                                    f"block's full scale or hyperparameters); it cannot run in {self.loop.describe()}")
        soc = self.soc
        p = soc.plans[pc]
        tile, read_index = -1, -1
        try:
            env: dict[str, int] = {}
            streams_now = None
            if ins.spec.unit is Unit.TILE:
                tile = ins.args[0]
                check_tile(op, ins.args, soc.cfg)
                check_weights(op, ins.args, tile in self.blocks or soc.tiles[tile].configured,
                              soc.tiles[tile].programmed)
                if op.needs_weights:
                    self.weighted.add(tile)
                env, streams_now = self.tile_state(op, ins.args, tile)
                if op.reads_array:
                    read_index = self.tile_reads.get(tile, 0)
                    self.tile_reads[tile] = read_index + 1
            if p.patterned:
                self.agen_exposed_use()
            values, lo, offsets, lows, stream_offs = values_of(p, env, tuple(self.agen) if p.patterned else None,
                                                               streams_now, not soc.timing_only)
            for name in op.lane_fixed:
                if isinstance(self.regs[values[name]], np.ndarray):
                    raise LaneViolation(pc, f"{op.mnemonic} at pc {pc}: its {name} register differs between "
                                            "iterations")
            mem = place(p, self.regs, soc.memory, values, lo, lows)
            for m in p.mems:
                if m.ref.reg and not self.shadows[m.ref.reg].constant:
                    self.moves.append((len(self.units), m.name, self.shadows[m.ref.reg]))
            varying = False
            for name, (space, start, _) in mem.items():
                if isinstance(start, np.ndarray):
                    varying = True
                    if space is Space.TBUF:
                        raise LaneViolation(pc, f"operand {name} addresses a tile buffer by a register that "
                                                "differs between iterations")
            check_buffer(op, tile, mem)
        except Problem as problem:
            raise LaneViolation(pc, problem.detail) from None
        streams = (None if streams_now is None or soc.timing_only
                   else {m.name: stream_offs[m.stream] for m in p.mems if m.stream})
        rec = UnitRecord(len(self.units), len(self.records), pc, ins, op, values, mem, varying, offsets, p.span, tile,
                         streams, read_index,
                         self.tags_first if not self.marked else self.tags, self.tags, self.marked)
        self.units.append(rec)
        self.records.append((UNIT, pc, rec, 0))

    def follow(self, op: Op, ins: Instruction) -> None:
        """Follow a controller instruction's registers in the shadows (before it runs: it may overwrite a source)."""
        if op.relocate is None:
            if any(f.kind is Kind.REG for f in ins.spec.fields):
                self.relocatable = False
            return
        rd, shadow = op.relocate(ins.args, self.shadows, self.regs)
        if rd < 0:
            if not shadow.constant:
                self.constraints.append(shadow)
        elif rd:
            self.shadows[rd] = shadow

    def tile_state(self, op: Op, args: tuple, tile: int) -> tuple[dict[str, int], dict[str, tuple] | None]:
        """A tile instruction's effect on its tile's block and stream state as the iteration sees them, and the sizes
        (ROWS, COLS, ...) and stream patterns it is issued with (None: it streams nothing)."""
        soc = self.soc
        if op.configures_block:
            block = configure(soc.cfg.tiles, args)
            if isinstance(block, str):
                raise Problem(TrapKind.OUT_OF_RANGE, block)
            self.blocks[tile] = block
        elif tile not in self.blocks:  # the block set before the loop: every iteration must leave it so
            self.entry_blocks.setdefault(tile, soc.tiles[tile].block)
        env = block_values(self.blocks.get(tile, soc.tiles[tile].block))
        if op.configures_stream is None and not op.streamed:
            return env, None
        if tile not in self.streams:
            self.entry_streams[tile] = dict(soc.tiles[tile].streams)
            self.streams[tile] = dict(soc.tiles[tile].streams)
            self.streams_set[tile] = set()
        streams = self.streams[tile]
        if op.configures_stream is not None:
            if op.reads_agen:
                self.agen_exposed_use()
            before = dict(streams)
            key = op.configures_stream(streams, args, self.agen)
            self.streams_set[tile] |= {k for k, v in streams.items() if v != before[k]} | {key}
            return env, None
        exposed = self.streams_exposed.setdefault(tile, set())
        exposed.update(set(streams) - self.streams_set[tile])
        return {**env, **stream_env(streams)}, streams

    def agen_exposed_use(self) -> None:
        """A gather/scatter reads every address-generator level: levels the iteration has not set must come back
        the same at its end (checked in :meth:`check_exposed`)."""
        self.agen_used_exposed |= set(range(len(self.agen))) - self.agen.written

    # what the next iteration starts from ----------------------------------------------------------------
    def check_exposed(self) -> None:
        """Registers, address-generator levels and tile blocks an iteration uses before setting them must be
        what it leaves for the next one (the loop counter: one more), else iterations depend on each other."""
        loop = self.loop
        end = loop.end
        check_registers(loop, list(self.regs), self.entry_regs, self.regs.exposed)
        for level in self.agen_used_exposed:
            if self.agen[level] != self.entry_agen[level]:
                raise LaneViolation(end, f"{loop.describe()}: address-generator level {level} is used before the "
                                         "iteration sets it and the iteration changes it")
        for tile, block in self.entry_blocks.items():
            if self.blocks.get(tile, block) != block:
                raise LaneViolation(end, f"{loop.describe()}: tile {tile}'s block is used before the iteration "
                                         "configures it and the iteration changes it")
        for tile, keys in self.streams_exposed.items():
            if any(self.streams[tile][k] != self.entry_streams[tile][k] for k in keys):
                raise LaneViolation(end, f"{loop.describe()}: tile {tile}'s stream patterns or epilogue are used "
                                         "before the iteration sets them and the iteration changes them")

    def exit_regs(self) -> list[Any]:
        """The registers the last iteration leaves (integers)."""
        out = []
        for v in list(self.regs):
            out.append(int(v[-1]) if isinstance(v, np.ndarray) else v)
        return out
