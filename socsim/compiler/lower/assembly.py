"""Assembling the compiled programs: an assembler error in generated text is told as what the user can change (the
data set's size) or, when no input of the user's caused it, plainly as an internal error of the compiler, with the
graph, the program and the layer named; never as ``<mlp.init>:39:19``, which reads like a file of the user's."""

from __future__ import annotations

import re

import isa
from isa.asm import AsmErrors
from isa.program import IsaError, Program
from isa.spec import SYMBOL_ADDRESS_BITS
from socsim.compiler.graph import Graph, GraphError

_LAYER = re.compile(r"\.layer\s+(\d+)\s+(\S+)")
_MARK = re.compile(r"\s*mark\s+(\d+)\s*,")
_DRAM_SYMBOL = re.compile(r"\.sym\s+(\S+)\s+dram\s+(\d+)")


class CompiledProgramError(ValueError):
    """A compiled program did not assemble: a bug of the compiler (the message says so and asks for a report)."""


def _short(statement: str, limit: int = 80) -> str:
    text = statement.strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def _layer_at(lines: list[str], line: int) -> str:
    """The layer whose code holds 1-based ``line`` (the last ``mark`` of a named layer before it), or ""."""
    names: dict[str, str] = {}
    layer = ""
    for text in lines[:line]:
        if m := _LAYER.match(text):
            names[m.group(1)] = m.group(2)
        elif m := _MARK.match(text):
            layer = names.get(m.group(1), "")
    return layer


def explain(graph: Graph, program: str, text: str, exc: IsaError) -> ValueError:
    """The error to raise for ``exc``, raised assembling ``text`` (program ``program`` of ``graph``)."""
    first = exc.errors[0] if isinstance(exc, AsmErrors) else exc
    lines = text.splitlines()
    statement = lines[first.line - 1] if 0 < first.line <= len(lines) else ""
    where = f"graph {graph.name!r}" + (f" ({graph.source})" if graph.source else "")
    if m := _DRAM_SYMBOL.match(statement):
        return GraphError(f"{where}: the data in DRAM does not fit the {1 << SYMBOL_ADDRESS_BITS}-word address "
                          f"range (symbol {m.group(1)!r} of {m.group(2)} words ends past it); compile for fewer "
                             "training or test examples (--train-examples, --test-examples)")
    layer = _layer_at(lines, first.line)
    message = str(first).split(": ", 1)[1] if first.line else str(first)
    return CompiledProgramError(
        f"internal error in the compiled program {program!r} of {where}"
        + (f", in the code of layer {layer!r}" if layer else "")
        + f" (generated line {first.line}: {_short(statement)}): {message}. This is a bug of socsim's compiler, "
        "not of the graph or config: please report it with them")


def assemble_programs(graph: Graph, texts: dict[str, str]) -> dict[str, Program]:
    """Each compiled program text assembled (errors as :func:`explain` tells them)."""
    programs = {}
    for name, text in texts.items():
        try:
            programs[name] = isa.assemble(text, f"<{graph.name}.{name}>")
        except IsaError as exc:
            raise explain(graph, name, text, exc) from None
    return programs
