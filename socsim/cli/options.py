"""The arguments of :class:`socsim.host.options.RunOptions` on the command line, added the same way to every
command that takes them, with the defaults RunOptions names."""

from __future__ import annotations

import argparse

from socsim.base.argtypes import positive_int
from socsim.base.threads import THREADS_HELP
from socsim.host.options import DEFAULTS, OPTION_NAMES, RunOptions
from socsim.sim.engines import ENGINE_HELP, ENGINES
from socsim.sim.timing_only import HELP as TIMING_ONLY_HELP

CONFIG_HELP = f"preset name or TOML file (default: {DEFAULTS.config})"
"""Help of ``--config`` where the default applies as is."""


def add_config(p: argparse.ArgumentParser, default: bool = True, help_text: str = CONFIG_HELP) -> None:
    """``--config``: the RunOptions default filled in (``default``), or None for the command to decide."""
    p.add_argument("--config", default=DEFAULTS.config if default else None, help=help_text)


def add_engine(p: argparse.ArgumentParser, default: bool = True, help_tail: str = "") -> None:
    """``--engine``: the RunOptions default filled in (``default``), or None (a sweep: its file's)."""
    p.add_argument("--engine", choices=sorted(ENGINES), default=DEFAULTS.engine if default else None,
                   help=ENGINE_HELP + help_tail)


def add_timing_only(p: argparse.ArgumentParser, help_tail: str = "") -> None:
    """``--timing-only`` (RunOptions.timing_only; off by default)."""
    p.add_argument("--timing-only", action="store_true", default=DEFAULTS.timing_only,
                   help=TIMING_ONLY_HELP + help_tail)


def add_threads(p: argparse.ArgumentParser, help_tail: str = "") -> None:
    """``--threads N`` (RunOptions.threads; None: the cores available)."""
    p.add_argument("--threads", type=positive_int, default=DEFAULTS.threads, help=THREADS_HELP + help_tail)


def run_options(args: argparse.Namespace) -> RunOptions:
    """The RunOptions of a command's parsed arguments: each option the command took and was given; the others (and
    those left to a saved run, such as a resumed run's config and dataset) at their defaults."""
    return RunOptions(**{name: getattr(args, name) for name in OPTION_NAMES if getattr(args, name, None) is not None})
