"""The ledger's actions (socsim.base.actions.Action) and the energy table price each other exactly: every action the
simulator can record has one price, and every price of the table names an action (docs/energy.md)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from socsim.base.actions import COUNTERS, MODELLED, PER_COMPONENT, PRICED_BY_TABLE, Action
from socsim.config.soc import EnergyTable, load_config
from socsim.sim.soc import Soc

TABLE_PRICES = {f.name for f in fields(EnergyTable) if f.name.endswith("_pj")}


@pytest.mark.parametrize("action", list(Action), ids=str)
def test_every_action_is_priced_one_way(action):
    ways = [action.price_field in TABLE_PRICES, action in MODELLED, action in PER_COMPONENT, action in COUNTERS]
    assert sum(ways) == 1, (f"{action}: priced by the table ({action.price_field}), a model, per component or as a "
                            f"counter: exactly one of them expected, got {ways}")


def test_every_energy_table_price_names_an_action():
    assert TABLE_PRICES == {a.price_field for a in PRICED_BY_TABLE}, \
        f"EnergyTable prices without an Action: {sorted(TABLE_PRICES - {a.price_field for a in PRICED_BY_TABLE})}"
    assert not set(EnergyTable.REMOVED) & TABLE_PRICES


def test_the_adc_conversion_is_priced_by_its_model():
    """A modelled action has no table field; the SoC prices it from the figure of merit and the converter's steps."""
    cfg = load_config("wu2023")
    assert Action.ADC_CONVERSION.price_field not in TABLE_PRICES
    price = Soc.from_config(cfg).ledger.price_of("tile0", Action.ADC_CONVERSION)
    assert price == pytest.approx(cfg.energy.adc_fom_fj * 2 ** cfg.tiles.physics.adc.bits / 1000.0)


@pytest.mark.parametrize("preset", ["wu2023", "ideal", "pcm_hic"])
def test_the_soc_prices_every_action_and_nothing_else(preset):
    """Whatever a unit records is an Action the ledger has a price for (an unknown one raises at its first row)."""
    ledger = Soc.from_config(load_config(preset)).ledger
    assert set(ledger.price) == set(Action)
    assert ledger.price[Action.LEAKAGE] == 0.0 and all(ledger.price[c] == 0.0 for c in COUNTERS)
    with pytest.raises(KeyError, match="no energy entry"):
        ledger.record("tile0", "adc_conversions", "mvm", "-", "other")  # type: ignore[arg-type]


def test_ledger_values_are_the_plain_strings():
    """The ledger's DataFrame holds plain str actions (the run folder's files and pickles stay as they were)."""
    soc = Soc.from_config(load_config("wu2023"))
    soc.ledger.record("du", Action.DU_OP, "vadd", "-", "other", 3)
    frame = soc.ledger.frame()
    assert frame["action"].tolist() == ["du_op"] and type(frame["action"][0]) is str
