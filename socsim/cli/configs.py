"""``socsim presets``, ``config`` and ``area``: the shipped presets, a config in full, a chip's area."""

from __future__ import annotations

import argparse
import json

from socsim.base.configtools import to_mapping
from socsim.base.exits import EXIT_OK
from socsim.cli.commands import command
from socsim.cli.options import CONFIG_HELP
from socsim.config.soc import DEFAULT_PRESET, PRESET_DIR, load_config, preset_names
from socsim.host.options import DEFAULTS
from socsim.report.summary import area_text


def preset_description(name: str) -> str:
    """A shipped preset's one-line description: the first line of its TOML file, a ``# `` comment."""
    first = (PRESET_DIR / f"{name}.toml").read_text().partition("\n")[0]
    return first[2:].strip() if first.startswith("# ") else ""


def cmd_presets(args: argparse.Namespace) -> int:
    names = preset_names()
    width = max(map(len, names))
    for name in names:
        mark = "(default) " if name == DEFAULT_PRESET else ""
        print(f"{name:<{width}}  {mark}{preset_description(name)}")
    return EXIT_OK


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(to_mapping(load_config(args.config)), indent=2))
    return EXIT_OK


def cmd_area(args: argparse.Namespace) -> int:
    print(area_text(load_config(args.config)))
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``presets``, ``area`` and ``config`` to the CLI's subcommands."""
    command(sub, "presets", cmd_presets, "list the shipped configuration presets with a one-line description each")
    p = command(sub, "area", cmd_area, "print the chip area and leakage of a preset or TOML config, part by part "
                              "(docs/area.md)")
    p.add_argument("config", nargs="?", default=DEFAULTS.config, help=CONFIG_HELP)
    p = command(sub, "config", cmd_config, "print a preset or TOML config with every default filled in, as JSON")
    p.add_argument("config", nargs="?", default=DEFAULTS.config, help=CONFIG_HELP)
