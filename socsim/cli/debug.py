"""``socsim debug``: run a program under the stepper (socsim.debug.stepper), commands from the terminal or stdin."""

from __future__ import annotations

import argparse
import sys

from isa import load_program
from isa.bundle import expand
from socsim.cli.commands import command
from socsim.cli.options import add_config
from socsim.cli.program import run_budget, warn
from socsim.config.soc import load_config
from socsim.debug.stepper import HELP, debug
from socsim.sim import Soc


def cmd_debug(args: argparse.Namespace) -> int:
    cfg = run_budget(load_config(args.config), args.max_cycles)
    soc = Soc.from_config(cfg, engine="reference")
    *before, last = expand(args.program)
    for path in before:
        first = load_program(path)
        warn(first)
        soc.run(first, outputs=())
    program = load_program(last)
    warn(program)
    tty = sys.stdin.isatty()

    def lines():
        while True:
            if tty:
                sys.stdout.write("(socsim) ")
                sys.stdout.flush()
            line = sys.stdin.readline()
            if not line:
                return
            yield line
    return debug(soc, program, lines(), sys.stdout, echo=not tty)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``debug`` to the CLI's subcommands."""
    p = command(sub, "debug", cmd_debug, "step through a program (reference engine): breakpoints, registers, memory",
                description="Run a program under a stepper that stops before its first instruction and reads commands "
                            "(one per line) from the terminal or stdin:\n" + HELP)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("program", nargs="+", help="assembly (.s) or binary (.bin); several run in order on one SoC, the "
                                              "last one under the stepper; a NET.bundle stands for the programs "
                                              "it lists")
    add_config(p)
    p.add_argument("--max-cycles", type=int, metavar="N", help="trap past N cycles (as socsim run)")
