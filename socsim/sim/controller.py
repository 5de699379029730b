"""The controller: in-order fetch, decode and issue; runs scalar and sync instructions itself.

Scalar instructions advance a local cycle count (``lag``) and touch the SimPy clock only when the
controller interacts with another unit, which keeps the event count per instruction O(1) and the
timing exact. Every unit instruction's numerics run at issue, in program order (functional-first).
"""

from __future__ import annotations

import math
import operator
import time
from typing import TYPE_CHECKING, Callable, Generator

import numpy as np
import simpy

from isa.program import TBUF_STRIDE, Instruction
from isa.spec import OPCODES, Hyper, Kind, Phase, Space, Unit, WaitUnit
from socsim.sim.numerics import NUMERICS, Ctx
from socsim.sim.operands import PATTERN_LEVELS, Resolved, field_access, resolve
from socsim.sim.tile_numerics import TILE_NUMERICS
from socsim.sim.timing_only import ALWAYS_EXECUTED, nominal_report
from socsim.sim.traps import Trap, TrapKind
from socsim.sim.unit import Completion, Job, wait_for

if TYPE_CHECKING:
    from socsim.sim.soc import Soc

_MASK64 = (1 << 64) - 1
WATCH_CYCLES = 1 << 14
"""With a wall-clock deadline, the controller looks at the host clock whenever this many more cycles passed
(every loop iteration costs at least one cycle, so a runaway loop is seen within ~0.1 s)."""


def _wrap(v: int) -> int:
    """Registers are 64-bit two's complement."""
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


ALU_OPS: dict[str, Callable[[int, int], int]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "and": operator.and_,
    "or": operator.or_, "xor": operator.xor, "sll": lambda a, b: a << (b & 63),
    "sra": lambda a, b: a >> (b & 63), "slt": lambda a, b: int(a < b),
    "addi": operator.add, "muli": operator.mul,
}
BRANCHES: dict[str, Callable[[int, int], bool]] = {
    "beq": operator.eq, "bne": operator.ne, "blt": operator.lt, "bge": operator.ge,
}
_REG_OPERAND_ALU = frozenset(s.mnemonic for s in OPCODES if s.mnemonic in ALU_OPS and s.fields[2].kind is Kind.REG)
"""ALU mnemonics whose second source is a register (the others take an immediate)."""
DEFAULT_HYPER = {Hyper.LR: 1e-3, Hyper.BETA1: 0.9, Hyper.BETA2: 0.999, Hyper.EPS: 1e-8, Hyper.WD: 0.0,
                 Hyper.MOMENTUM: 0.0}


