"""Names for reading: the ledger's components as words (``du`` -> ``digital unit``), and the component class of
every energy row (array, ADC, DAC, programming, digital unit, controller, SRAM, bus, DRAM, static).

One registry each: :data:`COMPONENT_LABELS` (fixed component names) with the numbered ones (``tile3``, ``dma0``)
spelled by :func:`component_label`, and :data:`ENERGY_CLASS` (ledger action -> class).
"""

from __future__ import annotations

import re

import pandas as pd

from socsim.base.actions import COUNTERS, Action
from socsim.base.units import natural_key

COMPONENT_LABELS = {"du": "digital unit", "tbuf": "tile buffer", "acc": "accumulator SRAM", "sram": "data SRAM",
                    "controller": "controller", "bus": "bus", "dram": "DRAM", "chip": "chip"}
"""Ledger component name -> the words a report shows."""
NUMBERED_LABELS = {"tile": "tile", "dma": "DMA channel"}
"""Prefix of numbered components (``tile3``) -> their words (``tile 3``)."""


def component_label(name: str) -> str:
    """``du`` -> ``digital unit``, ``tile12`` -> ``tile 12``, ``dma0`` -> ``DMA channel 0``; unknown names as given."""
    if name in COMPONENT_LABELS:
        return COMPONENT_LABELS[name]
    m = re.fullmatch(r"([a-z_]+)(\d+)", name)
    if m and m.group(1) in NUMBERED_LABELS:
        return f"{NUMBERED_LABELS[m.group(1)]} {m.group(2)}"
    return name


ENERGY_CLASSES = ("array", "ADC", "DAC", "programming", "digital unit", "controller", "SRAM", "bus", "DRAM",
                  "static")
"""Component classes of energy, in the order of every table and stacked figure."""
ENERGY_CLASS: dict[Action, str] = {
    Action.ARRAY_CELL: "array",
    Action.ADC_CONVERSION: "ADC", Action.ADC_FS_SET: "ADC", Action.SHIFT_ADD: "ADC",
    Action.DAC_PULSE: "DAC",
    Action.SET_PULSE: "programming", Action.RESET_PULSE: "programming", Action.VERIFY_READ: "programming",
    Action.READBACK_WEIGHT: "programming",
    Action.DU_OP: "digital unit", Action.DU_MAC: "digital unit", Action.DU_SPECIAL: "digital unit",
    Action.CTRL_INSTR: "controller",
    Action.SRAM_READ: "SRAM", Action.SRAM_WRITE: "SRAM", Action.TBUF_ACCESS: "SRAM",
    Action.BUS_BEAT: "bus", Action.DRAM_WORD: "DRAM",
    Action.LEAKAGE: "static",
}
"""Ledger action -> energy class. ADC includes the TIA (its conversion price), full-scale setting and the
shift-add combine of the readout; SRAM covers the data SRAM, the accumulator SRAM and the tile buffers; static is
every component's leakage. Counters (:data:`socsim.base.actions.COUNTERS`) carry no energy and have no class."""


def energy_class(action: str) -> str:
    """The class of a ledger action (KeyError for a counter or an unknown action)."""
    return ENERGY_CLASS[Action(action)]


def layer_class_table(ledger: pd.DataFrame, layers: list[str], images: int | None = None) -> pd.DataFrame:
    """Energy per layer (rows, in ``layers`` order) x class (columns ``{class}_pj`` in :data:`ENERGY_CLASSES`
    order, only classes with energy) plus ``total_pj``; per image when ``images``. Sums to the ledger's energy."""
    priced = ledger[~ledger["action"].isin([a.value for a in COUNTERS])]
    cls = priced["action"].map(energy_class)
    p = priced.assign(cls=cls).pivot_table(index="layer", columns="cls", values="energy_pj", aggfunc="sum",
                                           fill_value=0.0)
    p = p.reindex(index=[n for n in layers if n in p.index],
                  columns=[c for c in ENERGY_CLASSES if c in p.columns and p[c].any()]).fillna(0.0)
    p = p / max(images, 1) if images else p
    p.columns = [f"{c}_pj" for c in p.columns]
    p["total_pj"] = p.sum(axis=1)
    p.index.name = "layer"
    return p.reset_index()


def sorted_names(names) -> list[str]:
    """Component names in natural order (tile2 before tile10)."""
    return sorted(set(names), key=natural_key)
