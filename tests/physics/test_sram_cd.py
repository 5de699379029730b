"""The charge-domain SRAM array (``sram_cd``): exact signed integer weights on bit-cell columns, SRAM writes."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.config.soc import load_config
from socsim.physics.registry import pulse_step, slices, weight_level
from tests.physics.conftest import QUIET, build, make_params

ROWS, COLS = 16, 8


def _w(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.2, 1.2, (ROWS, COLS)).astype(np.float32)


def test_weights_are_rounded_clipped_integer_codes_on_bit_slices():
    xb = build("sram_cd", rows=ROWS, cols=COLS)
    w = _w()
    rep = xb.load_weights(w, 0, 0, 0.0)
    q = np.clip(np.round(w * 7), -7, 7)                                # 4 bits: codes -7 .. 7, w_max = 1
    np.testing.assert_array_equal(xb.stored_codes(0, 0, ROWS, COLS), q)
    np.testing.assert_allclose(xb.read_weights(0, 0, ROWS, COLS, 0.0), q / 7, rtol=0, atol=1e-6)  # slice sums
    assert xb.g.shape == (2, 3, ROWS, COLS) and set(np.unique(xb.g)) <= {0.0, 1.0}
    bits = sum(bin(int(abs(v))).count("1") for v in q.ravel())
    assert (rep.set_pulses, rep.reset_pulses, rep.verify_reads, rep.cells) == (bits, 0, 0, ROWS * COLS)
    assert xb.writes.sum() == bits                                     # one counted write per cell flipped


def test_a_rewrite_flips_only_the_cells_whose_bit_changes():
    xb = build("sram_cd", rows=ROWS, cols=COLS)
    xb.load_weights(np.full((ROWS, COLS), 3 / 7, np.float32), 0, 0, 0.0)          # code 3 = bits 011
    mask = np.zeros((ROWS, COLS), bool)
    mask[0, 0] = mask[1, 1] = True
    target = np.full((ROWS, COLS), 5 / 7, np.float32)                              # code 5 = bits 101
    target[1, 1] = -3 / 7                                                           # the sign pair swaps
    rep = xb.write_verify(target, mask, 0, 0, 1.0)
    assert (rep.set_pulses, rep.reset_pulses) == (1 + 2, 1 + 2)
    assert xb.stored_codes(0, 0, 2, 2).tolist() == [[5, 3], [3, -3]]


def test_pulses_move_codes_exactly():
    xb = build("sram_cd", rows=ROWS, cols=COLS)
    xb.load_weights(np.zeros((ROWS, COLS), np.float32), 0, 0, 0.0)
    xb.pulse(np.full((4, 3), 2, np.int32), 1, 1, 1.0)
    xb.pulse(np.full((4, 3), -5, np.int32), 1, 1, 2.0)
    assert (xb.stored_codes(1, 1, 4, 3) == -3).all() and (xb.stored_codes(0, 0, 1, COLS) == 0).all()


def test_stuck_cells_keep_their_value_and_count_as_failed():
    xb = build("sram_cd", {"device": {"stuck_fraction": 0.3}}, rows=ROWS, cols=COLS, seed=4)
    frozen, before = xb.frozen.copy(), xb.g.copy()
    rep = xb.load_weights(_w(1), 0, 0, 0.0)
    np.testing.assert_array_equal(xb.g[frozen], before[frozen])
    assert rep.failed > 0


def test_reads_have_no_device_noise_only_the_converters():
    quiet = build("sram_cd", {"read": {"noise_levels": 5.0}, "adc": {"kind": "ideal"}}, rows=ROWS, cols=COLS)
    quiet.load_weights(_w(), 0, 0, 0.0)
    x = np.random.default_rng(2).integers(-15, 16, (6, ROWS)).astype(np.float32)
    np.testing.assert_allclose(quiet.mvm(x, 0, 0, COLS, 5, 0.0), x @ quiet.read_weights(0, 0, ROWS, COLS, 0.0),
                               rtol=1e-5, atol=1e-4)
    noisy = build("sram_cd", {"adc": {"kind": "shift_add", "noise_lsb": 1.0, "pair_readout": "analog",
                                      "i_min_ua": -16.0, "i_max_ua": 16.0}}, rows=ROWS, cols=COLS)
    noisy.load_weights(_w(), 0, 0, 0.0)
    assert not np.array_equal(noisy.mvm(x, 0, 0, COLS, 5, 0.0), noisy.mvm(x, 0, 0, COLS, 5, 0.0))


def test_geometry_and_transfer_quanta_follow_the_weight_bits():
    p = make_params("sram_cd", {"sram": {"weight_bits": 6}})
    assert slices(p) == 5 and weight_level(p) == pulse_step(p) == pytest.approx(1 / 31)
    cfg = load_config("radix4")
    assert cfg.tiles.devices_per_weight == 6 and cfg.tiles.weight_cols == 32


def test_quiet_reads_equal_the_weights_with_fine_codes():
    xb = build("sram_cd", QUIET, {"sram": {"weight_bits": 9}}, rows=ROWS, cols=COLS)
    w = _w(3) / 1.5
    xb.load_weights(w, 0, 0, 0.0)
    np.testing.assert_allclose(xb.read_weights(0, 0, ROWS, COLS, 0.0), w, atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("noise_t, forward_noisy, transposed_noisy", [(-1.0, True, True), (0.0, True, False)])
def test_transposed_reads_take_their_own_converter_noise(noise_t, forward_noisy, transposed_noisy):
    adc = {"kind": "shift_add", "noise_lsb": 1.0, "noise_t_lsb": noise_t, "pair_readout": "analog",
           "i_min_ua": -16.0, "i_max_ua": 16.0}
    xb = build("sram_cd", {"adc": adc}, rows=ROWS, cols=COLS)
    xb.load_weights(_w(), 0, 0, 0.0)
    x = np.random.default_rng(2).integers(-15, 16, (6, ROWS)).astype(np.float32)
    e = np.random.default_rng(3).integers(-15, 16, (6, COLS)).astype(np.float32)
    assert (not np.array_equal(xb.mvm(x, 0, 0, COLS, 5, 0.0), xb.mvm(x, 0, 0, COLS, 5, 0.0))) is forward_noisy
    assert (not np.array_equal(xb.mvm_t(e, 0, 0, ROWS, 5, 0.0), xb.mvm_t(e, 0, 0, ROWS, 5, 0.0))) is transposed_noisy
    quiet = build("sram_cd", {"adc": {**adc, "noise_lsb": 0.0, "noise_t_lsb": 1.0}}, rows=ROWS, cols=COLS)
    quiet.load_weights(_w(), 0, 0, 0.0)
    assert np.array_equal(quiet.mvm(x, 0, 0, COLS, 5, 0.0), quiet.mvm(x, 0, 0, COLS, 5, 0.0))
    assert not np.array_equal(quiet.mvm_t(e, 0, 0, ROWS, 5, 0.0), quiet.mvm_t(e, 0, 0, ROWS, 5, 0.0))
