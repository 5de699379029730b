"""Contract tests run on every registered array model (ids model=<name>)."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.physics import PhysicsParams, ProgramReport, crossbar_models, make_crossbar
from tests.physics.conftest import QUIET, build

ROWS, COLS = 16, 8


def _weights(seed: int = 0, scale: float = 0.8) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-scale, scale, (ROWS, COLS)).astype(np.float32)


def _codes(seed: int = 1, batch: int = 5, n: int = ROWS) -> np.ndarray:
    return np.random.default_rng(seed).integers(-100, 100, (batch, n)).astype(np.float32)


def _session(xb) -> list[np.ndarray]:
    """A fixed sequence of every contract method; returns everything observable."""
    out = []
    rep = xb.load_weights(_weights(), 0, 0, 0.0)
    out.append(np.array([getattr(rep, k) for k in rep.__dataclass_fields__]))
    out.append(xb.mvm(_codes(), 0, 0, COLS, 8, 1.0))
    out.append(xb.mvm_t(_codes(n=COLS), 0, 0, ROWS, 8, 1.0))
    n = np.random.default_rng(2).integers(-3, 4, (4, 3)).astype(np.int32)
    rep = xb.pulse(n, 2, 1, 2.0)
    out.append(np.array([getattr(rep, k) for k in rep.__dataclass_fields__]))
    mask = np.random.default_rng(3).random((ROWS, COLS)) < 0.3
    rep = xb.write_verify(_weights(4), mask, 0, 0, 3.0)
    out.append(np.array([getattr(rep, k) for k in rep.__dataclass_fields__]))
    out.append(xb.read_weights(0, 0, ROWS, COLS, 100.0))
    out.append(xb.mvm(_codes(5), 0, 0, COLS, 0, 100.0))
    return out


def test_same_seed_is_bit_identical(model):
    a = _session(build(model, rows=ROWS, cols=COLS, seed=11))
    b = _session(build(model, rows=ROWS, cols=COLS, seed=11))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_quiet_model_reads_back_its_weights(model):
    # the finest weights each model offers: continuous devices, or 9-bit codes on the SRAM model
    xb = build(model, QUIET, {"device": {"levels": 0}, "sram": {"weight_bits": 9}}, rows=ROWS, cols=COLS)
    w = _weights()
    xb.load_weights(w, 0, 0, 0.0)
    np.testing.assert_allclose(xb.read_weights(0, 0, ROWS, COLS, 0.0), w, atol=0.02)


def test_quiet_mvm_is_x_times_read_weights(model):
    xb = build(model, QUIET, rows=ROWS, cols=COLS)
    xb.load_weights(_weights(), 0, 0, 0.0)
    w = xb.read_weights(0, 0, ROWS, COLS, 0.0)
    x = _codes(batch=9)
    np.testing.assert_allclose(xb.mvm(x, 0, 0, COLS, 8, 0.0), x @ w, rtol=1e-4, atol=1e-3)
    xt = _codes(batch=9, n=COLS)
    np.testing.assert_allclose(xb.mvm_t(xt, 0, 0, ROWS, 8, 0.0), xt @ w.T, rtol=1e-4, atol=1e-3)
    # a sub-block
    sub = xb.mvm(x[:, 3:9], 3, 2, 4, 8, 0.0)
    np.testing.assert_allclose(sub, x[:, 3:9] @ w[3:9, 2:6], rtol=1e-4, atol=1e-3)


def test_default_model_is_ideal_and_exact():
    p = PhysicsParams()
    assert p.model == "ideal"
    xb = make_crossbar(ROWS, COLS, p, 0)
    w = _weights()
    xb.load_weights(w, 0, 0, 0.0)
    x = _codes()
    np.testing.assert_array_equal(xb.mvm(x, 0, 0, COLS, 8, 0.0), x @ w)


def test_positive_pulses_raise_weights(model):
    xb = build(model, rows=ROWS, cols=COLS)
    xb.load_weights(np.zeros((ROWS, COLS), np.float32), 0, 0, 0.0)
    before = xb.read_weights(0, 0, ROWS, COLS, 1.0)
    rep = xb.pulse(np.full((ROWS, COLS), 3, np.int32), 0, 0, 1.0)
    after = xb.read_weights(0, 0, ROWS, COLS, 1.0)
    assert (after - before).mean() > 0
    assert rep.cells == ROWS * COLS and rep.set_pulses > 0 and rep.pulse_rounds >= 1
    rep = xb.pulse(np.full((ROWS, COLS), -3, np.int32), 0, 0, 2.0)
    assert (xb.read_weights(0, 0, ROWS, COLS, 2.0) - after).mean() < 0


def test_program_report_counts_are_consistent(model):
    xb = build(model, rows=ROWS, cols=COLS)
    mask = np.zeros((ROWS, COLS), bool)
    mask[::2, ::3] = True
    rep = xb.write_verify(_weights(), mask, 0, 0, 0.0)
    assert isinstance(rep, ProgramReport)
    assert rep.cells == mask.sum()
    assert rep.pulse_rounds <= rep.set_pulses + rep.reset_pulses
    assert min(rep.set_pulses, rep.reset_pulses, rep.verify_reads, rep.worn_out, rep.failed) >= 0
    total = rep + rep
    assert total.cells == 2 * rep.cells and total.verify_reads == 2 * rep.verify_reads
    empty = xb.write_verify(_weights(), np.zeros((ROWS, COLS), bool), 0, 0, 1.0)
    assert empty.set_pulses == empty.reset_pulses == empty.pulse_rounds == 0


def test_out_of_range_block_is_an_error(model):
    xb = build(model, rows=ROWS, cols=COLS)
    with pytest.raises(IndexError, match="outside the 16x8 array"):
        xb.mvm(_codes(n=4), ROWS - 2, 0, COLS, 8, 0.0)


def test_every_model_is_registered_once():
    assert crossbar_models() == sorted(set(crossbar_models()))
    assert {"ideal", "rram_wv", "rram_pulse", "pcm_hic", "sram_cd"} <= set(crossbar_models())
    with pytest.raises(ValueError, match="valid models: "):
        PhysicsParams(model="mram")


READ_VARIANTS = {
    "as fitted": {},
    "per-pulse currents": {"read": {"exact_slices": True}},
    "shift-and-add ADC": {"adc": {"kind": "shift_add"}},
    "sign-split inputs": {"dac": {"signed_mode": "sign_split"}},
    "TIA clips pulses": {"adc": {"tia_max_ua": 2.0}},
    "radix-4 pulses": {"dac": {"levels_per_pulse": 4}},
    "analog pair readout": {"adc": {"pair_readout": "analog", "i_min_ua": -35.0, "i_max_ua": 35.0}},
}


@pytest.mark.parametrize("variant", list(READ_VARIANTS), ids=lambda v: f"read={v.replace(' ', '-')}")
def test_lanes_read_as_if_each_read_alone(model, variant):
    """L reads evaluated together (the fast engine) equal the same reads one at a time, bit for bit:
    outputs and ADC saturation, forward and transposed, with per-lane times and read numbers."""
    if model == "ideal" and variant != "as fitted":
        pytest.skip("the ideal model has no read path to vary")
    over = READ_VARIANTS[variant]
    lanes, batch = 6, 3
    x = np.random.default_rng(9).integers(-128, 128, (lanes, batch, ROWS)).astype(np.float32)
    x[2] = np.abs(x[2])                                            # a lane without negative inputs
    xt = np.random.default_rng(10).integers(-128, 128, (lanes, batch, COLS)).astype(np.float32)
    t_s = np.linspace(10.0, 500.0, lanes)
    counters = np.arange(40, 40 + lanes, dtype=np.uint64)
    together = build(model, over, rows=ROWS, cols=COLS, seed=3)
    alone = build(model, over, rows=ROWS, cols=COLS, seed=3)
    for xb in (together, alone):
        xb.load_weights(_weights(), 0, 0, 0.0)
    for inputs, n_out, transposed in ((x, COLS, False), (xt, ROWS, True)):
        y, sat = together.mvm_lanes(inputs, 0, 0, n_out, 8, t_s, counters, transposed)
        for lane in range(lanes):
            y1, sat1 = alone.mvm_lanes(inputs[lane:lane + 1], 0, 0, n_out, 8, t_s[lane:lane + 1],
                                       counters[lane:lane + 1], transposed)
            np.testing.assert_array_equal(y[lane], y1[0])
            assert sat[lane] == sat1[0]
