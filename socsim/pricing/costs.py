"""Costs that scale: the energy of digital and memory actions with the CMOS node, and of memory accesses with the
memory's capacity (docs/energy.md, "Scaling with node and capacity").

The ``[energy]`` table gives each price at 45 nm (Horowitz 2014) and each memory's price at its reference capacity
(``[tech]``: the preset's own capacity, so every preset keeps its calibrated figures). For another node or capacity:

- node: E(node) = E(45 nm) x (node / 45 nm) x (Vdd(node) / Vdd(45 nm))^2 -- first-order C V^2 scaling (switched
  capacitance proportional to the feature size, Dennard et al. 1974) with the nominal supplies of the Predictive
  Technology Model (:data:`PTM_VDD`). Applies to the controller, the digital unit, the shift-add combine and every
  SRAM access; not to the analog array, DACs and ADCs (their own models), the bus wires or the DRAM.
- capacity: E(C) = E(C_ref) x (C / C_ref)^``tech.capacity_exponent`` per access (default 0.5: a fit to Horowitz's
  per-64-bit-access SRAM energies, 10 pJ at 8 KB, 20 pJ at 32 KB, 100 pJ at 1 MB: exponents 0.50 and 0.46).
- word width and banks: linear in the word's bits; a banked SRAM's access is one bank's (capacity / banks) plus a
  routing share ``tech.routing_share`` that grows with the whole capacity (:func:`sram_access_factor`).
- area and leakage of the digital and SRAM parts (socsim.pricing.area): (node / 45)^2 and (node / 45) x Vdd / 1.0 V.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from socsim.base.actions import Action
from socsim.base.errors import InputError

if TYPE_CHECKING:
    from socsim.config.soc import SocConfig

REFERENCE_NODE_NM = 45.0
"""The node of the [energy] table's digital and memory prices (Horowitz, ISSCC 2014)."""
PTM_VDD = {16.0: 0.7, 22.0: 0.8, 32.0: 0.9, 45.0: 1.0, 65.0: 1.1, 90.0: 1.2, 130.0: 1.3}
"""Nominal supply (V) of the Predictive Technology Model's bulk CMOS cards by node (nm) (ptm.asu.edu; Zhao and Cao,
IEEE TED 53(11) 2006). Between nodes the supply is interpolated linearly in the node."""
NODE_SCALED = (Action.CTRL_INSTR, Action.DU_OP, Action.DU_MAC, Action.DU_SPECIAL, Action.SHIFT_ADD,
               Action.SRAM_READ, Action.SRAM_WRITE, Action.TBUF_ACCESS)
"""Actions whose energy scales with ``tech.node_nm``: digital logic and SRAM accesses."""


def supply_v(node_nm: float) -> float:
    """Nominal Vdd (V) at ``node_nm`` (PTM, interpolated; an :class:`InputError` naming ``tech.node_nm`` outside
    16-130 nm)."""
    nodes = sorted(PTM_VDD)
    if not nodes[0] <= node_nm <= nodes[-1]:
        raise InputError(f"tech.node_nm = {node_nm:g} nm: the supply model covers {nodes[0]:g}-{nodes[-1]:g} nm")
    return float(np.interp(node_nm, nodes, [PTM_VDD[n] for n in nodes]))


def node_factor(node_nm: float) -> float:
    """Energy per digital or SRAM action at ``node_nm`` relative to 45 nm: (node / 45) x (Vdd / Vdd(45))^2."""
    return node_nm / REFERENCE_NODE_NM * (supply_v(node_nm) / supply_v(REFERENCE_NODE_NM)) ** 2


def capacity_factor(capacity: float, reference: float, exponent: float) -> float:
    """Energy per access of a memory of ``capacity`` relative to one of ``reference`` (same unit)."""
    return (capacity / reference) ** exponent


def area_node_factor(node_nm: float, exponent: float) -> float:
    """Area of a digital or SRAM part at ``node_nm`` relative to 45 nm: (node / 45)^exponent."""
    supply_v(node_nm)  # the same range check as the energy model
    return (node_nm / REFERENCE_NODE_NM) ** exponent


def leakage_node_factor(node_nm: float, exponent: float) -> float:
    """Leakage power of a digital or SRAM part at ``node_nm`` relative to 45 nm: (node / 45)^exponent x
    (Vdd / Vdd(45)) -- leakage current proportional to transistor width, power = current x supply."""
    return (node_nm / REFERENCE_NODE_NM) ** exponent * supply_v(node_nm) / supply_v(REFERENCE_NODE_NM)


def sram_access_factor(capacity: float, reference: float, exponent: float, banks: int, word_bits: int,
                       ref_word_bits: int, routing_share: float) -> float:
    """Energy per access of an SRAM of ``capacity`` in ``banks`` banks and ``word_bits``-bit words relative to one
    bank of ``reference`` capacity and ``ref_word_bits``-bit words:
    (word / ref_word) x [bank + routing_share x (whole - bank)], bank = (capacity / banks / reference)^exponent,
    whole = (capacity / reference)^exponent. One bank: exactly :func:`capacity_factor` times the word factor."""
    whole = capacity_factor(capacity, reference, exponent)
    bank = whole if banks == 1 else capacity_factor(capacity / banks, reference, exponent)
    return word_bits / ref_word_bits * (bank + routing_share * (whole - bank))


def action_prices(cfg: "SocConfig") -> dict[str, float]:
    """pJ per action of the node-scaled actions (:data:`NODE_SCALED`) at ``cfg.tech.node_nm``."""
    f = node_factor(cfg.tech.node_nm)
    return {a: float(getattr(cfg.energy, a.price_field)) * f for a in NODE_SCALED}


def memory_prices(cfg: "SocConfig") -> dict[tuple[str, str], float]:
    """pJ per access of each SRAM (ledger component, action): the node-scaled price times the capacity factor of the
    data SRAM (``sram``: controller.dmem_kbit), the accumulator SRAM (``acc``: sram.acc_kbit) and the tile buffers
    (``tbuf``: tiles.buffer_words), each against its reference capacity, with its banks and word width, in
    ``[tech]`` (:func:`sram_access_factor`)."""
    t, base = cfg.tech, action_prices(cfg)

    def factor(capacity: float, reference: float, banks: int, word_bits: int) -> float:
        return sram_access_factor(capacity, reference, t.capacity_exponent, banks, word_bits, t.ref_word_bits,
                                  t.routing_share)

    sram = factor(cfg.controller.dmem_kbit, t.dmem_ref_kbit, t.dmem_banks, t.dmem_word_bits)
    acc = factor(cfg.sram.acc_kbit, t.acc_ref_kbit, t.acc_banks, t.acc_word_bits)
    tbuf = factor(cfg.tiles.buffer_words, t.tbuf_ref_words, t.tbuf_banks, t.tbuf_word_bits)
    return {("sram", Action.SRAM_READ): base[Action.SRAM_READ] * sram,
            ("sram", Action.SRAM_WRITE): base[Action.SRAM_WRITE] * sram,
            ("acc", Action.SRAM_READ): base[Action.SRAM_READ] * acc,
            ("acc", Action.SRAM_WRITE): base[Action.SRAM_WRITE] * acc,
            ("tbuf", Action.TBUF_ACCESS): base[Action.TBUF_ACCESS] * tbuf}
