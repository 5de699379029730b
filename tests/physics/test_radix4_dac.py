"""The multi-level radix-4 input encoding and the bit lines' own DAC (``dac_t``)."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.physics.adc import make_adc
from socsim.physics.dac import Dac, pulse_slots
from socsim.physics.flat import flatten
from socsim.physics.mvm import ReadDraws, analog_mvm
from tests.physics import reference as ref
from tests.physics.conftest import build, make_params

RADIX4 = {"encoding": "radix4"}


def _dac(per_pulse: int = 3, transposed: bool = True) -> Dac:
    p = make_params("rram_wv", {"dac_t": {**RADIX4, "radix4_exponents_per_pulse": per_pulse}})
    return Dac(flatten(p), transposed=transposed)


def _codes(n_exp: int) -> np.ndarray:
    mags = 4.0 ** np.arange(n_exp)
    return np.concatenate([-mags[::-1], [0.0], mags]).astype(np.float32)


@pytest.mark.parametrize("per_pulse", [1, 2, 3, 7], ids=lambda j: f"J={j}")
@pytest.mark.parametrize("in_bits", [2, 9, 14], ids=lambda b: f"bits={b}")
def test_radix4_codes_are_one_multilevel_digit_each(per_pulse, in_bits):
    dac = _dac(per_pulse)
    n_exp = in_bits // 2
    tr = dac.train(in_bits)
    assert tr.n_pulses == -(-n_exp // per_pulse) == pulse_slots(2, in_bits, per_pulse)
    codes = _codes(n_exp)[None, None, :]
    q, s = dac.quantize(codes, in_bits)
    np.testing.assert_array_equal(q, codes)
    d = dac.digits(q, in_bits)[0]                                       # (P, 1, n)
    assert (np.count_nonzero(d, axis=0) == (codes[0] != 0)).all()      # one nonzero digit per nonzero code
    assert np.abs(d).max() == tr.max_digit == 4 ** (per_pulse - 1)    # the top exponent of a pulse: full scale
    for k, c in enumerate(codes[0, 0]):
        assert d[:, 0, k].tolist() == ref.radix4_digits_ref(int(c), n_exp, per_pulse)
    np.testing.assert_allclose(tr.gain * np.tensordot(tr.weights, d, axes=1), codes[0])
    np.testing.assert_allclose(s[0], np.tensordot(tr.weights ** 2, d ** 2, axes=1), rtol=1e-6)


def test_a_code_that_is_not_a_power_of_four_is_refused():
    dac = _dac()
    for bad in (3.0, -8.0, 2.0, 4.0 ** 7):
        with pytest.raises(ValueError, match="radix-4 DAC: input code .* is not 0 or a signed power of 4 below 4"):
            dac.digits(np.array([[[1.0, bad]]], np.float32), 14)
    with pytest.raises(ValueError, match="not 0 or a signed power of 4"):
        dac.quantize_summed(np.array([[[5.0]]], np.float32), 14)


def test_the_word_lines_keep_their_own_dac():
    p = make_params("rram_wv", {"dac": {"levels_per_pulse": 32}, "dac_t": RADIX4})
    f = flatten(p)
    assert Dac(f).train(5).n_pulses == 1 and not Dac(f).radix4_exps
    assert Dac(f, transposed=True).train(14).n_pulses == 3


@pytest.mark.parametrize("per_pulse", [1, 3], ids=lambda j: f"J={j}")
def test_noiseless_radix4_mvm_matches_the_pulse_by_pulse_reference(per_pulse):
    p = make_params("rram_wv", {"dac_t": {**RADIX4, "radix4_exponents_per_pulse": per_pulse},
                                "adc": {"kind": "shift_add", "noise_lsb": 0.0, "i_min_ua": -40.0, "i_max_ua": 40.0}})
    f = flatten(p)
    rng = np.random.default_rng(3)
    g = rng.uniform(-2, 2, (24, 5)).astype(np.float32)
    x = (rng.choice([-1, 1], (10, 24)) * 4.0 ** rng.integers(0, 7, (10, 24))
         * (rng.random((10, 24)) < 0.7)).astype(np.float32)
    adc = make_adc("shift_add", f.adc_bits, f.adc_lo, f.adc_hi, 0.0)
    got = analog_mvm(x[None], g, None, Dac(f, transposed=True), adc, 14, ReadDraws(1, np.zeros(1, np.uint64)),
                     np.zeros(1, np.int64))[0]
    want = ref.radix4_mvm_ref(x, g, 7, per_pulse, f.v_read, f.adc_bits, f.adc_lo, f.adc_hi)
    v_unit = f.v_read / 4 ** (per_pulse - 1)
    top_lsb = (f.adc_hi - f.adc_lo) / 2 ** f.adc_bits / v_unit * 4 ** 6 / 4 ** (per_pulse - 1)
    err = np.abs(got - want)
    assert np.mean(err < 1e-3 * top_lsb) > 0.97 and err.max() <= 2 * top_lsb  # float32 vs float64: a neighbour code


@pytest.mark.parametrize("adc", ["shift_add", "bwmcs"])
def test_radix4_lanes_read_as_if_each_read_alone(adc):
    lanes, batch, rows, cols = 5, 3, 16, 8
    over = {"dac_t": RADIX4, "adc": {"kind": adc, "i_min_ua": -40.0, "i_max_ua": 40.0}}
    rng = np.random.default_rng(5)
    x = (rng.choice([-1, 1], (lanes, batch, cols)) * 4.0 ** rng.integers(0, 7, (lanes, batch, cols))).astype(
        np.float32)
    w = rng.uniform(-0.8, 0.8, (rows, cols)).astype(np.float32)
    t_s, counters = np.zeros(lanes), np.arange(lanes, dtype=np.uint64)
    together, alone = (build("sram_cd", over, rows=rows, cols=cols, seed=2) for _ in range(2))
    for xb in (together, alone):
        xb.load_weights(w, 0, 0, 0.0)
    y, sat = together.mvm_lanes(x, 0, 0, rows, 14, t_s, counters, True)
    for lane in range(lanes):
        y1, sat1 = alone.mvm_lanes(x[lane:lane + 1], 0, 0, rows, 14, t_s[lane:lane + 1], counters[lane:lane + 1],
                                   True)
        np.testing.assert_array_equal(y[lane], y1[0])
        assert sat[lane] == sat1[0]


def test_multilevel_radix4_errors_are_less_noisy_than_bit_serial_ones():
    """The mechanism Grimm, Lee, Verma (2024) rely on: the same radix-4 values through the same noisy ADC (1 LSB per
    conversion) lose less with 3 multi-level pulses (noise weighted 1, 4^-3, 4^-6) than with 14 one-bit pulses (noise
    weighted 2^-p, the top plane the sign's)."""
    rng = np.random.default_rng(11)
    rows, cols, batch = 64, 32, 400
    w = rng.uniform(-1, 1, (rows, cols)).astype(np.float32)
    mags = 4.0 ** rng.integers(0, 7, (batch, cols))
    x = (rng.choice([-1, 1], (batch, cols)) * mags * (rng.random((batch, cols)) < 0.6)).astype(np.float32)
    x[:, 0] = 4096.0                                       # GradScale puts each vector's largest error at the top
    rms = {}
    for name, dac_t in (("radix4", RADIX4), ("bit_serial", {"levels_per_pulse": 2})):
        base = {"sram": {"weight_bits": 4}, "dac_t": dac_t}
        noisy = build("sram_cd", base, {"adc": {"kind": "shift_add", "noise_lsb": 1.0, "pair_readout": "analog",
                                                "i_min_ua": -16.0, "i_max_ua": 16.0}}, rows=rows, cols=cols)
        noisy.load_weights(w, 0, 0, 0.0)
        exact = x @ noisy.read_weights(0, 0, rows, cols, 0.0).T
        rms[name] = float(np.sqrt(np.mean((noisy.mvm_t(x, 0, 0, rows, 14, 0.0) - exact) ** 2)))
    assert rms["radix4"] < 0.8 * rms["bit_serial"], rms


def test_the_bit_lines_take_the_word_lines_dac_keys_they_do_not_set():
    """Except the signed mode: the bit lines drive signed errors sign and magnitude unless dac_t says otherwise."""
    p = make_params("rram_wv", {"dac": {"signed_mode": "sign_split", "levels_per_pulse": 4, "analog_full_scale": 2.0}},
                    {"dac_t": {"levels_per_pulse": 2}})
    assert p.dac_t.signed_mode.name == "SIGN_MAGNITUDE" and p.dac_t.levels_per_pulse == 2
    assert p.dac.levels_per_pulse == 4 and p.dac_t.analog_full_scale == 2.0
    p = make_params("rram_wv", {"dac": {"signed_mode": "sign_split"}}, {"dac_t": {"signed_mode": "twos_complement"}})
    assert p.dac_t.signed_mode.name == "TWOS_COMPLEMENT"
    from socsim.config.soc import load_config
    mp = load_config("mp_onarray").tiles.physics              # one kind of driver, the errors' sign as polarity
    assert mp.dac.signed_mode.name == "SIGN_SPLIT" and mp.dac_t.signed_mode.name == "SIGN_MAGNITUDE"
    assert mp.dac_t.levels_per_pulse == mp.dac.levels_per_pulse
