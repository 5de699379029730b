"""The assembler directives: one table, read by the assembler's error messages and by ``docs/isa.md``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Directive:
    name: str
    form: str
    doc: str


DIRECTIVES: tuple[Directive, ...] = (
    Directive(".equ", ".equ NAME INTEGER-EXPRESSION", "an integer constant for later expressions"),
    Directive(".layer", ".layer ID NAME", "the name of a layer id used by `mark` (ledger tags)"),
    Directive(".sym", ".sym NAME SPACE SIZE [@ADDR] [= V, ... | uniform LO HI SEED | normal MEAN STD SEED]",
              "a named memory region of SIZE words with its initial data: `= V` fills every word, `= V1, V2, ...` "
              "the first words (the rest 0)"),
    Directive(".lanes", ".lanes LABEL xN COUNT [private SYM ...] [reduce SYM ...]",
              "the loop starting at LABEL (closed by the one branch back to it) runs COUNT independent "
              "iterations, register xN counting them by one: an iteration writes only the `private` symbols "
              "(each before reading them) and accumulates into the `reduce` ones (`mm` with acc, `opacc`, "
              "`vadd` into one of its sources, `scadd`, batch-norm statistics). The fast engine checks the claim "
              "and runs the iterations as lanes of one pass; a loop whose claim does not hold runs one "
              "instruction at a time, as on the reference engine, and `socsim run` notes the pc that breaks it "
              "(docs/architecture.md)"),
)
BY_NAME = {d.name: d for d in DIRECTIVES}


def names() -> str:
    """The directive names, for error messages."""
    return ", ".join(d.name for d in DIRECTIVES)
