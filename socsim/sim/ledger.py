"""The one energy/activity ledger: every unit records its actions here; energy is priced from a table."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from socsim.config import EnergyTable

COUNTERS = ("busy", "cells_written", "adc_saturated")
"""Actions counted without energy: busy time rows, weights addressed by a programming instruction, ADC
conversions whose input exceeded the converter's range (already priced as ``adc_conversion``)."""
COLUMNS = ["component", "action", "opcode", "layer", "phase", "count", "cycles", "energy_pj"]


class Ledger:
    """Rows keyed by (component, action, opcode, layer, phase): count, busy cycles and pJ.

    ``action`` names a row of the energy table (``EnergyTable`` field without ``_pj``), or one of
    :data:`COUNTERS` (priced at zero). Rows with the same key are summed as they are recorded.
    """

    def __init__(self, table: EnergyTable):
        self.price = {f.name[:-3]: float(getattr(table, f.name)) for f in fields(table)}
        for counter in COUNTERS:
            self.price[counter] = 0.0
        self.rows: dict[tuple[str, str, str, str, str], list[float]] = {}

    def record(self, component: str, action: str, opcode: str, layer: str, phase: str,
               count: float = 1, cycles: int = 0) -> None:
        """Add ``count`` actions taking ``cycles`` busy cycles; priced at the table's pJ per action."""
        try:
            pj = self.price[action] * count
        except KeyError:
            raise KeyError(f"action {action!r} has no energy entry; known: {', '.join(self.price)}") from None
        row = self.rows.get((component, action, opcode, layer, phase))
        if row is None:
            self.rows[(component, action, opcode, layer, phase)] = [count, cycles, pj]
        else:
            row[0] += count
            row[1] += cycles
            row[2] += pj

    def record_many(self, opcode: str, layer: str, phase: str,
                    items: list[tuple[str, str, float, int]]) -> None:
        """Several :meth:`record` calls of one instruction: (component, action, count, cycles) each."""
        price, rows = self.price, self.rows
        for component, action, count, cycles in items:
            key = (component, action, opcode, layer, phase)
            pj = price[action] * count
            row = rows.get(key)
            if row is None:
                rows[key] = [count, cycles, pj]
            else:
                row[0] += count
                row[1] += cycles
                row[2] += pj

    def frame(self) -> pd.DataFrame:
        """All rows as a DataFrame with the columns in :data:`COLUMNS`."""
        data = [(*k, *v) for k, v in self.rows.items()]
        return pd.DataFrame(data, columns=COLUMNS)

    def total_pj(self) -> float:
        return float(sum(v[2] for v in self.rows.values()))
