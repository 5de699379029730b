"""Timing and energy of the SoC model against the numbers of Wu et al. 2023 and basic causality."""

from __future__ import annotations

import numpy as np
import pytest

import isa
from socsim.base.actions import COUNTERS, Action
from socsim.config.soc import load_config
from socsim.pricing.area import leakage_pj_per_cycle
from socsim.sim import Soc
from tests.helpers import run_asm

FULL_TILE_MVM = """
.sym x   tb0 64 = 1, 2, 3
.sym y   tb0 32
.sym keep sram 256*32                ; an all-zero mask: wv writes no cell (the devices stay fresh)
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, keep, keep
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
    conversion each (radix4_digits preset); 8 binary pulses converted one by one (pcm_hic preset). Both read the
    pair subtracted before the converter (pair_readout = analog): one conversion per pair."""
    wu = run_asm(FULL_TILE_MVM)
    r4 = run_asm(FULL_TILE_MVM, "radix4_digits")
    assert r4.cfg.tiles.physics.adc.kind == "shift_add" and r4.cfg.tiles.physics.dac.levels_per_pulse == 4
    # 32 pairs on 8 ADCs: 4 mux steps x 4 conversions x 8 cycles (an 8-bit SAR conversion per pulse)
    assert int(_rows(r4, "tile0", "mvm").cycles.sum()) == 4 * 4 * 8
    assert _action(wu, "dac_pulse") == 64 * 8 and _action(r4, "dac_pulse") == 64 * 4
    assert _action(wu, "adc_conversion") == 64 and _action(r4, "adc_conversion") == 32 * 4
    pcm = run_asm(FULL_TILE_MVM, "pcm_hic")
    # a pcm_hic weight is 3 device pairs: 32 weights span 192 bit lines (all read), 96 pairs converted once per pulse
    assert pcm.cfg.tiles.devices_per_weight == 6 and pcm.cfg.tiles.weight_cols == 32
    assert _action(pcm, "adc_conversion") == 96 * 8 and _action(pcm, "array_cell") == 64 * 192 * 8
    assert int(_rows(pcm, "tile0", "mvm").cycles.sum()) == 4 * 8 * 8  # 4 mux steps x 8 conversions x 8 cycles


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_analog_pair_readout_converts_once_per_pair(engine):
    """wu2023_analog subtracts each G+/G- pair before the converter: a 64 x 32 block converts 32 columns, not 64
    bit lines, in 4 mux steps of an ADC's 8 bit lines (4 pairs), so conversions, shift-adds, their energy and
    the MVM's cycles halve; the array still reads every device and the DACs drive the same pulses."""
    digital, analog = (run_asm(FULL_TILE_MVM, preset, engine=engine) for preset in ("wu2023", "wu2023_analog"))
    for action in ("dac_pulse", "array_cell"):
        assert _action(analog, action) == _action(digital, action)
    for action in ("adc_conversion", "shift_add"):
        assert _action(digital, action) == 64 and _action(analog, action) == 32
        energy = [float(r.ledger[(r.ledger.component == "tile0") & (r.ledger.action == action)].energy_pj.sum())
                  for r in (digital, analog)]
        assert energy[1] == pytest.approx(energy[0] / 2, rel=1e-12) and energy[1] > 0
    assert int(_rows(digital, "tile0", "mvm").cycles.sum()) == 8 * 9
    assert int(_rows(analog, "tile0", "mvm").cycles.sum()) == 4 * 9


TRANSPOSED_MVM = """
.sym e   tb0 32 = 1, -2, 3
.sym d   tb0 64
.sym keep sram 64*32                 ; an all-zero mask: wv writes no cell (the devices stay fresh)
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, keep, keep
    mvmt 0, d, e, 1
    halt
"""


def test_transposed_read_converts_each_weight_slice():
    """pcm_hic's weights are 3 pairs of different significance; a transposed read converts each row's sum of one
    slice at a time (the numerics weigh the three conversions digitally): 3 x 64 conversions, 3 x the mux steps."""
    r = run_asm(TRANSPOSED_MVM, "pcm_hic")
    assert r.cfg.tiles.weight_slices == 3
    # shift-and-add: one conversion per pulse; sign and magnitude: an 8-bit code's magnitude is 7 pulses
    assert _action(r, "adc_conversion") == 3 * 64 * 7
    assert int(_rows(r, "tile0", "mvmt").cycles.sum()) == 3 * 8 * 7 * 8  # 3 slices x 8 mux steps x 7 x 8 cycles
    one = run_asm(TRANSPOSED_MVM, "mp_onarray")
    assert one.cfg.tiles.weight_slices == 1 and _action(one, "adc_conversion") == 64


