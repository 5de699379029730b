"""Costs that scale (socsim.pricing.costs): SRAM energy per access with capacity, digital and memory energy with the
CMOS node; area and leakage of digital and SRAM parts with the node; word width and banks; the presets keep their
calibrated prices (anchored at their own capacities and 45 nm)."""

from __future__ import annotations

from pathlib import Path

import pytest

import isa
from socsim.base.actions import Action
from socsim.base.configtools import ConfigError
from socsim.config.soc import load_config
from socsim.pricing.area import area_table, leakage_uw, total_area_mm2
from socsim.pricing.costs import action_prices, memory_prices, node_factor, supply_v
from socsim.sim import Soc

VECTOR_OPS = Path(__file__).resolve().parents[1] / "programs" / "vector_ops.s"


def _run(overrides: dict):
    cfg = load_config("wu2023", overrides)
    return Soc.from_config(cfg).run(isa.assemble_file(VECTOR_OPS))


def _per_action(result, component: str, action: str) -> float:
    led = result.ledger
    rows = led[(led.component == component) & (led.action == action)]
    assert rows["count"].sum() > 0, f"{component} {action}: none in the ledger"
    return float(rows["energy_pj"].sum() / rows["count"].sum())


@pytest.mark.parametrize("preset", ["wu2023", "wu2023_256", "wu2023_table2", "scaling", "pcm_hic"])
def test_presets_keep_their_prices(preset):
    cfg = load_config(preset)
    table = cfg.energy
    assert action_prices(cfg) == {a: getattr(table, a.price_field) for a in action_prices(cfg)}
    for (_, action), price in memory_prices(cfg).items():
        assert price == getattr(table, Action(action).price_field)  # bit for bit: factors of exactly 1


def test_sram_energy_per_access_rises_with_capacity():
    small, large = _run({}), _run({"controller": {"dmem_kbit": 16 * 512}})
    ratio = _per_action(large, "sram", Action.SRAM_READ) / _per_action(small, "sram", Action.SRAM_READ)
    assert ratio >= 1.2 and ratio == pytest.approx(16 ** 0.5)  # 16x capacity: 4x per access (exponent 0.5)
    assert _per_action(large, "du", Action.DU_OP) == _per_action(small, "du", Action.DU_OP)  # logic unchanged
    cfg = load_config("wu2023", {"sram": {"acc_kbit": 2048}, "tiles": {"buffer_words": 1024}})
    prices = memory_prices(cfg)
    assert prices[("acc", Action.SRAM_READ)] == pytest.approx(2 * cfg.energy.sram_read_pj)
    assert prices[("tbuf", Action.TBUF_ACCESS)] == pytest.approx(0.5 * cfg.energy.tbuf_access_pj)


def test_a_smaller_node_costs_less():
    at45, at22 = _run({}), _run({"tech": {"node_nm": 22}})
    assert at22.energy_pj < at45.energy_pj
    factor = 22 / 45 * (0.8 / 1.0) ** 2  # C ~ node, PTM supplies 0.8 V and 1.0 V
    assert node_factor(22) == pytest.approx(factor)
    for component, action in (("du", Action.DU_OP), ("sram", Action.SRAM_READ)):
        assert _per_action(at22, component, action) == pytest.approx(factor * _per_action(at45, component, action))
    assert supply_v(38.5) == pytest.approx(0.95)  # halfway between 32 nm (0.9 V) and 45 nm (1.0 V)


def test_node_outside_the_supply_model_is_a_config_error():
    with pytest.raises(ConfigError, match="tech.node_nm"):
        load_config("wu2023", {"tech": {"node_nm": 7}})


def test_a_smaller_node_takes_less_area_and_leaks_less():
    at45, at22 = load_config("wu2023"), load_config("wu2023", {"tech": {"node_nm": 22}})
    assert total_area_mm2(at22) < total_area_mm2(at45)
    parts45 = area_table(at45).set_index(["component", "part"])
    parts22 = area_table(at22).set_index(["component", "part"])
    for key in (("sram", "data SRAM"), ("du", "FP32 lanes"), ("controller", "core"), ("tile0", "shift_add")):
        assert parts22.area_mm2[key] == pytest.approx((22 / 45) ** 2 * parts45.area_mm2[key])
        leak = 22 / 45 * 0.8  # width x Vdd: falls slower than the dynamic energy (node x Vdd^2)
        assert parts22.leakage_uw[key] == pytest.approx(leak * parts45.leakage_uw[key])
        assert leak > node_factor(22)
    for key in (("tile0", "crossbar"), ("tile0", "adc"), ("tile0", "tia")):  # analog parts: their own models
        assert parts22.area_mm2[key] == parts45.area_mm2[key]
        assert parts22.leakage_uw[key] == parts45.leakage_uw[key]
    assert sum(leakage_uw(at22).values()) < sum(leakage_uw(at45).values())


def _read_price(overrides: dict, component: str = "sram") -> float:
    return memory_prices(load_config("wu2023", overrides))[(component, Action.SRAM_READ)]


def test_banks_lower_the_energy_per_access_of_a_large_sram():
    large = {"controller": {"dmem_kbit": 16 * 512}}
    one = _read_price(large)
    sixteen = _read_price({**large, "tech": {"dmem_banks": 16}})
    assert sixteen < one
    # 16 banks of the reference size: bank factor 1, routing 4 (16x capacity) with share 0.5
    assert sixteen == pytest.approx(load_config("wu2023").energy.sram_read_pj * (1 + 0.5 * (4 - 1)))
    assert _read_price({**large, "tech": {"dmem_banks": 64}}) < sixteen
    no_routing = _read_price({**large, "tech": {"dmem_banks": 16, "routing_share": 0.0}})
    assert no_routing == pytest.approx(load_config("wu2023").energy.sram_read_pj)
    acc_large = {"sram": {"acc_kbit": 4096}}
    assert _read_price({**acc_large, "tech": {"acc_banks": 8}}, "acc") < _read_price(acc_large, "acc")


def test_a_wider_word_costs_more_per_access():
    base = _read_price({})
    assert _read_price({"tech": {"dmem_word_bits": 64}}) == pytest.approx(2 * base)
    assert _read_price({"tech": {"dmem_word_bits": 16}}) < base
    cfg = load_config("wu2023", {"tech": {"tbuf_word_bits": 128}})
    assert memory_prices(cfg)[("tbuf", Action.TBUF_ACCESS)] == pytest.approx(4 * cfg.energy.tbuf_access_pj)
