"""Area and leakage of a config, first order: every part of every component, priced by the ``[area]`` table.

:func:`area_parts` lists the parts (a tile's crossbar, ADCs, TIAs, DACs and shift-and-add units; each SRAM by
its bits; the digital unit's lanes; the controller; the DMA channels) with their area (mm^2) and leakage (uW);
:func:`area_table` is that list as a DataFrame whose ``area_mm2`` column sums to :func:`total_area_mm2`;
:func:`leakage_pj_per_cycle` gives each ledger component's leakage in pJ per clock cycle, the price of the
``leakage`` rows the SoC records at the end of every run (static energy = leakage power x simulated time).

Not counted: the DRAM (off chip), the bus wires (routed over the logic) and the RRAM cells' leakage (the
devices are nonvolatile and draw no current unless read). docs/area.md gives every entry and its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from socsim.base.errors import InputError
from socsim.config.area_params import AreaTable
from socsim.physics.adc import SarArea, adc_class, adc_models
from socsim.physics.interface import CellArea
from socsim.physics.registry import cell_f2 as model_cell_f2
from socsim.pricing.costs import area_node_factor, leakage_node_factor

if TYPE_CHECKING:
    from socsim.config.soc import SocConfig

UM2_PER_MM2 = 1e6


def adc_um2(t: AreaTable, kind: str, bits: int) -> float:
    """Area (um^2) of one ADC of ``kind`` and ``bits``: the kind's own area model (``Adc.area_um2``, a SAR-class
    converter unless the kind says otherwise) on the table's SAR entries; an :class:`InputError` naming the known
    kinds."""
    if kind not in adc_models():
        raise InputError(f"no area model for ADC kind {kind!r}; known: {', '.join(adc_models())}")
    return adc_class(kind).area_um2(bits, SarArea(t.adc_um2, t.adc_ref_bits, t.adc_area_per_bit))


def adc_leakage_uw(t: AreaTable, kind: str, bits: int) -> float:
    """Leakage (uW) of one ADC: its area times the logic leakage density."""
    return adc_um2(t, kind, bits) / UM2_PER_MM2 * t.logic_leakage_uw_per_mm2


@dataclass(frozen=True)
class Part:
    """One kind of part of a component: how many, the area of one (um^2), the leakage of all (uW)."""

    component: str
    """The ledger component it belongs to (its leakage is charged there)."""
    part: str
    instances: int
    unit_um2: float
    leakage_uw: float
    basis: str
    """How the area is made up (for the table)."""

    @property
    def area_mm2(self) -> float:
        return self.instances * self.unit_um2 / UM2_PER_MM2


@dataclass(frozen=True)
class NodeScale:
    """Area and leakage of the digital and SRAM parts at ``tech.node_nm`` relative to the ``[area]`` table's
    figures, which hold at 45 nm (socsim.pricing.costs; 1.0 and 1.0 at 45 nm)."""

    area: float = 1.0
    leakage: float = 1.0

    @classmethod
    def of(cls, cfg: "SocConfig") -> "NodeScale":
        tech = cfg.tech
        return cls(area_node_factor(tech.node_nm, tech.area_node_exponent),
                   leakage_node_factor(tech.node_nm, tech.leakage_node_exponent))

    def basis(self) -> str:
        return "" if self.area == 1.0 else f" x {self.area:.3g} (node)"


def _sram(t: AreaTable, component: str, part: str, bits: int, node: NodeScale) -> Part:
    cell_um2 = t.sram_cell_f2 * (t.feature_nm * 1e-3) ** 2
    return Part(component, part, bits, cell_um2 * (1.0 + t.sram_periphery) * node.area,
                bits * t.sram_leakage_pw_per_bit * 1e-6 * node.leakage,
                f"{bits:,} bits x {t.sram_cell_f2:g} F^2 x (1 + {t.sram_periphery:g} periphery){node.basis()}")


def _logic(t: AreaTable, component: str, part: str, instances: int, unit_um2: float, basis: str,
           extra_uw: float = 0.0, node: NodeScale = NodeScale()) -> Part:
    """A logic or converter part; ``node`` scales the area and the area's leakage of the digital parts only."""
    leak = instances * (unit_um2 / UM2_PER_MM2 * t.logic_leakage_uw_per_mm2 * node.leakage + extra_uw)
    return Part(component, part, instances, unit_um2 * node.area, leak, basis + node.basis())


