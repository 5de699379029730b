"""Area and leakage, first order: the printed total is the table's sum, ADC area and static energy rise with bits,
more ADCs cost area and leakage, bad fields are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

import isa
from socsim.base.actions import Action
from socsim.base.configtools import ConfigError
from socsim.cli import main
from socsim.config.soc import load_config
from socsim.pricing.area import adc_leakage_uw, adc_um2, area_table, leakage_uw, total_area_mm2
from socsim.sim import Soc

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = isa.assemble_file(ROOT / "programs" / "mlp_infer.s")


def _tile_static_pj(cfg) -> float:
    led = Soc.from_config(cfg).run(PROGRAM).ledger
    return float(led.loc[(led.action == Action.LEAKAGE) & (led.component == "tile0"), "energy_pj"].sum())


def test_area_table_sums_to_the_printed_total(capsys):
    cfg = load_config("wu2023")
    table = area_table(cfg)
    assert main(["area", "wu2023"]) == 0
    out = capsys.readouterr().out
    total_line = out.strip().splitlines()[-1].split()
    assert total_line[0] == "total" and float(total_line[1]) == round(float(table["area_mm2"].sum()), 5)
    assert float(table["area_mm2"].sum()) == pytest.approx(total_area_mm2(cfg), rel=1e-12)
    assert table["area_share"].sum() == pytest.approx(1.0)
    # one line per part, each the area of its instances
    assert len(out.strip().splitlines()) == len(table) + 3
    for _, row in table.iterrows():
        assert row["area_mm2"] == pytest.approx(row["instances"] * row["unit_um2"] / 1e6, rel=1e-12)
    # socsim run prints the same total
    assert main(["run", str(ROOT / "programs" / "mlp_infer.s")]) == 0
    assert f"area          {float(table['area_mm2'].sum()):.3g} mm^2 (4 tiles" in capsys.readouterr().out


def test_crossbar_area_is_cell_f2_times_rows_times_bit_lines():
    cfg = load_config("wu2023")
    row = area_table(cfg).query("component == 'tile0' and part == 'crossbar'").iloc[0]
    want = 64 * 64 * cfg.area.rram_cell_f2 * (cfg.area.feature_nm * 1e-3) ** 2 / 1e6
    assert row["area_mm2"] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kind", ["bwmcs", "shift_add", "ideal"])
def test_adc_area_and_leakage_rise_with_bits(kind):
    t = load_config("wu2023").area
    areas = [adc_um2(t, kind, b) for b in range(2, 13)]
    leaks = [adc_leakage_uw(t, kind, b) for b in range(2, 13)]
    assert all(a < b for a, b in zip(areas, areas[1:]))
    assert all(a < b for a, b in zip(leaks, leaks[1:]))
    assert adc_um2(t, kind, t.adc_ref_bits) == t.adc_um2


def test_more_adc_bits_cost_area_and_static_energy_in_a_run():
    statics, areas = [], []
    for bits in (6, 8, 10):
        cfg = load_config("wu2023", {"tiles": {"physics": {"adc": {"bits": bits}}}})
        statics.append(_tile_static_pj(cfg))
        areas.append(total_area_mm2(cfg))
    assert statics[0] < statics[1] < statics[2]
    assert areas[0] < areas[1] < areas[2]


def test_doubling_the_adcs_costs_area_and_leakage():
    one = load_config("wu2023")
    two = load_config("wu2023", {"tiles": {"bitlines_per_adc": 4}})
    assert two.tiles.adcs == 2 * one.tiles.adcs
    t1, t2 = area_table(one), area_table(two)
    for part in ("adc", "tia", "shift_add"):
        a1 = t1.query(f"component == 'tile0' and part == '{part}'")["area_mm2"].iloc[0]
        a2 = t2.query(f"component == 'tile0' and part == '{part}'")["area_mm2"].iloc[0]
        assert a2 == pytest.approx(2 * a1)
    assert total_area_mm2(two) > total_area_mm2(one)
    assert leakage_uw(two)["tile0"] > leakage_uw(one)["tile0"]
    assert _tile_static_pj(two) > _tile_static_pj(one)


def test_unknown_adc_kind_and_bad_fields_are_refused():
    with pytest.raises(ValueError, match="no area model for ADC kind 'flash'; known: bwmcs, ideal, shift_add"):
        adc_um2(load_config("wu2023").area, "flash", 8)
    with pytest.raises(ConfigError, match="area.feature_nm"):
        load_config("wu2023", {"area": {"feature_nm": -1.0}})
