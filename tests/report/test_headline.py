"""Headline numbers: MACs from the ledger agree with the geometry; TOPS/W of one MVM matches docs/energy.md."""

from __future__ import annotations

import math

import pytest

from socsim.report.devices import endurance, placed_masks
from socsim.report.headline import headline, program_in_bits, result_tile_macs, tile_mvm_energy_pj, tops_per_w
from tests.report.conftest import ENDURANCE_PULSES, run_program


def test_one_full_tile_mvm_is_2048_macs_at_1_54_tops_per_w():
    r = run_program("tile_mvm.s")
    assert program_in_bits(r.program) == 8
    assert result_tile_macs(r) == 64 * 32
    assert tile_mvm_energy_pj(r.ledger) == pytest.approx(2660.0)  # docs/energy.md: 2.66 nJ per 64x64 MVM
    assert tops_per_w(2 * 64 * 32, 2660.0) == pytest.approx(1.54, abs=0.01)  # Wu et al.'s 3.08 per device column


def test_inference_macs_follow_the_layer_shapes(infer_result):
    batch = infer_result.outputs["pred"].size
    assert result_tile_macs(infer_result) == batch * (64 * 32 + 32 * 10)


def test_run_headline(run):
    h = headline(run)
    m = run.metrics
    assert h.final_accuracy == m["test_accuracy"].iloc[-1]
    assert h.baseline_accuracy == m["baseline_accuracy"].iloc[-1]
    assert h.energy_per_image_pj == pytest.approx(m["train_energy_pj"].sum() / m["train_images"].sum())
    assert h.latency_per_image_s == pytest.approx(m["train_s"].sum() / m["train_images"].sum())
    assert h.geometry_macs_per_image == 64 * 32 + 32 * 10
    assert h.forward_macs_per_image == pytest.approx(h.geometry_macs_per_image)
    assert h.total_energy_pj == pytest.approx(h.train_energy_pj + h.eval_energy_pj)
    assert 0 < h.tops_per_w_system < h.tops_per_w_tile < 3.08


def test_endurance_counts_placed_devices(run):
    masks = placed_masks(run)
    assert {t: int(m.sum()) for t, m in masks.items()} == {0: 64 * 32, 1: 32 * 10}
    e = endurance(run, masks)
    assert e.devices == 2 * (64 * 32 + 32 * 10)  # G+ and G- of every placed weight
    assert e.endurance_pulses == ENDURANCE_PULSES
    assert e.max_writes > 0 and e.training_writes_max > 0
    assert e.margin == pytest.approx(ENDURANCE_PULSES / e.max_writes)
    assert math.isfinite(e.epochs_to_limit)


def test_tile_macs_count_one_per_weight_and_input_whatever_the_pulses_and_slices():
    """pcm_hic (3 pairs per weight), radix4_digits and radix4 (multi-level pulses) do the 64 x 32 MACs of one
    vector like wu2023; the formula of older ledgers (array_cell / (bits x 2)) would count 3x, 1/2 and 3/4."""
    from tests.helpers import run_asm
    program = (".sym w sram 64*32 uniform -1.0 1.0 1\n.sym mask sram 64*32 = 1.0\n.sym x tb0 64 = 1, 2, 3\n"
               ".sym y tb0 32\n    tcfg 0, 0, 0, 64, 32, 8\n    wv 0, w, mask\n    mvm 0, y, x, 1\n    halt\n")
    for preset in ("wu2023", "pcm_hic", "radix4_digits", "radix4"):
        assert result_tile_macs(run_asm(program, preset)) == 64 * 32, preset
