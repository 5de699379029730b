"""The outcome of running a program: cycles, the ledger, unit utilization, final memory."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from isa.program import Program
from socsim.base.actions import Action
from socsim.config.soc import SocConfig
from socsim.sim.ledger import CHIP

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
    """Final contents of the symbols the run was asked for (``Soc.run(outputs=...)``; default every symbol), by
    name."""
    timeline: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TIMELINE_COLUMNS))
    """One row per executed unit job when the SoC was built with ``timeline=True``."""

    @property
    def seconds(self) -> float:
        return self.cycles / self.cfg.clock_hz

    @property
    def energy_pj(self) -> float:
        """All energy of the run (pJ): dynamic (actions) and static (leakage); the exactly rounded sum of the rows
        (math.fsum), so it does not depend on the order the rows were recorded in."""
        return math.fsum(self.ledger["energy_pj"])

    @property
    def static_energy_pj(self) -> float:
        """Leakage energy of the run (pJ): every component's leakage power x the run's time."""
        led = self.ledger
        return math.fsum(led.loc[led["action"] == Action.LEAKAGE, "energy_pj"])

    @property
    def dynamic_energy_pj(self) -> float:
        """Energy of the counted actions (pJ): everything but leakage."""
        return self.energy_pj - self.static_energy_pj

    @property
    def elapsed(self) -> pd.DataFrame:
        """Elapsed cycles by (layer, phase): columns ``layer``, ``phase``, ``cycles``; they sum to :attr:`cycles`
        (socsim.sim.elapsed says how each cycle is attributed)."""
        led = self.ledger
        rows = led[(led["component"] == CHIP) & (led["action"] == Action.ELAPSED)]
        return rows[["layer", "phase", "cycles"]].reset_index(drop=True)

    def by_component(self) -> pd.DataFrame:
        """Per component: energy (pJ), share of the total, busy cycles and utilization."""
        led = self.ledger[self.ledger["component"] != CHIP]
        df = led.groupby("component", sort=True)["energy_pj"].sum().to_frame()
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

