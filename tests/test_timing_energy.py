"""Timing and energy of the SoC model against the numbers of Wu et al. 2023 and basic causality."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.area import leakage_pj_per_cycle
from socsim.sim.ledger import COUNTERS, LEAKAGE
from tests.helpers import run_asm

FULL_TILE_MVM = """
.sym x   tb0 64 = 1, 2, 3
.sym y   tb0 32
    tcfg 0, 0, 0, 64, 32, 8
    mvm 0, y, x, 1
    halt
"""


def _rows(result, component, opcode):
    led = result.ledger
    return led[(led.component == component) & (led.opcode == opcode)]


def test_full_tile_mvm_takes_72_cycles_on_wu2023():
    r = run_asm(FULL_TILE_MVM)
    mvm = r.timeline[r.timeline.opcode == "mvm"].iloc[0]
    assert mvm.end - mvm.start == 72
    assert int(_rows(r, "tile0", "mvm").cycles.sum()) == 72


def test_mvm_cycles_scale_with_vectors_and_column_groups():
    r = run_asm(FULL_TILE_MVM.replace("mvm 0, y, x, 1", "mvm 0, y, x, 3").replace("tb0 64 =", "tb0 192 =")
                .replace("tb0 32", "tb0 96"))
    assert int(_rows(r, "tile0", "mvm").cycles.sum()) == 3 * 72
    narrow = run_asm(FULL_TILE_MVM.replace("tcfg 0, 0, 0, 64, 32, 8", "tcfg 0, 0, 0, 64, 2, 8"))
    # 2 weights = 4 bit lines: 4 ADC mux steps of 9 cycles.
    assert int(_rows(narrow, "tile0", "mvm").cycles.sum()) == 4 * 9


def _action(result, action):
    led = result.ledger
    return float(led[(led.component == "tile0") & (led.action == action)]["count"].sum())


def test_mvm_cost_follows_the_input_encoding_and_the_adc():
    """8-bit codes: 8 binary pulses + one BWMCS conversion (wu2023); 4 radix-4 pulses with one shift-and-add
    conversion each (radix4_digits preset); 8 binary pulses converted one by one (pcm_hic preset)."""
    wu = run_asm(FULL_TILE_MVM)
    r4 = run_asm(FULL_TILE_MVM, "radix4_digits")
    assert r4.cfg.tiles.physics.adc.kind == "shift_add" and r4.cfg.tiles.physics.dac.levels_per_pulse == 4
    assert int(_rows(r4, "tile0", "mvm").cycles.sum()) == 4 * int(_rows(wu, "tile0", "mvm").cycles.sum())
    assert _action(wu, "dac_pulse") == 64 * 8 and _action(r4, "dac_pulse") == 64 * 4
    assert _action(wu, "adc_conversion") == 64 and _action(r4, "adc_conversion") == 64 * 4
    pcm = run_asm(FULL_TILE_MVM, "pcm_hic")
    # a pcm_hic weight is 3 device pairs: 32 weights span 192 bit lines, each converted once per pulse
    assert pcm.cfg.tiles.devices_per_weight == 6 and pcm.cfg.tiles.weight_cols == 32
    assert _action(pcm, "adc_conversion") == 192 * 8 and _action(pcm, "array_cell") == 64 * 192 * 8
    assert int(_rows(pcm, "tile0", "mvm").cycles.sum()) == 8 * 8 * 9  # 8 mux steps x 8 conversions x 9 cycles


def test_mvm_counts_adc_inputs_over_range_per_conversion():
    """Counted in the ledger (priced zero): none at Wu's 70 uA full scale, every conversion at 5 uA."""
    strong = FULL_TILE_MVM.replace("= 1, 2, 3", "= " + ", ".join(["100"] * 64))
    assert _action(run_asm(strong), "adc_saturated") == 0
    small = run_asm(strong, overrides={"tiles": {"physics": {"adc": {"i_max_ua": 5.0}}}})
    assert _action(small, "adc_saturated") == _action(small, "adc_conversion") == 64
    assert "adc_saturated" in COUNTERS


def test_full_tile_mvm_energy_is_2_66_nj():
    r = run_asm(FULL_TILE_MVM)
    assert _rows(r, "tile0", "mvm").energy_pj.sum() == pytest.approx(2660.0, abs=1e-9)


def test_256x64_array_mvm_energy_is_2_93_nj():
    text = FULL_TILE_MVM.replace("tb0 64 =", "tb0 256 =").replace("64, 32, 8", "256, 32, 8")
    r = run_asm(text, overrides={"tiles": {"rows": 256}})
    assert _rows(r, "tile0", "mvm").energy_pj.sum() == pytest.approx(2930.0, abs=1e-9)