def _tile_parts(cfg: "SocConfig", name: str) -> list[Part]:
    t, tc = cfg.area, cfg.tiles
    adc = tc.physics.adc
    in_levels = tc.physics.dac.levels_per_pulse
    dac_bits = max(1, (in_levels - 1).bit_length())
    cell_f2 = model_cell_f2(tc.physics, CellArea(t.rram_cell_f2, t.sram_cell_f2))
    cell_um2 = cell_f2 * (t.feature_nm * 1e-3) ** 2
    return [
        Part(name, "crossbar", tc.rows * tc.bitlines, cell_um2, 0.0,
             f"{tc.rows} rows x {tc.bitlines} bit lines x {cell_f2:g} F^2 (nonvolatile: no leakage)"),
        _logic(t, name, "adc", tc.adcs, adc_um2(t, adc.kind, adc.bits),
               f"{adc.bits}-bit {adc.kind}, one per {tc.bitlines_per_adc} bit lines"),
        _logic(t, name, "tia", tc.adcs, t.tia_um2, "one per ADC", extra_uw=t.tia_bias_uw),
        _logic(t, name, "dac", tc.rows, t.dac_um2 * 2 ** (dac_bits - 1),
               f"one {dac_bits}-bit driver per row ({in_levels} levels per pulse)"),
        _logic(t, name, "shift_add", tc.adcs, t.shift_add_um2, "one per ADC", node=NodeScale.of(cfg)),
    ]


def area_parts(cfg: "SocConfig") -> list[Part]:
    """Every part of the chip ``cfg`` describes, component by component (tiles first)."""
    t, node = cfg.area, NodeScale.of(cfg)
    parts: list[Part] = []
    for i in range(cfg.tiles.count):
        parts += _tile_parts(cfg, f"tile{i}")
    parts.append(_sram(t, "tbuf", "tile buffers", cfg.tiles.count * cfg.tiles.buffer_words * 32, node))
    parts.append(_sram(t, "sram", "data SRAM", cfg.controller.dmem_kbit * 1024, node))
    parts.append(_sram(t, "acc", "accumulator SRAM", cfg.sram.acc_kbit * 1024, node))
    parts.append(_logic(t, "du", "FP32 lanes", cfg.du.lanes, t.du_lane_um2, f"{cfg.du.lanes} multiply-add lanes",
                        node=node))
    parts.append(_logic(t, "controller", "core", 1, t.controller_um2, "in-order 32-bit core", node=node))
    parts.append(_sram(t, "controller", "instruction memory", cfg.controller.imem_kbit * 1024, node))
    for i in range(cfg.dma.channels):
        parts.append(_logic(t, f"dma{i}", "channel", 1, t.dma_um2, "address generator and descriptors", node=node))
    return parts


def area_table(cfg: "SocConfig") -> pd.DataFrame:
    """One row per part: ``component``, ``part``, ``instances``, ``unit_um2``, ``area_mm2``, ``area_share``,
    ``leakage_uw``, ``basis``. ``area_mm2`` sums to :func:`total_area_mm2`."""
    parts = area_parts(cfg)
    total = sum(p.area_mm2 for p in parts)
    rows = [{"component": p.component, "part": p.part, "instances": p.instances, "unit_um2": p.unit_um2,
             "area_mm2": p.area_mm2, "area_share": p.area_mm2 / total if total else 0.0, "leakage_uw": p.leakage_uw,
             "basis": p.basis} for p in parts]
    return pd.DataFrame(rows, columns=["component", "part", "instances", "unit_um2", "area_mm2", "area_share",
                                       "leakage_uw", "basis"])


def total_area_mm2(cfg: "SocConfig") -> float:
    """Chip area (mm^2): the sum of :func:`area_table`'s ``area_mm2``."""
    return float(sum(p.area_mm2 for p in area_parts(cfg)))


def leakage_uw(cfg: "SocConfig") -> dict[str, float]:
    """Leakage power (uW) of each ledger component."""
    out: dict[str, float] = {}
    for p in area_parts(cfg):
        out[p.component] = out.get(p.component, 0.0) + p.leakage_uw
    return out


def leakage_pj_per_cycle(cfg: "SocConfig") -> dict[str, float]:
    """Leakage energy (pJ) of each ledger component per cycle of ``cfg.clock_hz``: uW x 1e6 / clock_hz."""
    return {c: uw * 1e6 / cfg.clock_hz for c, uw in leakage_uw(cfg).items()}
