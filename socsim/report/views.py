"""The tables and figures of one program run, as the Python API and an inference job hand them out."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from socsim.pricing.area import area_table
from socsim.report import figures as F
from socsim.report.tables import result_tables
from socsim.sim import Result


def run_tables(result: Result) -> dict[str, pd.DataFrame]:
    """The tables of one program run: components, layers (energy, elapsed and busy cycles), opcodes, actions, and
    the area of its config."""
    return {**result_tables(result), "area": area_table(result.cfg)}


def run_figures(result: Result, images: int | None = None) -> dict[str, Figure]:
    """Energy and latency breakdowns of one run (per image when ``images``), and the unit timeline if it was kept."""
    figs = {"energy_breakdown": F.energy_breakdown(result.ledger, images),
            "latency_breakdown": F.latency_breakdown(result.ledger, result.cfg.clock_hz, images, result.cycles)}
    if not result.timeline.empty:
        figs["utilization_timeline"] = F.utilization_timeline(result.timeline, result.cfg.clock_hz)
    return figs