class Controller:
    """Architectural state (registers, address generator, tags) and the fetch/issue loop."""

    def __init__(self, soc: "Soc"):
        self.soc = soc
        self.regs = [0] * 32
        self.hyper = {int(k): v for k, v in DEFAULT_HYPER.items()}
        self.agen = [(1, 0)] * PATTERN_LEVELS
        self.layer, self.phase = "-", Phase.OTHER.name.lower()
        self.pc = 0
        self.lag = 0
        ctrl = soc.cfg.controller
        self.trap_on_nan, self.queue_depth, self.issue_cycles = (ctrl.trap_on_nan, ctrl.unit_queue_depth,
                                                                 ctrl.issue_cycles)
        self.executed = 0
        self.busy_cycles = 0
        self.stats: dict[tuple[str, str, str], list[int]] = {}
        self.waiting_on = ""
        self.semaphores: dict[int, simpy.Container] = {}

    # helpers ----------------------------------------------------------------------------------------
    def trap(self, kind: TrapKind, detail: str, ins: Instruction | None = None) -> Trap:
        return Trap(kind, detail, self.pc, ins.text() if ins else "", self.soc.env.now + self.lag,
                    self.soc.unit_states())

    def sync(self) -> Generator:
        """Bring the SimPy clock up to the controller's local time."""
        if self.lag:
            yield self.soc.env.timeout(self.lag)
            self.lag = 0

    def count(self, mnemonic: str, cycles: int) -> None:
        key = (mnemonic, self.layer, self.phase)
        row = self.stats.get(key)
        if row is None:
            self.stats[key] = [1, cycles]
        else:
            row[0] += 1
            row[1] += cycles
        self.lag += cycles
        self.busy_cycles += cycles

    def flush_stats(self) -> None:
        for (mn, layer, phase), (n, cycles) in self.stats.items():
            self.soc.ledger.record("controller", "ctrl_instr", mn, layer, phase, n, cycles)
        self.stats.clear()

    def semaphore(self, tag: int) -> simpy.Container:
        if tag not in self.semaphores:
            self.semaphores[tag] = simpy.Container(self.soc.env)
        return self.semaphores[tag]

    # main loop -------------------------------------------------------------------------------------
    def run(self) -> Generator:
        soc = self.soc
        code = soc.code
        cfg = soc.cfg.controller
        regs = self.regs
        pc = 0
        hooks = soc.hooks
        env = soc.env
        n_code = len(code)
        alu_cycles, taken_cycles = cfg.alu_cycles, cfg.alu_cycles + cfg.branch_taken_penalty_cycles
        limit = env.now + cfg.max_cycles  # a budget per run: the clock may already be far along (drift studies)
        deadline = soc.deadline  # wall clock, polled when the cycle count passes `poll` (no cost per instruction)
        poll = limit if deadline is None else min(limit, env.now + WATCH_CYCLES)
        while True:
            self.pc = pc
            if hooks and pc in hooks:
                hooks[pc]()
            if not 0 <= pc < n_code:
                raise self.trap(TrapKind.ILLEGAL_INSTRUCTION,
                                f"pc {pc} is outside the program (0 .. {n_code - 1}); missing halt?")
            ins = code[pc]
            if ins is None:
                raise self.trap(TrapKind.ILLEGAL_INSTRUCTION, soc.decode_error or "undecodable instruction")
            if env.now + self.lag > poll:
                if env.now + self.lag > limit:
                    raise self.trap(TrapKind.TIMEOUT, f"more than controller.max_cycles = {cfg.max_cycles} in this "
                                                      "run", ins)
                if deadline is not None and time.monotonic() > deadline:
                    raise self.trap(TrapKind.WALL_CLOCK, "the wall-clock deadline passed", ins)
                poll = min(limit, env.now + self.lag + WATCH_CYCLES)
            self.executed += 1
            spec = ins.spec
            mn = spec.mnemonic
            args = ins.args
            nxt = pc + 1
            # ALU ops and branches count inline (as :meth:`count` does): they are most of a training program
            op = ALU_OPS.get(mn)
            if op is not None or mn in BRANCHES:
                if op is not None:
                    b = regs[args[2]] if mn in _REG_OPERAND_ALU else args[2]
                    if args[0]:
                        regs[args[0]] = _wrap(op(regs[args[1]], b))
                    cycles = alu_cycles
                elif BRANCHES[mn](regs[args[0]], regs[args[1]]):
                    nxt = args[2]
                    cycles = taken_cycles
                else:
                    cycles = alu_cycles
                row = self.stats.get((mn, self.layer, self.phase))
                if row is None:
                    self.stats[(mn, self.layer, self.phase)] = [1, cycles]
                else:
                    row[0] += 1
                    row[1] += cycles
                self.lag += cycles
                self.busy_cycles += cycles
            elif mn == "li":
                if args[0]:
                    regs[args[0]] = args[1]
                self.count(mn, cfg.alu_cycles)
            elif mn in ("jal", "jalr"):
                target = args[1] if mn == "jal" else regs[args[1]]
                if args[0]:
                    regs[args[0]] = pc + 1
                nxt = target
                self.count(mn, cfg.alu_cycles + cfg.branch_taken_penalty_cycles)
            elif mn == "nop":
                self.count(mn, cfg.alu_cycles)
            elif mn == "mark":
                self.layer = soc.program.layers.get(args[0], str(args[0])) if args[0] else "-"
                self.phase = Phase(args[1]).name.lower()
            elif mn == "agen":
                self.agen[args[0]] = (args[1], args[2])
                self.count(mn, cfg.alu_cycles)
            elif mn == "agclr":
                self.agen = [(1, 0)] * PATTERN_LEVELS
                self.count(mn, cfg.alu_cycles)
            elif mn in ("lw", "sw"):
                yield from self.scalar_memory(ins)
            elif mn == "halt":
                yield from self.wait_all(ins)
                self.count(mn, cfg.alu_cycles)
                yield from self.sync()
                return
            elif spec.unit is Unit.CTRL:
                yield from self.synchronize(ins)
            else:
                yield from self.issue(ins)
            pc = nxt

    # controller-side memory and sync --------------------------------------------------------------------
    def scalar_memory(self, ins: Instruction) -> Generator:
        ops = self.resolve(ins, {})
        if any(space is Space.DRAM for space, _, _ in ops.mem.values()):
            raise self.trap(TrapKind.OUT_OF_RANGE, "lw/sw reach on-chip memory only, not dram", ins)
        deps = self.soc.scoreboard.dependencies(ops.reads, ops.writes)
        if deps:
            yield from self.sync()
            self.waiting_on = f"operands of pc {self.pc}"
            yield wait_for(self.soc.env, deps)
        if ins.spec.mnemonic == "lw":
            if ins.args[0]:
                value = float(ops.array(self.soc.memory, "src")[0])
                if not np.isfinite(value):
                    raise self.trap(TrapKind.NAN, f"lw loads {value}", ins)
                self.regs[ins.args[0]] = int(value)
        else:
            ops.array(self.soc.memory, "dst")[0] = np.float32(self.regs[ins.args[0]])
        space = next(iter(ops.mem.values()))[0]
        self.soc.ledger.record(space.name.lower() if space is not Space.TBUF else "tbuf",
                               ("sram_read" if ins.spec.mnemonic == "lw" else "sram_write")
                               if space is not Space.TBUF else "tbuf_access",
                               ins.spec.mnemonic, self.layer, self.phase, 1)
        self.count(ins.spec.mnemonic, self.soc.cfg.sram.access_cycles)

    def units_of(self, kind: WaitUnit, index: int, ins: Instruction) -> list:
        soc = self.soc
        if kind is WaitUnit.TILE:
            if index >= len(soc.tiles):
                raise self.trap(TrapKind.ILLEGAL_INSTRUCTION,
                                f"tile {index} does not exist (tiles.count = {len(soc.tiles)})", ins)
            return [soc.tiles[index]]
        return list(soc.dma) if kind is WaitUnit.DMA else [soc.du]

    def wait_all(self, ins: Instruction, units: list | None = None) -> Generator:
        events = [u.last_done for u in (units if units is not None else self.soc.all_units())
                  if u.last_done is not None and not u.last_done.triggered]
        if events:
            yield from self.sync()
            self.waiting_on = f"units to finish ({ins.spec.mnemonic} at pc {self.pc})"
            yield wait_for(self.soc.env, events)

    def synchronize(self, ins: Instruction) -> Generator:
        mn = ins.spec.mnemonic
        cfg = self.soc.cfg.controller
        if mn == "fence":
            yield from self.wait_all(ins)
        elif mn == "wait":
            yield from self.wait_all(ins, self.units_of(WaitUnit(ins.args[0]), ins.args[1], ins))
        elif mn == "post":
            units = self.units_of(WaitUnit(ins.args[0]), ins.args[1], ins)
            events = [u.last_done for u in units if u.last_done is not None]
            sem = self.semaphore(ins.args[2])
            yield from self.sync()
            self.soc.env.process(_post_when(self.soc.env, events, sem))
        elif mn == "waitt":
            sem = self.semaphore(ins.args[0])
            yield from self.sync()
            self.waiting_on = f"semaphore {ins.args[0]} (waitt at pc {self.pc})"
            yield sem.get(1)
        else:  # pragma: no cover - the dispatch test checks every mnemonic has a handler
            raise self.trap(TrapKind.ILLEGAL_INSTRUCTION, f"no controller handler for {mn}", ins)
        self.waiting_on = ""
        self.count(mn, cfg.alu_cycles)

    # unit instructions ------------------------------------------------------------------------------------
    def resolve(self, ins: Instruction, env: dict[str, int], pattern=None, offsets: bool = True) -> Resolved:
        try:
            ops = resolve(ins, self.regs, self.soc.memory, env, pattern, offsets)
        except ZeroDivisionError:  # an operand size is undefined, e.g. pooling with stride 0
            raise self.trap(TrapKind.BAD_OPERAND, "operand sizes are undefined for these field values "
                                                  "(division by zero)", ins) from None
        if isinstance(ops, str):
            raise self.trap(TrapKind.OUT_OF_RANGE, ops, ins)
        return ops

    def issue(self, ins: Instruction) -> Generator:
        soc = self.soc
        spec = ins.spec
        mn = spec.mnemonic
        info: dict = {}
        numerics = not soc.timing_only or mn in ALWAYS_EXECUTED
        if spec.unit is Unit.TILE:
            t_s = (soc.env.now + self.lag) / soc.cfg.clock_hz
            unit, ops = self.tile_issue(ins)
            try:
                if numerics:
                    info = TILE_NUMERICS[mn](unit, ops, soc.memory, t_s)
                elif mn in ("wv", "pulse"):
                    info = {"report": nominal_report(mn, ops.values["ROWS"], ops.values["COLS"])}
            except (ValueError, IndexError) as exc:
                raise self.trap(TrapKind.BAD_OPERAND, str(exc), ins) from None
        else:
            pattern = tuple(self.agen) if mn in ("gather", "scatter", "scadd") else None
            ops = self.resolve(ins, {}, pattern, offsets=numerics)
            if spec.unit is Unit.DMA and soc.dma_load(soc.dma[0]):  # the choice needs the channels as of now
                yield from self.sync()
            unit = soc.du if spec.unit is Unit.DU else soc.pick_dma()
            if numerics:
                ctx = Ctx(ops.mem, soc.memory.arrays, ops.values, self.hyper, self.regs, ops.pattern)
                try:
                    NUMERICS[mn](ctx)  # floating-point errors are ignored for the whole run (Soc.run): NaN traps below
                except (ValueError, IndexError) as exc:
                    raise self.trap(TrapKind.BAD_OPERAND, str(exc), ins) from None
        if numerics and self.trap_on_nan:
            mem, arrays = ops.mem, soc.memory.arrays
            for name, _, written in field_access(spec):
                if written and name in mem:
                    space, start, size = mem[name]
                    words = arrays[space][start:start + size]
                    # a sum is finite unless some word is NaN or inf (or the sum overflows: then look word by word)
                    if not math.isfinite(words.sum()) and not np.isfinite(words).all():
                        raise self.trap(TrapKind.NAN, f"operand {name} holds NaN or inf after {mn}", ins)
        deps = soc.scoreboard.dependencies(ops.reads, ops.writes)
        self.count(mn, self.issue_cycles)
        # the controller runs ahead of the SimPy clock by ``lag``: it syncs only to observe a unit's queue
        if len(unit.queue) >= self.queue_depth:
            yield from self.sync()
            while len(unit.queue) >= self.queue_depth:
                self.waiting_on = f"{unit.name} queue (pc {self.pc})"
                yield unit.room()
            self.waiting_on = ""
        env = soc.env
        job = Job(ins, self.pc, ops, self.layer, self.phase, deps, env.now + self.lag, Completion(env), info)
        soc.scoreboard.add(ops.reads, ops.writes, job.done)
        unit.submit(job)

    def tile_issue(self, ins: Instruction):
        soc = self.soc
        t = ins.args[0]
        if t >= len(soc.tiles):
            raise self.trap(TrapKind.ILLEGAL_INSTRUCTION,
                            f"tile {t} does not exist (tiles.count = {len(soc.tiles)})", ins)
        tile = soc.tiles[t]
        mn = ins.spec.mnemonic
        if mn == "mvmt" and not soc.cfg.tiles.transposed_mvm:
            raise self.trap(TrapKind.ILLEGAL_INSTRUCTION,
                            "this configuration has no transposed read (tiles.transposed_mvm = false)", ins)
        if mn == "tcfg":
            _, r0, c0, rows, cols, bits = ins.args
            tc = soc.cfg.tiles
            if rows < 1 or cols < 1 or r0 + rows > tc.rows or c0 + cols > tc.weight_cols:
                raise self.trap(TrapKind.OUT_OF_RANGE,
                                f"block rows {r0}:{r0 + rows}, cols {c0}:{c0 + cols} does not fit the "
                                f"{tc.rows} x {tc.weight_cols} weight array", ins)
            tile.block = (r0, c0, rows, cols, bits)
        r0, c0, rows, cols, bits = tile.block
        ops = self.resolve(ins, {"ROWS": rows, "COLS": cols, "IN_BITS": bits, "R0": r0, "C0": c0})
        if mn in ("mvm", "mvmt"):
            for name, (space, start, _) in ops.mem.items():
                if space is not Space.TBUF or start // TBUF_STRIDE != t:
                    raise self.trap(TrapKind.OUT_OF_RANGE, f"operand {name} must be in tile {t}'s buffer tb{t}",
                                    ins)
        return tile, ops


def _post_when(env: simpy.Environment, events: list, sem: simpy.Container) -> Generator:
    pending = [e for e in events if not e.triggered]
    if pending:
        yield wait_for(env, pending)
    yield sem.put(1)

