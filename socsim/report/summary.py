"""The printed summary of one program run (``socsim run``): totals in display units, then per component and per
layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from socsim.base.units import energy_unit, fmt_energy, fmt_time, time_unit
from socsim.pricing.area import area_table
from socsim.report.tables import layer_phase_table

if TYPE_CHECKING:
    from socsim.sim import Result


def energy_line(result: "Result") -> str:
    """``3.75 uJ (dynamic 3.74 uJ + static 5.79 nJ)``: all energy, then the counted actions and the leakage."""
    return (f"{fmt_energy(result.energy_pj)} (dynamic {fmt_energy(result.dynamic_energy_pj)} + static "
            f"{fmt_energy(result.static_energy_pj)})")


def area_line(cfg) -> str:
    """``1.32 mm^2 (4 tiles 0.0474 mm^2; socsim area CONFIG lists every part)``."""
    table = area_table(cfg)
    tiles = float(table.loc[table["component"].str.startswith("tile"), "area_mm2"].sum())
    return (f"{table['area_mm2'].sum():.3g} mm^2 ({cfg.tiles.count} tiles {tiles:.3g} mm^2; "
            f"socsim area lists every part)")


def elapsed_lines(layers: pd.DataFrame, clock_hz: float, cycles: int) -> list[str]:
    """One line per (layer, phase) with elapsed time: time, share of the run, busy time of all units on it."""
    rows = layers[layers["elapsed_cycles"] > 0]
    if rows.empty:
        return []
    unit, scale = time_unit(float(rows["elapsed_cycles"].max()) / clock_hz)
    width = max(14, 2 + max(len(str(name)) for name in rows["layer"]))  # a long name keeps a gap to its phase
    lines = [f"{'layer':<{width}}{'phase':<10}{'elapsed ' + unit:>14}{'share':>8}{'unit busy ' + unit:>16}"]
    for _, r in rows.iterrows():
        lines.append(f"{str(r['layer']):<{width}}{str(r['phase']):<10}{r['elapsed_cycles'] / clock_hz / scale:>14,.3f}"
                     f"{r['elapsed_cycles'] / max(cycles, 1):>8.1%}{r['busy_cycles'] / clock_hz / scale:>16,.3f}")
    return lines


def result_summary(result: "Result") -> str:
    """Cycles, simulated time and energy in adapted units (``4.44 s``, ``3.74 uJ``; dynamic and static), the chip
    area, then one row per component (energy in one unit for the column, the one that shows the largest below a
    million; share; busy cycles; utilization of the run's cycles) and one per (layer, phase): elapsed time (each
    cycle attributed to one layer, so the column sums to the run's time) beside the busy time of all units on it."""
    comps = result.by_component()
    unit, scale = energy_unit(float(comps["energy_pj"].max()) / 1000 if len(comps) else 0.0)
    lines = [f"cycles        {result.cycles:,}",
             f"time          {fmt_time(result.seconds)} at {result.cfg.clock_hz / 1e6:g} MHz",
             f"instructions  {result.instructions:,}",
             f"energy        {energy_line(result)}",
             f"area          {area_line(result.cfg)}",
             "",
             f"{'component':<12}{'energy ' + unit:>14}{'share':>8}{'busy cycles':>13}{'util':>7}"]
    for comp, row in comps.iterrows():
        lines.append(f"{comp:<12}{row['energy_pj'] / scale:>14,.3f}{row['share']:>8.1%}"
                     f"{int(row['busy_cycles']):>13,}{row['utilization']:>7.1%}")
    layers = elapsed_lines(layer_phase_table(result.ledger), result.cfg.clock_hz, result.cycles)
    if layers:
        lines += ["", *layers]
    return "\n".join(lines)


def area_text(cfg) -> str:
    """``socsim area``: one line per part of the chip (instances, area, share, leakage, how it is made up), then the
    total, which is the sum of the lines."""
    t = area_table(cfg)
    lines = [f"{cfg.name}: chip area and leakage, first order (docs/area.md)",
             f"{'component':<12}{'part':<20}{'instances':>11}{'area mm^2':>12}{'share':>8}{'leakage uW':>12}  basis"]
    for _, r in t.iterrows():
        lines.append(f"{r['component']:<12}{r['part']:<20}{r['instances']:>11,}{r['area_mm2']:>12.5f}"
                     f"{r['area_share']:>8.1%}{r['leakage_uw']:>12.3f}  {r['basis']}")
    lines.append(f"{'total':<32}{'':>11}{t['area_mm2'].sum():>12.5f}{1.0:>8.1%}{t['leakage_uw'].sum():>12.3f}  "
                 f"leakage {t['leakage_uw'].sum() * 1e6 / cfg.clock_hz:.4g} pJ per cycle at "
                 f"{cfg.clock_hz / 1e6:g} MHz")
    return "\n".join(lines)
