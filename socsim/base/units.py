"""Display units and order: pick the unit that shows a time or an energy as a number in [1, 1000), and format it.

One table per quantity; every printed summary, figure axis and table header takes its unit from here, so
4435675.71 us prints as ``4.44 s`` and 3740778 pJ as ``3.74 uJ``.
"""

from __future__ import annotations

import math
import re

ENERGY_UNITS = (("pJ", 1.0), ("nJ", 1e3), ("uJ", 1e6), ("mJ", 1e9), ("J", 1e12))
"""Energy units as (name, picojoules per unit), smallest first."""
TIME_UNITS = (("ps", 1e-12), ("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1.0))
"""Time units as (name, seconds per unit), smallest first."""


def _pick(value: float, units: tuple[tuple[str, float], ...], floor: int = 0) -> tuple[str, float]:
    """The largest unit (from index ``floor`` up) in which ``|value|`` is at least 1; the smallest if none."""
    mag = abs(value)
    chosen = units[floor]
    for unit in units[floor:]:
        if mag >= unit[1]:
            chosen = unit
    return chosen


def energy_unit(largest_pj: float) -> tuple[str, float]:
    """The unit (name, pJ per unit) that shows ``largest_pj`` as a number below 1000 (pJ for anything smaller)."""
    for name, scale in ENERGY_UNITS:
        if abs(largest_pj) < 1000 * scale:
            return name, scale
    return ENERGY_UNITS[-1]


def time_unit(largest_s: float) -> tuple[str, float]:
    """The unit (name, seconds per unit) that shows ``largest_s`` as a number in [1, 1000) (ns at least)."""
    return _pick(largest_s, TIME_UNITS, floor=1)


def _significant(value: float, digits: int) -> float:
    """``value`` rounded to ``digits`` significant digits (so that 999.7 becomes 1000 before a unit is picked)."""
    return float(f"{value:.{digits - 1}e}") if value and math.isfinite(value) else value


def _number(value: float, digits: int) -> str:
    """``value`` (already rounded) with ``digits`` significant digits, trailing zeros kept: 4.40, 55.6, 120."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.{max(digits - 1 - math.floor(math.log10(abs(value))), 0)}f}"


def fmt_sig(value: float, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits, trailing zeros kept (``1.00``, ``0.979``, ``56.3``)."""
    return _number(_significant(value, digits), digits)


def _fmt(value: float, unit: tuple[str, float], digits: int) -> str:
    name, scale = unit
    scaled = value / scale
    if abs(scaled) >= 1000:  # beyond the largest unit: whole units, no digits dropped
        return f"{scaled:,.0f} {name}"
    return f"{_number(_significant(scaled, digits), digits)} {name}"


def fmt_time(seconds: float, digits: int = 3) -> str:
    """A duration in the unit of :func:`time_unit`, e.g. ``4.44 s``, ``55.6 us``."""
    return _fmt(seconds, time_unit(_significant(seconds, digits)), digits)


def fmt_energy(pj: float, digits: int = 3) -> str:
    """An energy in the unit of :func:`energy_unit`, e.g. ``3.74 uJ``, ``29.6 nJ``."""
    return _fmt(pj, energy_unit(_significant(pj, digits)), digits)


def natural_key(name: str) -> tuple:
    """Sort key that puts tile2 before tile10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", str(name)))
