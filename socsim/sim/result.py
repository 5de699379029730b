"""The outcome of running a program: cycles, the ledger, unit utilization, final memory."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from isa.program import Program
from socsim.config import SocConfig

TIMELINE_COLUMNS = ["unit", "pc", "opcode", "layer", "phase", "start", "end"]


@dataclass
class Result:
    """Totals and DataFrames of one run. Energy in pJ, time in cycles of ``cfg.clock_hz``."""

    cfg: SocConfig
    program: Program
    cycles: int
    instructions: int
    ledger: pd.DataFrame
    busy_cycles: dict[str, int]
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    """Every symbol's final contents, by name."""
    timeline: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TIMELINE_COLUMNS))
    """One row per executed unit job when the SoC was built with ``timeline=True``."""

    @property
    def seconds(self) -> float:
        return self.cycles / self.cfg.clock_hz

    @property
    def energy_pj(self) -> float:
        return float(self.ledger["energy_pj"].sum())

    def by_component(self) -> pd.DataFrame:
        """Per component: energy (pJ), share of the total, busy cycles and utilization."""
        df = self.ledger.groupby("component", sort=True)["energy_pj"].sum().to_frame()
        df["share"] = df["energy_pj"] / max(self.energy_pj, 1e-30)
        df["busy_cycles"] = [self.busy_cycles.get(c, 0) for c in df.index]
        df["utilization"] = df["busy_cycles"] / max(self.cycles, 1)
        return df

    def by(self, *keys: str) -> pd.DataFrame:
        """Ledger summed over any of component, action, opcode, layer, phase."""
        return self.ledger.groupby(list(keys), sort=True)[["count", "cycles", "energy_pj"]].sum()

    def then(self, other: "Result") -> "Result":
        """This run followed by ``other`` on the same SoC, as one result: cycles, instructions, busy cycles and
        ledger counts added (rows of the same key summed), ``other``'s outputs, both timelines."""
        keys = ["component", "action", "opcode", "layer", "phase"]
        ledger = (pd.concat([self.ledger, other.ledger], ignore_index=True)
                  .groupby(keys, sort=False, as_index=False)[["count", "cycles", "energy_pj"]].sum())
        busy = {k: self.busy_cycles.get(k, 0) + other.busy_cycles.get(k, 0)
                for k in dict.fromkeys([*self.busy_cycles, *other.busy_cycles])}
        timeline = (pd.concat([self.timeline, other.timeline], ignore_index=True)
                    if len(other.timeline) else self.timeline)
        return Result(self.cfg, self.program, self.cycles + other.cycles, self.instructions + other.instructions,
                      ledger, busy, other.outputs or self.outputs, timeline)

