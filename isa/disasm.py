"""Disassembler: :class:`isa.program.Program` -> assembly text that re-assembles to the same program."""

from __future__ import annotations

import numpy as np

from isa.program import DataInit, Instruction, LaneMark, MemRef, Program, Symbol, space_name
from isa.spec import Kind


def _mem_text(ref: MemRef, symbols: dict) -> str:
    sym = None
    for s in symbols.get(ref.space, ()):
        if s.addr <= ref.offset < s.end:
            sym = s
            break
    if sym is not None:
        off = ref.offset - sym.addr
        text = sym.name + (f"+{off}" if off else "")
    else:
        name, off = space_name(ref.space, ref.offset)
        text = f"{name}:{off}"
    return text + (f"(x{ref.reg})" if ref.reg else "")


def format_instruction(ins: Instruction, symbols_by_space: dict, label_at: dict[int, str]) -> str:
    """One instruction as assembly; memory operands by symbol when one covers the address."""
    parts = []
    for f, a in zip(ins.spec.fields, ins.args):
        if f.kind is Kind.REG:
            parts.append(f"x{a}")
        elif f.kind is Kind.FIMM:
            parts.append(str(np.float32(a)))
        elif f.kind is Kind.LABEL:
            parts.append(label_at.get(int(a), str(a)))  # type: ignore[arg-type]
        elif f.kind is Kind.ENUM:
            assert f.enum is not None
            parts.append(f.enum(a).name.lower())
        elif f.kind is Kind.MEM:
            parts.append(_mem_text(a, symbols_by_space))  # type: ignore[arg-type]
        else:
            parts.append(str(a))
    return ins.spec.mnemonic + (" " + ", ".join(parts) if parts else "")


def _init_text(init: DataInit) -> str:
    if init.kind == "zeros":
        return ""
    if init.kind == "values":
        return " = " + ", ".join(str(np.float32(v)) for v in init.values)
    return f" {init.kind} {init.a!r} {init.b!r} {init.seed}"


def _symbol_text(sym: Symbol) -> str:
    space, addr = space_name(sym.space, sym.addr)
    return f".sym {sym.name} {space} {sym.size} @{addr}{_init_text(sym.init)}"


def _lanes_text(m: LaneMark) -> str:
    tail = "".join(f" {kind} " + " ".join(names) for kind, names in (("private", m.private), ("reduce", m.reduce))
                   if names)
    return f".lanes {m.label} x{m.reg} {m.count}{tail}"


def disassemble(program: Program) -> str:
    """Assembly text of ``program``: layer and symbol directives, then labelled instructions."""
    lines = [f".layer {k} {v}" for k, v in sorted(program.layers.items())]
    lines += [_symbol_text(s) for s in program.symbols.values()]
    lines += [_lanes_text(m) for m in program.lanes]
    by_space: dict = {}
    for s in sorted(program.symbols.values(), key=lambda s: s.addr):
        by_space.setdefault(s.space, []).append(s)
    label_at: dict[int, str] = {}
    names_at: dict[int, list[str]] = {}
    for name, pc in program.labels.items():
        label_at.setdefault(pc, name)
        names_at.setdefault(pc, []).append(name)
    for pc in range(len(program.instructions) + 1):
        lines += [f"{name}:" for name in names_at.get(pc, ())]
        if pc < len(program.instructions):
            lines.append("    " + format_instruction(program.instructions[pc], by_space, label_at))
    return "\n".join(lines) + "\n"
