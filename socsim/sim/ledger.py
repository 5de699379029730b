"""The one energy/activity ledger: every unit records its actions here; energy is priced from a table."""

from __future__ import annotations

import pandas as pd

from socsim.base.actions import COUNTERS, PRICED_BY_TABLE, Action
from socsim.config.soc import EnergyTable

CHIP = "chip"
"""Component of the ``elapsed`` rows (the whole chip's time, not a unit's)."""
STATIC_OPCODE = "-"
"""Opcode of the rows recorded at the end of a run (elapsed and leakage): no instruction."""
COLUMNS = ["component", "action", "opcode", "layer", "phase", "count", "cycles", "energy_pj"]

Key = tuple[str, str, str, str, str]
"""(component, action, opcode, layer, phase)."""


class Ledger:
    """Rows keyed by (component, action, opcode, layer, phase): integer count and busy cycles.

    ``action`` is an :class:`socsim.base.actions.Action`: priced by the energy table (its ``price_field``), through a
    model (``derived``: ``adc_conversion``), per component (``leakage``) or not at all (the counters). Rows with
    the same key are summed as they are recorded; counts and cycles are integers, so a sum never depends on the order it
    was added in, and the energy of a row is its count times the table's pJ per action (:meth:`frame`).
    """

    def __init__(self, table: EnergyTable, derived: dict[str, float] | None = None,
                 leakage_pj: dict[str, float] | None = None,
                 component_prices: dict[tuple[str, str], float] | None = None):
        """``derived``: prices (pJ) of actions the table prices through a model rather than per action (an ADC
        conversion: figure of merit x 2^bits, :func:`socsim.sim.tile.converter_prices`; the node-scaled actions,
        :func:`socsim.pricing.costs.action_prices`); ``leakage_pj``: pJ per cycle of each component's leakage;
        ``component_prices``: pJ per action of one component where it differs from the action's price (each SRAM's
        access at its capacity, :func:`socsim.pricing.costs.memory_prices`)."""
        self.component_prices = dict(component_prices or {})
        self.price: dict[str, float] = {a: float(getattr(table, a.price_field)) for a in PRICED_BY_TABLE}
        self.price.update(derived or {})
        for counter in COUNTERS:
            self.price[counter] = 0.0
        self.leakage_pj = dict(leakage_pj or {})
        """pJ per cycle of each component's leakage (the price of its ``leakage`` rows)."""
        self.price[Action.LEAKAGE] = 0.0  # a component without a leakage entry leaks nothing
        self.rows: dict[Key, tuple[int, int]] = {}
        """(count, busy cycles) per key; tuples, never changed in place, so a snapshot is a shallow copy."""

    def price_of(self, component: str, action: str) -> float:
        """pJ per counted action of ``component`` (leakage: pJ per cycle of that component)."""
        if action == Action.LEAKAGE:
            return self.leakage_pj.get(component, 0.0)
        return self.component_prices.get((component, action), self.price[action])

    def record(self, component: str, action: Action, opcode: str, layer: str, phase: str,
               count: int = 1, cycles: int = 0) -> None:
        """Add ``count`` actions taking ``cycles`` busy cycles."""
        key = (component, action, opcode, layer, phase)
        row = self.rows.get(key)
        if row is None:
            if action not in self.price:
                raise KeyError(f"action {action!r} has no energy entry; known: {', '.join(self.price)}")
            self.rows[key] = (count, cycles)
        else:
            self.rows[key] = (row[0] + count, row[1] + cycles)

    def snapshot(self) -> dict[Key, tuple[int, int]]:
        """The rows as they are now (for :meth:`delta`): a copy of the dict (its tuples are never changed)."""
        return self.rows.copy()

    def delta(self, since: dict[Key, tuple[int, int]]) -> dict[Key, tuple[int, int]]:
        """What was recorded after the snapshot ``since``: (count, cycles) per key."""
        out = {}
        for k, (count, cycles) in self.rows.items():
            c0, y0 = since.get(k, (0, 0))
            if count != c0 or cycles != y0:
                out[k] = (count - c0, cycles - y0)
        return out

    def add(self, delta: dict[Key, tuple[int, int]], times: int = 1) -> None:
        """Record ``times`` repetitions of a :meth:`delta` (a replayed stretch of the timing)."""
        for (component, action, opcode, layer, phase), (count, cycles) in delta.items():
            self.record(component, action, opcode, layer, phase, count * times, cycles * times)

    def frame(self) -> pd.DataFrame:
        """All rows as a DataFrame with the columns in :data:`COLUMNS` (energy in pJ = count x price)."""
        price = self.price_of
        data = [(k[0], str(k[1]), *k[2:], v[0], v[1], price(k[0], k[1]) * v[0]) for k, v in self.rows.items()]
        return pd.DataFrame(data, columns=COLUMNS)

    def total_pj(self) -> float:
        return float(sum(self.price_of(k[0], k[1]) * v[0] for k, v in self.rows.items()))