def test_ledger_totals_equal_the_sum_of_rows():
    r = run_asm(open("programs/mlp_infer.s").read())
    rows = r.ledger
    assert r.energy_pj == pytest.approx(float(rows.energy_pj.sum()), rel=0, abs=1e-6)
    assert (rows[rows.action.isin(COUNTERS)].energy_pj == 0).all()
    assert r.by_component().energy_pj.sum() == pytest.approx(r.energy_pj, rel=1e-12)
    # every priced row is count x the table price of its action; leakage: cycles x the component's pJ per cycle
    price = {name[:-3]: value for name, value in vars(r.cfg.energy).items()}
    leak = leakage_pj_per_cycle(r.cfg)
    for _, row in rows[~rows.action.isin(COUNTERS)].iterrows():
        want = leak[row.component] if row.action == LEAKAGE else price[row.action]
        assert row.energy_pj == pytest.approx(row["count"] * want, rel=1e-12)
    # static energy = every component's leakage power x the run's time
    assert r.static_energy_pj == pytest.approx(sum(leak.values()) * r.cycles, rel=1e-12)
    assert r.static_energy_pj > 0 and r.dynamic_energy_pj + r.static_energy_pj == pytest.approx(r.energy_pj)


def test_two_independent_mvms_on_two_tiles_overlap():
    text = """
.sym x0 tb0 640
.sym y0 tb0 320
.sym x1 tb1 640
.sym y1 tb1 320
    tcfg 0, 0, 0, 64, 32, 8
    tcfg 1, 0, 0, 64, 32, 8
    mvm 0, y0, x0, 10
    mvm 1, y1, x1, 10
    halt
"""
    r = run_asm(text)
    t = r.timeline[r.timeline.opcode == "mvm"]
    a, b = t.iloc[0], t.iloc[1]
    assert a.end - a.start == b.end - b.start == 720
    assert a.start < b.end and b.start < a.end  # the two intervals overlap
    assert r.cycles < 2 * 720
    same_tile = run_asm(text.replace("mvm 1, y1, x1, 10", "mvm 0, y0, x0, 10"))
    assert same_tile.cycles >= 2 * 720


def test_two_dma_transfers_on_one_bus_serialize():
    one = """
.sym a dram 4096
.sym b dram 4096
.sym sa sram 4096
.sym sb sram 4096
    copy sa, a, 4096
    halt
"""
    single = run_asm(one)
    double = run_asm(one.replace("    halt", "    copy sb, b, 4096\n    halt"))
    t = double.timeline[double.timeline.opcode == "copy"]
    assert set(t.unit) == {"dma0", "dma1"}  # two channels, two masters on one bus
    bus_one = single.busy_cycles["bus"]
    led = double.ledger
    assert led[(led.component == "bus") & (led.action == "busy")].cycles.sum() == double.busy_cycles["bus"]
    assert double.busy_cycles["bus"] == 2 * bus_one
    # the bus never carries two grants at once: total time covers both transfers' bus time
    assert double.cycles >= 2 * bus_one
    assert double.cycles > single.cycles + bus_one - 1


def test_dependent_instruction_waits_for_its_producer():
    text = """
.sym x  dram 64 = 1, 2
.sym xin tb0 64
.sym other tb0 64
.sym y  tb0 32
    tcfg 0, 0, 0, 64, 32, 8
    copy xin, x, 64
    mvm 0, y, SRC, 1
    halt
"""
    dep = run_asm(text.replace("SRC", "xin"))
    indep = run_asm(text.replace("SRC", "other"))
    for r in (dep, indep):
        assert len(r.timeline[r.timeline.opcode == "mvm"]) == 1
    copy = dep.timeline[dep.timeline.opcode == "copy"].iloc[0]
    mvm = dep.timeline[dep.timeline.opcode == "mvm"].iloc[0]
    assert mvm.start >= copy.end
    copy_i = indep.timeline[indep.timeline.opcode == "copy"].iloc[0]
    mvm_i = indep.timeline[indep.timeline.opcode == "mvm"].iloc[0]
    assert mvm_i.start < copy_i.end  # without the dependence the MVM runs under the copy
    assert indep.cycles < dep.cycles


def test_same_program_same_numbers():
    text = open("programs/mlp_infer.s").read()
    a, b = run_asm(text), run_asm(text)
    assert a.cycles == b.cycles
    assert a.ledger.equals(b.ledger)
    for name in a.outputs:
        np.testing.assert_array_equal(a.outputs[name], b.outputs[name])
