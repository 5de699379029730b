"""A stepper for programs on the reference engine: breakpoints, single steps, registers, memory, watches.

The debugger is a hook the controller calls before every instruction (``Soc.hooks``); when it stops, it reads
commands (one per line, from a terminal or a script) until one resumes the run. The SoC's state is inspected in place:
numerics run at issue, so a symbol shows what the instructions issued so far wrote; the units' timing may lag.

Commands: ``break PC|LABEL|FILE:LINE``, ``delete [PC]``, ``run`` / ``continue``, ``step [N]``, ``regs``,
``print SYMBOL[i:j]``, ``watch SYMBOL``, ``where``, ``help``, ``quit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterator, TextIO

import numpy as np

from isa.program import Program, Symbol
from socsim.base.errors import InputError, SocsimError
from socsim.sim import Soc, Trap

HELP = """break PC|LABEL|FILE:LINE  stop before that instruction     delete [PC]   remove one breakpoint (or all)
run | continue            run to a breakpoint, watch or halt  step [N]      run N instructions (default 1)
regs                      the registers                       where         pc, source line, cycle, units
print SYMBOL[i:j]         a symbol's words (a slice)          watch SYMBOL  stop after an instruction changes it
quit                      stop the program"""


class Quit(Exception):
    """The user ended the session before the program halted."""


@dataclass
class Debugger:
    """Stops a run where asked and answers commands read from ``commands``, writing to ``out``."""

    soc: Soc
    program: Program
    commands: Iterator[str]
    out: TextIO
    echo: bool = False
    """Print each command after the prompt (a script's transcript reads like a session)."""
    breaks: set[int] = field(default_factory=set)
    watches: dict[str, np.ndarray] = field(default_factory=dict)
    steps: int = 1
    """Instructions to run before the next stop (0: run until a breakpoint or watch)."""
    last_pc: int = -1

    def say(self, text: str) -> None:
        self.out.write(text + "\n")

    def hooks(self) -> dict[int, Callable[[], None]]:
        return {pc: self.fetch for pc in range(len(self.program.instructions))}

    # where the run stops ------------------------------------------------------------------------------------
    def fetch(self) -> None:
        """Called before every instruction: stop here when a step count runs out, a breakpoint or a watch hits."""
        pc = self.soc.controller.pc
        why = ""
        changed = self.changed_watch() if self.watches else ""
        if changed:
            why = f"watch: {changed} changed (by pc {self.last_pc}: {self.program.describe(self.last_pc)})"
        elif self.steps:
            self.steps -= 1
            if not self.steps:
                why = "the first instruction" if self.last_pc < 0 else "step"
        if not why and pc in self.breaks:
            why = f"breakpoint at pc {pc}"
        self.last_pc = pc
        if why:
            self.say(f"stopped: {why}")
            self.where()
            self.prompt()

    def changed_watch(self) -> str:
        for name, old in self.watches.items():
            now = self.words(name)
            if not np.array_equal(now, old, equal_nan=True):
                self.watches[name] = now
                return name
        return ""

    # the command loop ---------------------------------------------------------------------------------------
    def prompt(self, running: bool = True) -> None:
        """Read commands until one resumes the run (or, after the run, until the input ends). A command's input
        error (:class:`SocsimError`) is said and the next command read; any other exception is a bug and
        propagates with its traceback."""
        for line in self.commands:
            text = line.strip()
            if self.echo:
                self.say(f"(socsim) {text}")
            if not text:
                continue
            word, _, rest = text.partition(" ")
            rest = rest.strip()
            try:
                if word in ("run", "continue", "c", "r"):
                    if running:
                        self.steps = 0
                        return
                    self.say("the program is not running")
                elif word in ("step", "s"):
                    if running:
                        self.steps = count(rest) if rest else 1
                        return
                    self.say("the program is not running")
                elif word in ("quit", "q"):
                    raise Quit
                else:
                    self.command(word, rest)
            except SocsimError as exc:
                self.say(f"error: {exc}")
        if running:
            raise Quit  # the input ended

    def command(self, word: str, rest: str) -> None:
        if word in ("break", "b"):
            pc = self.resolve(rest)
            self.breaks.add(pc)
            self.say(f"breakpoint at pc {pc}: {self.program.describe(pc)}{self.source(pc)}")
        elif word == "delete":
            if rest:
                self.breaks.discard(self.resolve(rest))
            else:
                self.breaks.clear()
        elif word == "regs":
            regs = self.soc.controller.regs
            for row in range(0, 32, 8):
                self.say("  ".join(f"x{i:<2}={int(regs[i]):>8}" for i in range(row, row + 8)))
        elif word in ("print", "p"):
            self.print_symbol(rest)
        elif word == "watch":
            self.watches[rest] = self.words(rest)
            self.say(f"watching {rest} ({self.symbol(rest).size} words)")
        elif word == "where":
            self.where()
        elif word == "help":
            self.say(HELP)
        else:
            raise InputError(f"unknown command {word!r}; 'help' lists them")

    def resolve(self, where: str) -> int:
        """The pc of ``PC``, ``LABEL`` or ``FILE:LINE`` (the first instruction on that line or after it)."""
        n = len(self.program.instructions)
        if re.fullmatch(r"\d+", where):
            pc = int(where)
        elif where in self.program.labels:
            pc = self.program.labels[where]
        elif re.fullmatch(r".+:\d+", where):
            file, line = where.rsplit(":", 1)
            pcs = [pc for pc, src in enumerate(self.program.lines)
                   if src.line >= int(line) and (src.file == file or src.file.endswith("/" + file))]
            if not pcs:
                raise InputError(f"no instruction at or after {where}")
            pc = pcs[0]
        else:
            raise InputError(f"break {where!r}: expected a pc, a label or FILE:LINE")
        if not 0 <= pc < n:
            raise InputError(f"pc {pc} is outside the program (0 .. {n - 1})")
        return pc

    def print_symbol(self, text: str) -> None:
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_.]*)(?:\[(-?\d+)?:(-?\d+)?\]|\[(-?\d+)\])?", text)
        if not m:
            raise InputError(f"print {text!r}: expected SYMBOL, SYMBOL[i] or SYMBOL[i:j]")
        words = self.words(m.group(1))
        if m.group(4) is not None:
            part = words[int(m.group(4)):int(m.group(4)) + 1]
        else:
            lo, hi = (int(g) if g else None for g in (m.group(2), m.group(3)))
            part = words[lo:hi]
        with np.printoptions(precision=6, suppress=True, linewidth=110, threshold=64):
            self.say(f"{text} = {part}")

    def symbol(self, name: str) -> Symbol:
        """The program's symbol ``name``; an :class:`InputError` listing the symbols if it has none of that name."""
        try:
            return self.program.symbol(name)
        except KeyError as exc:  # Program.symbol's "no symbol ...; the program has: ..."
            raise InputError(exc.args[0]) from None

    def words(self, name: str) -> np.ndarray:
        """A copy of the words of symbol ``name`` as the instructions issued so far left them."""
        self.symbol(name)
        return self.soc.memory.read_symbol(self.program, name)

    def source(self, pc: int) -> str:
        src = self.program.source_of(pc)
        return f" ({src})" if src else ""

    def where(self) -> None:
        soc, ctrl = self.soc, self.soc.controller
        pc = ctrl.pc
        self.say(f"pc {pc}{self.source(pc)}: {self.program.describe(pc)}")
        self.say(f"cycle {soc.env.now + ctrl.lag} (the controller's; units at {soc.env.now}), "
                 f"{ctrl.executed} instructions executed")
        for unit in soc.all_units():
            job = unit.current
            busy = f"executing pc {job.pc} ({self.program.describe(job.pc)})" if job is not None else "idle"
            self.say(f"  {unit.name:<6} {busy}, {unit.pending()} queued")


def count(text: str) -> int:
    """The ``N`` of ``step N``: a whole number >= 1 (an :class:`InputError` otherwise)."""
    if not re.fullmatch(r"\d+", text) or int(text) < 1:
        raise InputError(f"step N needs N >= 1, got {text!r}")
    return int(text)


def debug(soc: Soc, program: Program, commands: Iterator[str], out: TextIO, echo: bool) -> int:
    """Run ``program`` under the debugger; returns the exit status (3 if it trapped, else 0)."""
    dbg = Debugger(soc, program, commands, out, echo)
    try:
        result = soc.run(program, hooks=dbg.hooks())
    except Trap as exc:
        dbg.say(f"trap: {exc}")
        dbg.where()
        dbg.prompt(running=False)
        return 3
    except Quit:
        dbg.say("quit")
        return 0
    dbg.say(f"halted: {result.instructions} instructions, {result.cycles} cycles, {result.energy_pj:.6g} pJ")
    dbg.prompt(running=False)
    return 0
