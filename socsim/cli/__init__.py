"""Command line: ``socsim COMMAND``, one module per command (``socsim COMMAND --help`` for each).

Each module of this package parses its command's arguments, calls the host layer (:mod:`socsim.host`) or the
simulator, and prints; :data:`COMMANDS` lists them in the order ``socsim --help`` shows them. Exit statuses
come from :mod:`socsim.base.exits`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from contextlib import nullcontext
from typing import Sequence

from socsim import __version__
from socsim.base.environment import environment_text
from socsim.base.errors import error_kind
from socsim.base.exits import (
    EXIT_BROKEN_PIPE,
    EXIT_BUG,
    EXIT_ERROR,
    EXIT_FOR_KIND,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_TRAP,
)
from socsim.base.signals import Terminated, handle_sigterm
from socsim.base.threads import use_threads
from socsim.cli import compile as compile_command
from socsim.cli import configs, debug, drift, infer, program, report, sweep, train
from socsim.sim.traps import Trap

COMMANDS = (program, debug, compile_command, train, infer, report, sweep, drift, configs)
"""The command modules, each with ``register(subparsers)``, in help order."""

__all__ = ["COMMANDS", "EXIT_BROKEN_PIPE", "EXIT_BUG", "EXIT_ERROR", "EXIT_TRAP", "build_parser", "main"]


class VersionAction(argparse.Action):
    """``--version``: socsim's version and the numeric environment its numbers depend on, as two plain lines."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"socsim {__version__}\nnumeric environment: {environment_text()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socsim",
        description="Cycle-level, event-driven simulator of a compute-in-memory SoC that trains neural networks.",
        epilog=f"Exit status: 0 ok, {EXIT_ERROR} bad input (file, field or line named), {EXIT_TRAP} the simulated "
               f"program trapped, {EXIT_BUG} a bug in socsim (its traceback is printed).")
    parser.add_argument("--version", action=VersionAction, nargs=0,
                        help="print socsim's version and the numeric environment (numpy, BLAS, numba, CPU), exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    restore = handle_sigterm()  # SIGTERM is handled like Ctrl-C
    try:
        with use_threads(args.threads) if "threads" in args else nullcontext():  # run, train, infer, sweep
            code = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows up here rather than at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (socsim compile ... | head): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the final flush must not fail again
        except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
            pass
        return EXIT_BROKEN_PIPE
    except Trap as exc:
        print(f"socsim: {exc}", file=sys.stderr)
        if exc.report:
            print(exc.report, file=sys.stderr)
        return EXIT_TRAP
    except KeyboardInterrupt as exc:
        print(f"socsim: {'terminated' if isinstance(exc, Terminated) else 'interrupted'}; a training run continues "
              "with --resume RUN_DIR from its last checkpoint, a sweep when run again", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    except MemoryError:
        print("socsim: error: the host ran out of memory for this input (a size in the config, graph or program is "
              "too large for this machine)", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 -- the user's input and the host's lacks by kind, anything else a bug
        kind = error_kind(exc)
        if kind is None:
            traceback.print_exc()
            print(f"socsim: internal error ({type(exc).__name__}): a bug in socsim, not in the input; please report "
                  "it with the traceback above", file=sys.stderr)
            return EXIT_BUG
        print(f"socsim: error: {exc}", file=sys.stderr)
        return EXIT_FOR_KIND[kind]
    finally:
        restore()
