"""PCM hybrid model: decomposition, programming noise, drift power law, 1/f read noise, refresh,
endurance (Joshi et al. 2020 statistical model)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.physics import reference as ref
from tests.physics.conftest import QUIET, build


def test_decomposition_reconstructs_weights():
    xb = build("pcm_hic", {"pcm": {"n_msb": 3}})
    w = np.linspace(-1, 1, 128, dtype=np.float32).reshape(16, 8)
    digits, resid = xb.decompose(w)
    assert set(np.unique(digits)) <= {-1, 0, 1}
    rebuilt = sum(digits[k] * 2 ** k * xb.unit for k in range(3)) + resid
    np.testing.assert_allclose(rebuilt, w, atol=1e-6)
    assert np.abs(resid).max() <= xb.unit + 1e-6


def test_lsb_pair_is_one_sided():
    xb = build("pcm_hic", QUIET)
    xb.load_weights(np.random.default_rng(0).uniform(-1, 1, (16, 8)).astype(np.float32), 0, 0, 0.0)
    lsb = xb.g[:, 0]
    assert np.all(np.minimum(lsb[0], lsb[1]) <= xb.f.pcm_g_reset + 1e-6)


def test_programming_noise_follows_sigma_prog():
    xb = build("pcm_hic", {"pcm": {"drift": False, "read_noise_scale": 0.0}}, rows=64, cols=64, seed=2)
    u = xb.unit
    w = np.full((64, 64), 0.5 * u, np.float32)           # residual +U/2 -> G+_L target g_max / 2
    xb.load_weights(w, 0, 0, 0.0)
    g = xb.g[0, 0]
    gt = 0.5 * xb.f.pcm_g_max
    assert g.mean() == pytest.approx(gt, abs=0.05)
    assert g.std() == pytest.approx(ref.pcm_sigma_prog_ref(gt, xb.f.pcm_g_max), rel=0.05)


def test_drift_follows_power_law():
    xb = build("pcm_hic", QUIET, {"pcm": {"drift": True}}, rows=32, cols=32)
    xb.load_weights(np.random.default_rng(1).uniform(-1, 1, (32, 32)).astype(np.float32), 0, 0, 10.0)
    g_prog = xb.g.astype(np.float64)
    t0 = xb.f.pcm_t0
    for t in (10.0, 100.0, 1e4, 1e6):
        g_t = xb.read_conductance(0, 0, 32, 32, t, np.uint64(t))
        want = g_prog * ((np.maximum(t - xb.t_prog, 0.0) + t0) / t0) ** (-xb.nu)
        np.testing.assert_allclose(g_t, want, rtol=1e-5)
    # log-log slope is -nu, and nu depends on the state as Joshi et al. fit it
    g1, g2 = xb.read_conductance(0, 0, 32, 32, 1e5, np.uint64(1)), xb.read_conductance(0, 0, 32, 32, 1e7, np.uint64(2))
    slope = np.log(g2 / g1) / np.log((1e7 - xb.t_prog + t0) / (1e5 - xb.t_prog + t0))
    np.testing.assert_allclose(slope, -xb.nu, atol=2e-3)
    on = xb.g > 0.5 * xb.f.pcm_g_max
    assert xb.nu[on].mean() < xb.nu[~on].mean()


def test_read_noise_follows_1_over_f_law():
    xb = build("pcm_hic", QUIET, {"pcm": {"read_noise_scale": 1.0, "drift": True}}, rows=8, cols=8, seed=4)
    xb.load_weights(np.full((8, 8), 0.9, np.float32), 0, 0, 0.0)
    t = 3600.0
    reads = np.stack([xb.read_conductance(0, 0, 8, 8, t, np.uint64(i)) for i in range(600)])
    j = (0, 1, 3, 5)                                         # G+ of the first binary slice, one cell
    gt, sd = ref.pcm_state_ref(float(xb.g[j]), float(xb.nu[j]), t, xb.f.pcm_t0, xb.f.pcm_t_read,
                               xb.f.pcm_g_max)
    assert sd > 0
    assert reads[(slice(None),) + j].std() == pytest.approx(sd, rel=0.1)


def test_refresh_carries_into_msb_and_keeps_the_weight():
    xb = build("pcm_hic", QUIET, rows=4, cols=4)
    xb.load_weights(np.zeros((4, 4), np.float32), 0, 0, 0.0)
    total_refreshed = 0
    for k in range(200):
        total_refreshed += xb.pulse(np.ones((4, 4), np.int32), 0, 0, float(k)).refreshed
    assert total_refreshed > 0
    w = xb.read_weights(0, 0, 4, 4, 300.0)
    digits, _ = xb.decompose(w)
    assert np.abs(digits).sum() > 0                          # carried into the binary slices
    assert np.all(xb.g[:, 0] <= xb.f.pcm_refresh * xb.f.pcm_g_max + 1.0)


def test_transfer_granularity_is_the_mean_set_increment_over_the_lsb_range():
    from socsim.physics.registry import pulse_step
    from tests.physics.conftest import make_params
    at_reset = pulse_step(make_params("pcm_hic", {"pcm": {"granularity": "at_reset"}}))
    assert at_reset == pytest.approx(0.25 * 0.75 / 25.0)  # U x set_step / g_max
    mean = pulse_step(make_params("pcm_hic", {"pcm": {"granularity": "mean", "refresh_fraction": 0.8}}))
    assert mean == pytest.approx(at_reset * (1 - 0.8 / 2))
    # eps is the weight change of one pulse on an LSB device at the middle of its range [0, refresh g_max]
    xb = build("pcm_hic", QUIET, {"pcm": {"granularity": "mean"}}, rows=2, cols=2)
    mid = 0.45 * xb.unit  # G+ = 0.45 g_max: the residual's device halfway to the refresh threshold of 0.9
    xb.load_weights(np.full((2, 2), mid, np.float32), 0, 0, 0.0)
    before = xb.read_weights(0, 0, 2, 2, 1.0)
    xb.pulse(np.ones((2, 2), np.int32), 0, 0, 1.0)
    moved = xb.read_weights(0, 0, 2, 2, 2.0) - before
    assert np.allclose(moved, pulse_step(make_params("pcm_hic", {"pcm": {"granularity": "mean"}})), rtol=1e-3)


def test_endurance_marks_worn_pcm_devices():
    xb = build("pcm_hic", {"device": {"endurance_pulses": 25}}, rows=4, cols=4)
    worn = 0
    for k in range(12):
        worn += xb.pulse(np.full((4, 4), 5 if k % 2 else -5, np.int32), 0, 0, float(k)).worn_out
    assert worn == xb.worn_out().sum() > 0
    assert np.all(xb.frozen[xb.worn_out()])