@pytest.mark.parametrize("kind, cycles_of", [("bwmcs", lambda b: b + 1), ("shift_add", lambda b: b),
                                             ("ideal", lambda b: b + 1)])
def test_converter_cycles_and_energy_follow_its_bits(kind, cycles_of):
    """A bits sweep moves the MVM's cycles (BWMCS: bits + 1 per conversion, SAR: bits) and its energy per
    conversion (figure of merit x 2^bits); at 8 bits a BWMCS conversion is Wu et al.'s 39.15625 pJ."""
    conversions = {"bwmcs": 1, "shift_add": 8, "ideal": 1}[kind]  # 8-bit codes: 8 binary pulses
    seen = []
    for bits in (4, 6, 8, 10):
        r = run_asm(FULL_TILE_MVM, overrides={"tiles": {"physics": {"adc": {"kind": kind, "bits": bits}}}})
        mvm = _rows(r, "tile0", "mvm")
        assert int(mvm.cycles.sum()) == 8 * conversions * cycles_of(bits)
        conv = mvm[mvm.action == "adc_conversion"]
        assert int(conv["count"].sum()) == 64 * conversions
        assert float(conv.energy_pj.sum()) == pytest.approx(64 * conversions * r.cfg.energy.adc_fom_fj * 2 ** bits
                                                            / 1000, rel=1e-12)
        seen.append((int(mvm.cycles.sum()), float(conv.energy_pj.sum())))
    assert all(a[0] < b[0] and 3.9 < b[1] / a[1] < 4.1 for a, b in zip(seen, seen[1:]))
    if kind == "bwmcs":
        assert seen[2][1] / 64 == pytest.approx(39.15625, rel=1e-12)


def test_removed_converter_fields_say_where_the_cost_went(tmp_path):
    from socsim.base.configtools import ConfigError
    from socsim.config.soc import load_config
    for table, name in (("tiles", "adc_conversion_cycles"), ("energy", "adc_conversion_pj")):
        f = tmp_path / f"{name}.toml"
        f.write_text(f'base = "wu2023"\n[{table}]\n{name} = 9\n')
        with pytest.raises(ConfigError, match=rf"{table}\.{name}: no longer a field: .*adc"):
            load_config(str(f))


def test_mvm_counts_adc_inputs_over_range_per_conversion():
    """Counted in the ledger (priced zero): none at Wu's 70 uA full scale, every conversion at 5 uA (fresh devices
    at g_min = 8.2 uS read at 0.1 V: each bit line sees 64 x 8.2 uS x 0.1 V x 50 / 64 = 41 uA)."""
    strong = FULL_TILE_MVM.replace("= 1, 2, 3", "= " + ", ".join(["50"] * 64))
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
    # every priced row is count x the table price of its action (an ADC conversion: figure of merit x 2^bits);
    # leakage: cycles x the component's pJ per cycle
    price = {name[:-3]: value for name, value in vars(r.cfg.energy).items()}
    price["adc_conversion"] = r.cfg.energy.adc_fom_fj * 2 ** r.cfg.tiles.physics.adc.bits / 1000
    leak = leakage_pj_per_cycle(r.cfg)
    for _, row in rows[~rows.action.isin(COUNTERS)].iterrows():
        want = leak[row.component] if row.action == Action.LEAKAGE else price[row.action]
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
.sym keep sram 64*32
    tcfg 0, 0, 0, 64, 32, 8
    tcfg 1, 0, 0, 64, 32, 8
    wv 0, keep, keep
    wv 1, keep, keep
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
.sym keep sram 64*32
    tcfg 0, 0, 0, 64, 32, 8
    wv 0, keep, keep
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


def test_a_run_copies_only_the_outputs_asked_for():
    program = isa.assemble(open("programs/mlp_infer.s").read(), "mlp_infer.s")
    every = Soc.from_config(load_config("wu2023")).run(program)
    some = Soc.from_config(load_config("wu2023")).run(program, outputs=["pred"])
    assert set(every.outputs) == set(program.symbols) and list(some.outputs) == ["pred"]
    np.testing.assert_array_equal(some.outputs["pred"], every.outputs["pred"])
    assert some.cycles == every.cycles
    with pytest.raises(ValueError, match="outputs: no symbol 'nope' in the program"):
        Soc.from_config(load_config("wu2023")).run(program, outputs=["pred", "nope"])
