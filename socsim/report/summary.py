"""The printed summary of one program run (``socsim run``): totals in display units, then per component."""

from __future__ import annotations

from typing import TYPE_CHECKING

from socsim.units import energy_unit, fmt_energy, fmt_time

if TYPE_CHECKING:
    from socsim.sim import Result


def result_summary(result: "Result") -> str:
    """Cycles, simulated time and energy in adapted units (``4.44 s``, ``3.74 uJ``), then one row per component:
    energy in one unit for the column (the one that shows the largest below a million), share, busy cycles and
    utilization of the run's cycles."""
    comps = result.by_component()
    unit, scale = energy_unit(float(comps["energy_pj"].max()) / 1000 if len(comps) else 0.0)
    lines = [f"cycles        {result.cycles:,}",
             f"time          {fmt_time(result.seconds)} at {result.cfg.clock_hz / 1e6:g} MHz",
             f"instructions  {result.instructions:,}",
             f"energy        {fmt_energy(result.energy_pj)}",
             "",
             f"{'component':<12}{'energy ' + unit:>14}{'share':>8}{'busy cycles':>13}{'util':>7}"]
    for comp, row in comps.iterrows():
        lines.append(f"{comp:<12}{row['energy_pj'] / scale:>14,.3f}{row['share']:>8.1%}"
                     f"{int(row['busy_cycles']):>13,}{row['utilization']:>7.1%}")
    return "\n".join(lines)
