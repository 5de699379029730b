"""The one way a subcommand joins the CLI: ``command(sub, name, fn, help)``."""

from __future__ import annotations

import argparse
from typing import Callable


def command(sub: argparse._SubParsersAction, name: str, fn: Callable[[argparse.Namespace], int],
            help_text: str, description: str | None = None) -> argparse.ArgumentParser:
    """A subcommand ``name`` whose handler ``fn(args)`` returns the exit status (:mod:`socsim.base.exits`)."""
    p = sub.add_parser(name, help=help_text, description=description or help_text)
    p.set_defaults(fn=fn)
    return p
