"""Input encoding, converters and the analog MVM pipeline against the pulse-by-pulse reference."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.physics.adc import adc_models, make_adc
from socsim.physics.dac import Dac
from socsim.physics.flat import flatten
from socsim.physics.mvm import ReadDraws, analog_mvm
from tests.physics import reference as ref
from tests.physics.conftest import make_params


def _draws(counter: int = 0, lanes: int = 1) -> ReadDraws:
    return ReadDraws(12345, np.arange(counter, counter + lanes, dtype=np.uint64))


def _mvm(x: np.ndarray, g: np.ndarray, var, dac: Dac, adc, in_bits: int, counter: int = 0, **kw) -> np.ndarray:
    """One read of ``x`` (B, n) through the lane pipeline (L = 1)."""
    return analog_mvm(x[None], g, var, dac, adc, in_bits, _draws(counter), np.zeros(1, np.int64), **kw)[0]


def _convert(adc, a: np.ndarray, var=None, counter: int = 0) -> tuple[np.ndarray, int]:
    sat = np.zeros(1, np.int64)
    v = None if var is None else var[None]
    return adc.convert(a[None], v, _draws(counter).seeds(1, 0), sat)[0], int(sat[0])


def _dac(levels: int = 2, mode: str = "twos_complement", draw: str = "read") -> Dac:
    p = make_params("rram_wv", {"dac": {"levels_per_pulse": levels, "signed_mode": mode},
                                "read": {"noise_draw": draw}})
    return Dac(flatten(p))


@pytest.mark.parametrize("draw", ["read", "pulse"])
@pytest.mark.parametrize("levels", [2, 4, 8], ids=lambda v: f"L={v}")
@pytest.mark.parametrize("in_bits", [1, 3, 8], ids=lambda v: f"bits={v}")
def test_pulse_train_reconstructs_clipped_codes(levels, in_bits, draw):
    dac = _dac(levels, draw=draw)
    tr = dac.train(in_bits)
    assert tr.n_pulses == -(-in_bits // (levels.bit_length() - 1))
    x = np.arange(-300, 300, dtype=np.float32)[None, None, :]
    codes, s = dac.quantize(x, in_bits)
    np.testing.assert_array_equal(codes, np.clip(x, -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1))
    d = dac.digits(codes, in_bits)[0]
    assert d.max() <= levels - 1 and (d.shape[0] == 1 or d[:-1].min() >= 0)
    np.testing.assert_allclose(tr.gain * np.tensordot(tr.weights, d, axes=1), codes[0])
    # the noise weight: shared by the pulses of a read, the weighted digits' sum squared; per pulse, the squares summed
    want = (np.tensordot(tr.weights ** 2, d ** 2, axes=1) if draw == "pulse"
            else np.tensordot(tr.weights, d, axes=1) ** 2)
    np.testing.assert_allclose(s[0], want, rtol=1e-6)


@pytest.mark.parametrize("draw", ["read", "pulse"])
def test_sign_magnitude_drives_the_magnitude_at_the_sign(draw):
    """Sign and magnitude: n - 1 magnitude pulses; -1 turns on one pulse (two's complement: all eight)."""
    sm, tc = _dac(2, "sign_magnitude", draw), _dac(2, "twos_complement", draw)
    assert sm.train(8).n_pulses == 7 and tc.train(8).n_pulses == 8
    x = np.array([[[-1.0, 1.0, -200.0, 5.0, 0.0]]], np.float32)
    codes, s = sm.quantize(x, 8)
    assert codes.tolist() == [[[-1.0, 1.0, -127.0, 5.0, 0.0]]]
    d = sm.digits(codes, 8)[0, :, 0]                       # (P, n)
    assert (d != 0).sum(axis=0).tolist() == [1, 1, 7, 2, 0]
    assert (np.sign(d) * np.sign(codes[0, 0])[None] >= 0).all()   # every pulse at the input's polarity
    tr = sm.train(8)
    np.testing.assert_allclose(tr.gain * np.tensordot(tr.weights, d, axes=1), codes[0, 0])
    d_tc = tc.digits(tc.quantize(x, 8)[0], 8)[0, :, 0]
    assert (d_tc[:, 0] != 0).sum() == 8                    # -1 in two's complement: every pulse on
    _, s_tc = tc.quantize(x, 8)
    var_sm, var_tc = s[0, 0, 0] * tr.gain ** 2, s_tc[0, 0, 0] * tc.train(8).gain ** 2   # in code units squared
    assert s[0, 0, 0] == s[0, 0, 1]                        # -1 and +1 alike
    if draw == "read":                                     # one fluctuation per read: the code times it, either way
        assert var_sm == var_tc == 1.0
    else:                                                  # per pulse: -1 sums the noise of all eight pulses
        assert var_sm == 1.0 and var_tc > 5000.0
    assert len(sm.phases(x, 8)) == 1                       # one train, no second phase


def test_bit_serial_uses_n_pulses_and_radix4_half():
    assert _dac(2).train(8).n_pulses == 8
    assert _dac(4).train(8).n_pulses == 4


def test_sign_split_is_symmetric_and_splits_phases():
    dac = _dac(2, "sign_split")
    assert dac.train(8).n_pulses == 7
    phases = dac.phases(np.array([[[-200.0, 3.0]], [[1.0, 2.0]]], np.float32), 8)
    assert [s for s, _, _ in phases] == [1.0, -1.0]
    assert phases[1][2].tolist() == [True, False]        # only the first lane drives a negative train
    codes, _ = dac.quantize(phases[1][1], 8)
    assert codes.tolist() == [[[127.0, 0.0]], [[0.0, 0.0]]]
    assert len(dac.phases(np.array([[[1.0, 2.0]]], np.float32), 8)) == 1


def test_analog_input_clips_at_full_scale():
    dac = _dac()
    codes, s = dac.quantize(np.array([[-3.0, 0.5, 2.0]], np.float32), 0)
    assert codes.tolist() == [[-1.0, 0.5, 1.0]] and s.tolist() == [[1.0, 0.25, 1.0]]


def test_adc_clips_and_quantises():
    adc = make_adc("bwmcs", 4, 0.0, 16.0, 0.0)
    a = np.array([[-5.0, 0.2, 0.6, 7.49, 15.2, 99.0]], np.float32)
    out, _ = _convert(adc, a)
    assert adc.lsb_ua == 1.0 and adc.limits() == (0.0, 15.0)
    assert out.tolist() == [[0.0, 0.0, 1.0, 7.0, 15.0, 15.0]]


def test_adc_counts_inputs_over_its_range():
    adc = make_adc("bwmcs", 4, 0.0, 16.0, 0.0)
    _, sat = _convert(adc, np.array([[-5.0, 0.2, 15.9, 16.0, 16.5, 99.0]], np.float32))
    assert sat == 2  # above hi = 16 uA; below lo clips too but is not counted
    assert _convert(adc, np.array([[20.0]], np.float32))[1] == 1
    bipolar = make_adc("shift_add", 4, -8.0, 8.0, 0.0)
    assert _convert(bipolar, np.array([[-9.0, -8.0, 0.0, 7.9, 9.0]], np.float32))[1] == 2  # both ends count
    ideal = make_adc("ideal", 4, 0.0, 16.0, 0.0)
    assert _convert(ideal, np.array([[1e6]], np.float32), np.ones((1, 1), np.float32))[1] == 0


def test_adc_noise_is_input_referred_lsb():
    adc = make_adc("shift_add", 8, -70.0, 70.0, 2.0)
    a = np.full((200, 100), 3.3, np.float32)
    out, _ = _convert(adc, a, counter=1)
    assert out.std() == pytest.approx(2.0 * adc.lsb_ua, rel=0.05)
    assert out.mean() == pytest.approx(3.3, abs=0.05)


def test_unknown_adc_lists_valid_names():
    with pytest.raises(ValueError, match=f"valid: {', '.join(adc_models())}$"):
        make_adc("flash", 8, 0, 1, 0)
    assert {"bwmcs", "ideal", "shift_add"} <= set(adc_models()) and adc_models() == sorted(adc_models())


@pytest.mark.parametrize("adc_kind", adc_models(), ids=lambda k: f"adc={k}")
@pytest.mark.parametrize("levels", [2, 4], ids=lambda v: f"L={v}")
def test_noiseless_mvm_matches_pulse_by_pulse_reference(adc_kind, levels):
    p = make_params("rram_wv", {"dac": {"levels_per_pulse": levels},
                                "adc": {"kind": adc_kind, "noise_lsb": 0.0, "i_min_ua": -40.0,
                                        "i_max_ua": 40.0}})
    f = flatten(p)
    rng = np.random.default_rng(7)
    g = rng.uniform(-20, 20, (32, 6)).astype(np.float32)
    x = rng.integers(-128, 128, (20, 32)).astype(np.float32)
    adc = make_adc(adc_kind, f.adc_bits, f.adc_lo, f.adc_hi, 0.0)
    got = _mvm(x, g, None, Dac(f), adc, 8)
    want = ref.mvm_ref(x, g, 8, levels, f.v_read, adc_kind, f.adc_bits, f.adc_lo, f.adc_hi)
    step = (f.adc_hi - f.adc_lo) / 2 ** f.adc_bits * 128 / (f.v_read / (levels - 1))
    if adc_kind == "ideal":
        np.testing.assert_allclose(got, x @ g, rtol=1e-4, atol=1e-2)
    else:  # float32 vs float64 sums may land on the neighbouring code now and then
        err = np.abs(got - want)
        assert np.mean(err < 1e-3 * step) > 0.97 and err.max() <= 8 * step


def test_summed_path_matches_per_pulse_path_statistically():
    """One matmul with summed variance == pulse-by-pulse currents with per-pulse noise."""
    p = make_params("rram_wv", {"adc": {"kind": "ideal", "noise_lsb": 0.0}})
    f = flatten(p)
    rng = np.random.default_rng(8)
    g = rng.uniform(7.6, 31.3, (64, 4)).astype(np.float32)
    x = np.tile(rng.integers(-128, 128, (1, 64)).astype(np.float32), (4000, 1))
    adc = make_adc("ideal", 8, 0, 1, 0)
    var = 0.5 ** 2
    fast = _mvm(x, g, var, Dac(f), adc, 8, counter=1)
    slow = _mvm(x, g, var, Dac(f), adc, 8, counter=2, exact_slices=True)
    exact = x[0] @ g
    # expected std: sqrt(sum_i s(x_i) var) * v_unit, back to code x uS units: * gain / v_unit
    tr = Dac(f).train(8)
    _, s = Dac(f).quantize(x[None, :1], 8)
    sd = np.sqrt(s.sum() * var) * tr.gain
    for y in (fast, slow):
        np.testing.assert_allclose(y.mean(axis=0), exact, atol=4 * sd / np.sqrt(4000))
        np.testing.assert_allclose(y.std(axis=0), sd, rtol=0.06)


def test_tia_limit_clips_each_pulse():
    p = make_params("rram_wv", {"adc": {"kind": "ideal", "noise_lsb": 0.0, "tia_max_ua": 1.0}})
    f = flatten(p)
    g = np.full((64, 1), 30.0, np.float32)
    x = np.full((1, 64), 127.0, np.float32)
    y = _mvm(x, g, None, Dac(f), make_adc("ideal", 8, 0, 1, 0), 8, tia_max_ua=1.0)
    tr = Dac(f).train(8)
    # every positive pulse clips to 1 uA; the top (sign) pulse is zero for positive codes
    assert y[0, 0] == pytest.approx(1.0 * tr.weights[:-1].sum() * tr.gain / tr.v_unit, rel=1e-5)
