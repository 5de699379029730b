"""How a results-table column is shown on an axis or in a table: a readable label with its display unit, and the
factor that turns the stored numbers (pJ, s, fractions) into that unit.

One table, :data:`NAMES`, names the metrics; the unit follows from the column's suffix (``_per_image_pj`` ->
``nJ per image``, ``_s`` -> ``us`` ...) and from the largest value shown, through :mod:`socsim.base.units`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from socsim.base.units import energy_unit, time_unit

NAMES = {
    "test_accuracy": "test accuracy",
    "energy_per_image_pj": "training energy",
    "latency_per_image_s": "training latency",
    "writes_per_weight": "writes per weight (last epoch)",
    "train_energy_pj": "training energy, last epoch",
    "train_cycles": "training cycles, last epoch",
    "train_s": "training time, last epoch",
    "eval_cycles": "evaluation cycles",
    "eval_energy_pj": "evaluation energy",
    "cells_written": "cells written",
    "set_pulses": "SET pulses",
    "reset_pulses": "RESET pulses",
    "forward_energy_pj": "forward energy, last epoch",
    "backward_energy_pj": "backward energy, last epoch",
    "update_energy_pj": "update energy, last epoch",
    "adc_saturated_share": "ADC inputs over range",
    "cycles": "cycles",
    "seconds": "simulated time",
    "energy_pj": "energy",
    "instructions": "instructions",
    "static_energy_pj": "static (leakage) energy",
    "area_mm2": "chip area",
    "wall_s": "wall time",
}
"""Readable names of the metric columns (sweep/spec.py's TRAIN_METRICS and PROGRAM_METRICS, and wall_s)."""
COUNT_UNITS = (("", 1.0), ("thousands", 1e3), ("millions", 1e6), ("billions", 1e9))
"""Scales for counts (cycles, pulses), smallest first."""


@dataclass(frozen=True)
class Display:
    """A column as shown: ``label`` (with its unit) and the divisor from stored values to the unit."""

    label: str
    scale: float = 1.0

    def values(self, raw: Iterable[float]) -> np.ndarray:
        return np.asarray(list(raw), dtype=float) / self.scale


def _largest(values: Iterable[float]) -> float:
    arr = np.abs(np.asarray([v for v in values], dtype=float))
    arr = arr[np.isfinite(arr)]
    return float(arr.max()) if arr.size else 0.0


def display(column: str, values: Iterable[float] = ()) -> Display:
    """How ``column`` is shown, with the unit picked for the largest of ``values``: accuracies and shares in %,
    energies in pJ..J and times in ns..s (``per image`` for the ``_per_image_`` metrics), large counts with k/M/G;
    a swept field (a dotted config path) as it is."""
    if column not in NAMES:
        return Display(column)
    name, largest = NAMES[column], _largest(values)
    per = " per image" if "_per_image_" in column else ""
    if column.endswith(("accuracy", "_share")):
        return Display(f"{name} (%)", 0.01)
    if column.endswith("_pj"):
        unit, scale = energy_unit(largest)
        return Display(f"{name} ({unit}{per})", scale)
    if column.endswith("_s") or column == "seconds":
        unit, scale = time_unit(largest)
        return Display(f"{name} ({unit}{per})", scale)
    if column.endswith("_mm2"):
        return Display(f"{name} (mm^2)")
    if column.endswith(("cycles", "pulses", "written")) or column == "instructions":
        prefix, scale = next(((p, s) for p, s in reversed(COUNT_UNITS) if largest >= 10 * s), COUNT_UNITS[0])
        return Display(f"{name}{f' ({prefix})' if prefix else ''}", scale)
    return Display(name)


def short_name(field: str, others: Iterable[str] = ()) -> str:
    """A dotted field by its last part when that is telling and unique among ``others``
    (``dac_pulse_pj`` for ``energy.dac_pulse_pj``), else by as many trailing parts as make it unique
    (``adc.bits`` for ``tiles.physics.adc.bits``)."""
    parts = field.split(".")
    first = 1 if len(parts[-1]) >= 6 or len(parts) == 1 else 2
    for n in range(first, len(parts) + 1):
        cand = ".".join(parts[-n:])
        if not any(o != field and (o == cand or o.endswith("." + cand)) for o in others):
            return cand
    return field
