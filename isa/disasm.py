"""Disassembler: :class:`isa.program.Program` -> assembly text that re-assembles to the same program."""

from __future__ import annotations

import numpy as np

from isa.program import DataInit, LaneMark, Program, Symbol, format_instruction, space_name


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


PC_COLUMN = 48
"""Column of the ``; pc N`` comment after each disassembled instruction."""


def disassemble(program: Program, pcs: bool = True) -> str:
    """Assembly text of ``program``: layer and symbol directives, then labelled instructions, each followed by a
    ``; pc N`` comment (its instruction index, the branch targets' unit) unless ``pcs`` is False."""
    lines = [f".layer {k} {v}" for k, v in sorted(program.layers.items())]
    lines += [_symbol_text(s) for s in program.symbols.values()]
    lines += [_lanes_text(m) for m in program.lanes]
    by_space = program.symbols_by_space()
    label_at: dict[int, str] = {}
    names_at: dict[int, list[str]] = {}
    for name, pc in program.labels.items():
        label_at.setdefault(pc, name)
        names_at.setdefault(pc, []).append(name)
    for pc in range(len(program.instructions) + 1):
        lines += [f"{name}:" for name in names_at.get(pc, ())]
        if pc < len(program.instructions):
            text = "    " + format_instruction(program.instructions[pc], by_space, label_at)
            lines.append(f"{text:<{PC_COLUMN - 1}} ; pc {pc}" if pcs else text)
    return "\n".join(lines) + "\n"
