"""Every shortfall at once: when a graph does not fit the target, the least value of every config field that must
grow (tiles, each SRAM, the tile buffer, the instruction memory), found together.

A :class:`~socsim.compiler.memory.plan.CapacityError` names one field to raise and the least value that holds what
overflowed (``raise FIELD to at least N``). :func:`every_shortfall` raises that field to that value and compiles
again, field by field, until the graph fits (or what stops it is not a field to raise), so each N is the least that
fits with the others raised: one edit of the config, not one edit per rerun. A need that grows with its own field
(the im2col band takes a share of a large data SRAM) is raised again until it holds.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from isa.spec import BY_MNEMONIC
from socsim.compiler.memory.plan import CapacityError
from socsim.config.soc import SocConfig

SHORTFALL = re.compile(r"raise ([a-z_]+\.[a-z_]+) to at least (\d+)")
"""How a capacity message names the field to raise and its least value."""
ROUNDS = 8
"""Recompilations at most (each raises one field)."""


def text_code_bytes(text: str) -> int:
    """Bytes of code of an assembly text without assembling it: each instruction's encoded words by its mnemonic
    (the encoding's size depends on the opcode alone), so a search need not assemble every attempt."""
    words = 0
    for line in text.splitlines():
        stmt = line.split(";", 1)[0].strip()
        if not stmt or stmt.startswith(".") or stmt.endswith(":"):
            continue
        words += BY_MNEMONIC[stmt.split(None, 1)[0]].words
    return 4 * words


def with_field(cfg: SocConfig, dotted: str, value: int) -> SocConfig:
    """``cfg`` with the config field ``section.name`` set to ``value``."""
    section, name = dotted.split(".")
    return replace(cfg, **{section: replace(getattr(cfg, section), **{name: value})})


def every_shortfall(first: CapacityError, cfg: SocConfig, attempt: Callable[[SocConfig], object]) -> CapacityError:
    """``first``, completed with every field to raise and its least value: ``attempt(cfg)`` compiles on a config
    with the fields found so far raised (a CapacityError when something else overflows). One field alone: ``first``
    itself."""
    needs: dict[str, int] = {}
    exc: CapacityError | None = first
    while exc is not None and len(needs) < ROUNDS:
        found = SHORTFALL.search(str(exc))
        if found is None:
            break
        field, least = found.group(1), int(found.group(2))
        if needs.get(field, -1) >= least:
            break  # no progress: the message names what it does
        needs[field] = least
        try:
            raised = cfg
            for name, value in needs.items():
                raised = with_field(raised, name, value)
        except ValueError as bad:  # past the field's range: the search stops at what the config allows
            exc = CapacityError(str(bad))
            break
        try:
            attempt(raised)
            exc = None
        except CapacityError as later:
            exc = later
    found = SHORTFALL.search(str(first))
    if exc is None and found is not None and needs == {found.group(1): int(found.group(2))}:
        return first  # one field, and its least value fits as the message says
    lines = [f"{first}", "every shortfall at once (each the least value that fits with the others raised):"]
    lines += [f"  raise {name} to at least {value}" for name, value in needs.items()]
    if exc is not None:
        lines.append(f"  and then: {exc}")
    out = CapacityError("\n".join(lines), first.space)
    out.needs = dict(needs)
    return out
