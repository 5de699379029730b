"""Controller operations: scalar ALU, immediates, branches and jumps, address generator, ledger tags.

Each is a function on a :class:`ControlState`, so the sequential controller (integer registers) and
the lane-parallel control pass (a register may hold one value per lane) run the same definitions.
Cycles: ``alu_cycles`` per instruction, plus ``branch_taken_penalty_cycles`` when control transfers;
``mark`` is free (no cycles, not counted).
"""

from __future__ import annotations

import operator
from typing import Callable

import numpy as np

from isa.spec import Kind, OpSpec
from socsim.sim.ops.base import CONSTANT, ControlState, Exec, Op, Relocate, Shadow

_MASK64 = (1 << 64) - 1
PATTERN_LEVELS = 8
"""Address-generator levels (``agen`` level 0 .. 7)."""


def wrap(v):
    """Registers are 64-bit two's complement (int64 arrays wrap by themselves)."""
    if isinstance(v, np.ndarray):
        return v
    v &= _MASK64
    return v - (1 << 64) if v >> 63 else v


def _shift(fn: Callable) -> Callable:
    return lambda a, b: fn(a, b & 63)


def _less(a, b):
    r = a < b
    return r.astype(np.int64) if isinstance(r, np.ndarray) else int(r)


ALU: dict[str, Callable] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "and": operator.and_,
    "or": operator.or_, "xor": operator.xor, "sll": _shift(operator.lshift), "sra": _shift(operator.rshift),
    "slt": _less, "addi": operator.add, "muli": operator.mul,
}
"""rd = fn(rs1, second operand) of each ALU mnemonic."""
CONDITIONS: dict[str, Callable] = {
    "beq": operator.eq, "bne": operator.ne, "blt": operator.lt, "bge": operator.ge,
}
"""Branch taken when fn(rs1, rs2)."""


def _sum(a: Shadow, b: Shadow, vb) -> Shadow:
    return a.plus(b)


def _difference(a: Shadow, b: Shadow, vb) -> Shadow:
    return a.plus(b, -1)


def _product(a: Shadow, b: Shadow, vb, va=None) -> Shadow:
    if b.constant and type(vb) is int:
        return a.scaled(vb)
    if a.constant and type(va) is int:
        return b.scaled(va)
    return a.unknown(b)


def _shifted_left(a: Shadow, b: Shadow, vb) -> Shadow:
    return a.scaled(1 << (vb & 63)) if b.constant and type(vb) is int else a.unknown(b)


LINEAR: dict[str, Callable] = {"add": _sum, "addi": _sum, "sub": _difference, "mul": _product, "muli": _product,
                               "sll": _shifted_left}
"""The ALU ops whose result moves linearly with their sources (mod 2^64): the shadow of rd from the sources' shadows
and the second operand's value; every other ALU op's result depends on its sources in an unknown way."""


def _alu_relocate(spec: OpSpec) -> Relocate:
    linear = LINEAR.get(spec.mnemonic)
    second_is_reg = spec.fields[2].kind is Kind.REG

    def relocate(args: tuple, shadows: list, regs: list) -> tuple[int, Shadow]:
        a = shadows[args[1]]
        b = shadows[args[2]] if second_is_reg else CONSTANT
        vb = regs[args[2]] if second_is_reg else args[2]
        if linear is _product:
            return args[0], _product(a, b, vb, regs[args[1]])
        return args[0], linear(a, b, vb) if linear is not None else a.unknown(b)
    return relocate


def _branch_relocate(args: tuple, shadows: list, regs: list) -> tuple[int, Shadow]:
    """A branch goes the same way while the difference of the registers it compares does not move."""
    return -1, shadows[args[0]].plus(shadows[args[1]], -1)


def _li_relocate(args: tuple, shadows: list, regs: list) -> tuple[int, Shadow]:
    return args[0], CONSTANT


def _alu(spec: OpSpec) -> Op:
    fn = ALU[spec.mnemonic]
    mn = spec.mnemonic
    second_is_reg = spec.fields[2].kind is Kind.REG

    def run(s: ControlState, args: tuple, pc: int) -> int:
        rd = args[0]
        if rd:
            regs = s.regs
            v = fn(regs[args[1]], regs[args[2]] if second_is_reg else args[2])
            if type(v) is int:  # wrap(v), inline: this is most of a program's instructions
                v &= _MASK64
                if v >> 63:
                    v -= 1 << 64
            s.set_reg(rd, v)
        s.count(mn, s.alu_cycles)
        return pc + 1
    return Op(spec, Exec.CONTROL, control=run, relocate=_alu_relocate(spec))


def _branch(spec: OpSpec) -> Op:
    cond = CONDITIONS[spec.mnemonic]
    mn = spec.mnemonic

    def run(s: ControlState, args: tuple, pc: int) -> int:
        return s.branch(cond(s.regs[args[0]], s.regs[args[1]]), args[2], pc, mn)
    return Op(spec, Exec.CONTROL, control=run, relocate=_branch_relocate)


def _li(s: ControlState, args: tuple, pc: int) -> int:
    if args[0]:
        s.set_reg(args[0], args[1])
    s.count("li", s.alu_cycles)
    return pc + 1


def _link(s: ControlState, rd: int, pc: int) -> None:
    if rd:
        s.set_reg(rd, pc + 1)


def _jal(s: ControlState, args: tuple, pc: int) -> int:
    _link(s, args[0], pc)
    return s.jump(args[1], pc, "jal")


def _jalr(s: ControlState, args: tuple, pc: int) -> int:
    target = s.regs[args[1]]
    _link(s, args[0], pc)
    return s.jump(target, pc, "jalr")


def _nop(s: ControlState, args: tuple, pc: int) -> int:
    s.count("nop", s.alu_cycles)
    return pc + 1


def _mark(s: ControlState, args: tuple, pc: int) -> int:
    s.tag(args[0], args[1])
    return pc + 1


def _agen(s: ControlState, args: tuple, pc: int) -> int:
    s.agen[args[0]] = (args[1], args[2])
    s.count("agen", s.alu_cycles)
    return pc + 1


def _agclr(s: ControlState, args: tuple, pc: int) -> int:
    s.agen[:] = [(1, 0)] * PATTERN_LEVELS
    s.count("agclr", s.alu_cycles)
    return pc + 1


CONTROL: dict[str, Op] = {
    "li": Op(exec=Exec.CONTROL, control=_li, relocate=_li_relocate),
    **{mn: Op(exec=Exec.CONTROL, control=fn) for mn, fn in (("jal", _jal), ("jalr", _jalr), ("nop", _nop),
                                                            ("mark", _mark), ("agen", _agen), ("agclr", _agclr))},
}
"""The controller operations that are neither ALU ops nor conditional branches."""


def control_ops(specs: list[OpSpec]) -> dict[str, Op]:
    """Ops of the control group that run in the controller without waiting."""
    out = {}
    for spec in specs:
        mn = spec.mnemonic
        if mn in ALU:
            out[mn] = _alu(spec)
        elif mn in CONDITIONS:
            out[mn] = _branch(spec)
        elif mn in CONTROL:
            out[mn] = CONTROL[mn]
    return out
