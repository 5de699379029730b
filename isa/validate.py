"""Validator: every operand fits its field, labels point into the program, symbols do not overlap."""

from __future__ import annotations

import math

import numpy as np

from isa.program import TBUF_STRIDE, DataInit, Instruction, IsaError, MemRef, Program
from isa.spec import MEM_OFFSET_BITS, MEM_REG_BITS, SYMBOL_ADDRESS_BITS, Field, Kind, Space


def check_operand(f: Field, value: object) -> str | None:
    """None if ``value`` is encodable in field ``f``, else what is wrong with it."""
    if f.kind is Kind.MEM:
        if not isinstance(value, MemRef):
            return f"is {value!r}, not a memory operand"
        if not 0 <= value.offset < (1 << MEM_OFFSET_BITS):
            return (f"address {value.offset} outside [0, {(1 << MEM_OFFSET_BITS) - 1}] (words past that are "
                    f"reached through a base register: SYMBOL-BASE(xN))")
        if not 0 <= value.reg < (1 << MEM_REG_BITS):
            return f"base register x{value.reg} does not exist"
        return None
    if f.kind is Kind.FIMM:
        if not isinstance(value, float) or not math.isfinite(value):
            return f"is {value!r}, not a finite float"
        if float(np.float32(value)) != value:
            return f"{value!r} is not a float32 value (the encoding holds float32)"
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return f"is {value!r}, not an integer"
    if f.kind is Kind.ENUM:
        assert f.enum is not None
        if value not in {int(e) for e in f.enum}:
            return f"value {value} is not one of {[e.name.lower() for e in f.enum]}"
        return None
    if not f.lo <= value <= f.hi:
        return f"value {value} does not fit {f.bits} bits [{f.lo}, {f.hi}]"
    return None


def validate_instruction(ins: Instruction, n_instructions: int) -> None:
    """Raise IsaError if an operand does not fit or a branch target is outside the program."""
    if len(ins.args) != len(ins.spec.fields):
        raise IsaError(f"{ins.spec.mnemonic}: {len(ins.args)} operands for {len(ins.spec.fields)} fields",
                       line=ins.line)
    for f, a in zip(ins.spec.fields, ins.args):
        problem = check_operand(f, a)
        if problem:
            raise IsaError(f"{ins.spec.mnemonic}: operand {f.name} {problem}", line=ins.line)
        if f.kind is Kind.LABEL and not 0 <= int(a) < n_instructions:  # type: ignore[arg-type]
            raise IsaError(f"{ins.spec.mnemonic}: target {a} is outside the program "
                           f"(0 .. {n_instructions - 1})", line=ins.line)


def init_problem(init: DataInit) -> str | None:
    """None if a random initializer can be drawn, else what is wrong (its bounds or seed)."""
    if not (math.isfinite(init.a) and math.isfinite(init.b)):
        return f"{init.kind} bounds {init.a}, {init.b} must be finite"
    if init.kind == "uniform" and init.a > init.b:
        return f"uniform low bound {init.a} is above the high bound {init.b}"
    if init.kind == "normal" and init.b < 0:
        return f"normal standard deviation {init.b} is negative"
    if not 0 <= init.seed < 1 << 64:
        return f"seed {init.seed} is outside 0 .. 2^64 - 1"
    return None


def validate(program: Program) -> None:
    """Check the whole program; raises IsaError naming the instruction or symbol."""
    n = len(program.instructions)
    for ins in program.instructions:
        validate_instruction(ins, n)
    for name, pc in program.labels.items():
        if not 0 <= pc <= n:
            raise IsaError(f"label {name!r} points at {pc}, outside the program (0 .. {n})")
    _validate_lanes(program)
    by_space: dict[Space, list] = {}
    for sym in program.symbols.values():
        if sym.size <= 0 or sym.addr < 0 or sym.end > (1 << SYMBOL_ADDRESS_BITS):
            raise IsaError(f"symbol {sym.name!r}: [{sym.addr}, {sym.end}) is not a valid region")
        if sym.space is Space.TBUF and sym.addr // TBUF_STRIDE != (sym.end - 1) // TBUF_STRIDE:
            raise IsaError(f"symbol {sym.name!r}: [{sym.addr}, {sym.end}) crosses a tile-buffer window of "
                           f"{TBUF_STRIDE} words")
        if len(sym.init.values) > sym.size:
            raise IsaError(f"symbol {sym.name!r}: {len(sym.init.values)} initial values for {sym.size} words")
        if sym.init.kind not in sym.init.KINDS:
            raise IsaError(f"symbol {sym.name!r}: unknown initializer {sym.init.kind!r}; "
                           f"expected one of {sym.init.KINDS}")
        problem = init_problem(sym.init)
        if problem:
            raise IsaError(f"symbol {sym.name!r}: {problem}")
        by_space.setdefault(sym.space, []).append(sym)
    for syms in by_space.values():
        syms.sort(key=lambda s: s.addr)
        for a, b in zip(syms, syms[1:]):
            if b.addr < a.end:
                raise IsaError(f"symbols {a.name!r} [{a.addr}, {a.end}) and {b.name!r} "
                               f"[{b.addr}, {b.end}) overlap in {a.space.name.lower()}")


def _validate_lanes(program: Program) -> None:
    """Every ``.lanes`` loop names its label, a register, at least two iterations and declared symbols."""
    heads = set()
    for m in program.lanes:
        where = f".lanes {m.label}"
        if program.labels.get(m.label) != m.head:
            raise IsaError(f"{where}: label {m.label!r} is not instruction {m.head}")
        if m.head in heads:
            raise IsaError(f"{where}: the loop at instruction {m.head} is declared lane-parallel twice")
        heads.add(m.head)
        if not 1 <= m.reg < (1 << MEM_REG_BITS):
            raise IsaError(f"{where}: register x{m.reg} cannot count iterations (x1 .. x31)")
        if m.count < 2:
            raise IsaError(f"{where}: {m.count} iterations; a lane-parallel loop has at least 2")
        names = m.private + m.reduce
        for name in names:
            if name not in program.symbols:
                raise IsaError(f"{where}: symbol {name!r} is not declared")
        if len(set(names)) != len(names):
            raise IsaError(f"{where}: a symbol is listed twice (private and reduce are disjoint)")
