"""Small helpers shared by the tests: run assembly text on a preset."""

from __future__ import annotations

from typing import Any

import isa
from socsim.config.soc import load_config
from socsim.sim import Result, Soc


def run_asm(text: str, preset: str = "wu2023", overrides: dict[str, Any] | None = None,
            timeline: bool = True, engine: str = "fast") -> Result:
    """Assemble ``text`` and run it on ``preset`` (with nested-dict ``overrides``) with ``engine``."""
    cfg = load_config(preset, overrides)
    return Soc.from_config(cfg, timeline=timeline, engine=engine).run(isa.assemble(text, "test.s"))
