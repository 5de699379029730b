"""Listing: per instruction its pc, source ``file:line``, source text and encoding (hex words), as a table."""

from __future__ import annotations

from isa.encoding import encode_instruction
from isa.program import Program


def listing(program: Program) -> str:
    """The program's listing; an instruction without a line table entry shows its disassembly instead."""
    rows = []
    for pc, ins in enumerate(program.instructions):
        src = program.source_of(pc)
        where = str(src) if src is not None else "-"
        words = " ".join(f"{w:08x}" for w in encode_instruction(ins))
        rows.append((str(pc), where, program.describe(pc), words))
    head = ("pc", "source", "instruction", "encoding")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head[:3])]
    out = []
    for r in [head, *rows]:
        out.append(f"{r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip())
    return "\n".join(out) + "\n"
