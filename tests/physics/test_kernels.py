"""Each Numba kernel against its slow numpy twin in reference.py (same random draws)."""

from __future__ import annotations

import numpy as np
import pytest

from socsim.physics.dac import IntegerTable
from socsim.physics.draws import Site, draw_seeds, seeds_reference
from socsim.physics.kernels import pcm_kernels as pk
from socsim.physics.kernels.io_kernels import (
    extract_digits,
    noisy_convert,
    quantize_codes,
    quantize_rows,
    quantize_rows_exact,
    signed_part,
)
from socsim.physics.kernels.normal import fill_normals, normal_at, ziggurat_tables
from socsim.physics.kernels.program_kernels import pulse_steps, write_verify
from tests.physics import reference as ref


@pytest.mark.parametrize("bits_per_pulse", [1, 2, 3], ids=lambda m: f"m={m}")
@pytest.mark.parametrize("signed", [True, False], ids=["twos", "unsigned"])
def test_extract_digits_matches_reference(bits_per_pulse, signed):
    n_bits = 7
    n_p = -(-n_bits // bits_per_pulse)
    codes = (np.arange(-64, 64) if signed else np.arange(0, 128)).astype(np.float32)[None, :]
    out = np.empty((n_p,) + codes.shape, np.float32)
    extract_digits(codes, n_p, bits_per_pulse, signed, out)
    for i, c in enumerate(codes[0]):
        assert list(out[:, 0, i]) == ref.digits_ref(int(c), n_p, bits_per_pulse, signed)
        radix = 2 ** bits_per_pulse
        assert sum(d * radix ** p for p, d in enumerate(out[:, 0, i])) == c


def test_quantize_codes_clips_rounds_and_looks_up():
    x = np.array([[-300.0, -128.4, -0.4, 0.6, 126.6, 500.0]], np.float32)
    table = np.arange(256, dtype=np.float32)
    codes = np.empty_like(x)
    s = np.empty_like(x)
    quantize_codes(x, -128, 127, table, codes, s)
    assert codes.tolist() == [[-128, -128, 0, 1, 127, 127]]
    assert s.tolist() == [[0, 0, 128, 129, 255, 255]]


def test_noisy_convert_matches_reference():
    rng = np.random.default_rng(1)
    a = rng.uniform(-20, 90, (50, 7)).astype(np.float32)
    z = np.empty(a.shape)
    fill_normals(np.uint64(99), z)                           # the same counter-based normals
    var = rng.uniform(0, 2, (50, 1)).astype(np.float32)
    lo, hi, bits = 0.0, 70.0, 8
    lsb = (hi - lo) / 2 ** bits
    out = np.empty_like(a)
    sat = np.zeros(1, np.int64)
    noisy_convert(a, np.array([99], np.uint64), 50, True, var, 0.3, lo, hi, lsb, 2 ** bits - 1, 1.0, 1.0, out, sat)
    want = np.array([[ref.convert_ref(float(a[b, k]), float(z[b, k]), float(var[b, 0]), 0.3, lo, hi, lsb,
                                      2 ** bits - 1) for k in range(7)] for b in range(50)])
    close = np.isclose(out, want, atol=1e-4)
    # float32 against float64: a value on a code boundary may round to the neighbouring code
    assert close.mean() > 0.99 and np.all(np.abs(out - want) <= lsb + 1e-4)
    assert out.min() >= lo and out.max() <= hi - lsb + 1e-4


def test_write_verify_kernel_matches_reference_exactly():
    rng = np.random.default_rng(2)
    n, trials = 400, 3
    g = rng.uniform(5, 35, n).astype(np.float32)
    target = rng.uniform(7.6, 31.3, n).astype(np.float32)
    frozen = rng.random(n) < 0.05
    z = rng.standard_normal((n, trials + 1, 3)).astype(np.float32)
    args = (0.47, 0.79, 1.58, 16, 1.58, trials, 5.2, 33.7)
    outs = [np.zeros(n, np.int64) for _ in range(4)]
    g_k = g.copy()
    write_verify(g_k, target, frozen, z, *args, *outs)
    g_r, *counts = ref.write_verify_ref(g, target, frozen, z, *args)
    np.testing.assert_array_equal(g_k, np.array(g_r, np.float32))
    for got, want in zip(outs, counts):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("exp_model", [True, False], ids=["exponential", "soft_bounds"])
def test_pulse_steps_kernel_matches_reference(exp_model):
    rng = np.random.default_rng(3)
    n = 60
    g = rng.uniform(8, 30, n)
    counts = rng.integers(-12, 13, n)
    frozen = rng.random(n) < 0.1
    scale = rng.uniform(0.8, 1.2, n)
    top = rng.uniform(29, 33, n)
    offsets = np.concatenate([[0], np.cumsum(np.abs(counts))[:-1]]).astype(np.int64)
    z = rng.standard_normal(int(np.abs(counts).sum()))
    args = (exp_model, 7.6, 100, 2.0, 4.0, 1.5, 0.1)
    g_k = g.copy()
    pulse_steps(g_k, counts, frozen, scale, top, z, offsets, *args)
    g_r = ref.pulse_steps_ref(g, counts, frozen, scale, top, z, offsets, *args)
    np.testing.assert_allclose(g_k, g_r, rtol=1e-9)


def test_pcm_formulas_match_reference():
    g = np.array([0.0, 0.05, 1.0, 5.0, 12.5, 25.0, 30.0])
    for gi in g:
        assert pk.sigma_prog(gi, 25.0) == pytest.approx(ref.pcm_sigma_prog_ref(gi, 25.0), rel=1e-12)
        for zi in (-1.0, 0.0, 2.0):
            assert pk.drift_nu(gi, 25.0, zi) == pytest.approx(ref.pcm_nu_ref(gi, 25.0, zi), rel=1e-12)
    rng = np.random.default_rng(4)
    gp = rng.uniform(0.1, 25, 200)
    nu = rng.uniform(0.0, 0.1, 200)
    tp = rng.uniform(0, 100, 200)
    out_g = np.empty(200, np.float32)
    out_v = np.empty(200, np.float32)
    pk.conductance_at(gp, nu, tp, 150.0, 20.0, 250e-9, 1.0, 25.0, True, out_g, out_v)
    for j in range(200):
        gt, sd = ref.pcm_state_ref(gp[j], nu[j], 150.0 - tp[j], 20.0, 250e-9, 25.0)
        assert out_g[j] == pytest.approx(gt, rel=1e-6)
        assert out_v[j] == pytest.approx(sd ** 2, rel=1e-5)


def test_gradual_set_matches_reference():
    rng = np.random.default_rng(5)
    g = rng.uniform(0, 25, 40)
    counts = rng.integers(0, 20, 40)
    frozen = np.zeros(40, bool)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    z = rng.standard_normal(int(counts.sum()))
    for nl in (1.0, 0.4, 0.0):
        g_k = g.copy()
        pk.gradual_set(g_k, counts, frozen, z, offsets, 0.75, 0.5, 25.0, nl)
        for j in range(40):
            gj = g[j]
            for p in range(counts[j]):
                gj = min(max(gj + 0.75 * (1 - nl * gj / 25.0) * (1 + 0.5 * z[offsets[j] + p]), 0.0), 25.0)
            assert g_k[j] == pytest.approx(gj, rel=1e-12)


def test_counter_based_normals_are_standard_normal_and_reproducible():
    z = np.empty(400_000)
    fill_normals(np.uint64(5), z)
    again = np.empty(1000)
    fill_normals(np.uint64(5), again)
    np.testing.assert_array_equal(z[:1000], again)               # element j depends on (seed, j) only
    assert abs(z.mean()) < 0.006 and z.std() == pytest.approx(1.0, abs=0.004)
    assert ((z - z.mean()) ** 4).mean() / z.var() ** 2 == pytest.approx(3.0, abs=0.05)
    for q, cdf in [(-2.0, 0.0227501), (-1.0, 0.1586553), (0.5, 0.6914625), (3.0, 0.9986501)]:
        assert (z < q).mean() == pytest.approx(cdf, abs=0.0025)
    assert (np.abs(z) > 3.4426).mean() == pytest.approx(5.76e-4, rel=0.2)  # the ziggurat tail branch
    other = np.empty(1000)
    fill_normals(np.uint64(6), other)
    assert abs(np.corrcoef(other, z[:1000])[0, 1]) < 0.1


def test_fill_normals_equals_each_number_drawn_alone():
    """The batched ziggurat (first trials branch-free, rejected ones retried after) gives number j of the stream."""
    z = np.empty(20_000)
    fill_normals(np.uint64(11), z)
    kn, wn, fn = ziggurat_tables()
    alone = np.array([normal_at(np.uint64(11), np.uint64(j), kn, wn, fn) for j in range(z.size)])
    np.testing.assert_array_equal(z, alone)
    assert np.count_nonzero(np.abs(z) > 3.4426) > 0                      # the tail's retries are among them


def test_draw_seeds_kernel_matches_numpy_twin():
    counters = np.array([0, 1, 7, 2 ** 40, 2 ** 64 - 1], np.uint64)
    for key in (0, 12345, 2 ** 63 + 17, 2 ** 64 - 1):
        for site in Site:
            for phase in (0, 1):
                np.testing.assert_array_equal(draw_seeds(key, site, counters, phase),
                                              seeds_reference(key, site, counters, phase))


def test_integer_row_sums_equal_float_row_sums():
    rng = np.random.default_rng(3)
    table = ((np.arange(-128, 128, dtype=np.float32) / 128) ** 2).astype(np.float32)
    exact = IntegerTable.of(table)
    assert exact is not None and np.array_equal(exact.values * exact.scale, table)
    x = rng.uniform(-140, 140, (300, 97)).astype(np.float32)
    codes, sums = np.empty_like(x), np.empty(300, np.float32)
    codes2, sums2 = np.empty_like(x), np.empty(300, np.float32)
    quantize_rows(x, -128, 127, table, codes, sums)
    quantize_rows_exact(x, -128, 127, exact.values, exact.scale, codes2, sums2)
    np.testing.assert_array_equal(codes, codes2)
    np.testing.assert_array_equal(sums, sums2)
    assert IntegerTable.of(np.array([1e-30, 1e30], np.float32)) is None     # too wide for one int64 scale


def test_signed_part_is_numpy_maximum_and_flags_lanes():
    x = np.array([[1.5, -2.0, 0.0, -0.0, np.nan], [3.0, 0.0, 2.0, 1.0, 0.5]], np.float32)
    for negate in (False, True):
        out, flags = np.empty_like(x), np.empty(2, bool)
        signed_part(x, negate, out, flags)
        want = np.maximum(-x if negate else x, 0.0)
        np.testing.assert_array_equal(out, want)                    # NaN where numpy has NaN, zeros equal
        assert flags.tolist() == list(((-x if negate else x) < 0).any(axis=1))
