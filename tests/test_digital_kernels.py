"""The digital unit's kernels give the numbers of the numpy expressions they replaced, element by element."""

from __future__ import annotations

import math

import numpy as np
import pytest

from socsim.sim.ops.digital import quantize_by
from socsim.sim.ops.histogram import bin_index

F32 = np.float32


def _numpy_quantize(x: np.ndarray, scale, bits: int) -> np.ndarray:
    y = x / scale
    if bits:
        top = F32(2 ** (bits - 1) - 1)
        y = np.clip(np.rint(y), -top, top)
    return y


def _numpy_bins(x: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    mag = np.abs(x.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.floor(bins * np.log(mag / lo) / math.log(hi / lo))
    return np.clip(np.nan_to_num(b, nan=bins - 1, neginf=0, posinf=bins - 1), 0, bins - 1).astype(np.int64)


def _awkward(rng: np.random.Generator, lanes: int, n: int) -> np.ndarray:
    """Values with halves (ties at scale 1), signed zeros, NaN, +-inf, huge ones and a denormal."""
    x = (rng.standard_normal((lanes, n)) * 40).astype(F32)
    x[:, :40] = (np.arange(40, dtype=F32) - 20) + F32(0.5)         # halves: ties to round at scale 1
    x[:, 40:48] = [0.0, -0.0, np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-45]
    return x


@pytest.mark.parametrize("bits", [0, 1, 2, 4, 8])
def test_quantize_lanes_equals_the_numpy_expression(bits: int) -> None:
    rng = np.random.default_rng(bits)
    x = _awkward(rng, 5, 301)
    scales = np.array([[1.0], [0.5], [0.25], [0.37], [7.3e-3]], F32)
    for scale in (scales, F32(0.37)):
        with np.errstate(all="ignore"):
            want = _numpy_quantize(x, scale, bits)
        got = quantize_by(x, scale, bits)
        assert got.dtype == F32
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))  # the same bits, -0.0 and NaN too
    view = x[:, 7:200:3]                                                          # a strided operand
    with np.errstate(all="ignore"):
        want = _numpy_quantize(view, scales, bits)
    np.testing.assert_array_equal(quantize_by(view, scales, bits), want)


def test_quantize_by_refuses_what_it_cannot_take() -> None:
    with pytest.raises(TypeError, match="float32"):
        quantize_by(np.zeros((2, 3)), F32(1), 8)


def test_bin_index_equals_the_numpy_expression() -> None:
    rng = np.random.default_rng(7)
    x = _awkward(rng, 3, 4000)
    x[1] = np.exp(rng.uniform(-3, 8, 4000)).astype(F32)            # spread over the bins
    for bins, lo, hi in ((64, 1.0, 256.0), (100, 1e-3, 1e3), (7, 0.5, 0.75)):
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(bin_index(x, bins, lo, hi), _numpy_bins(x, bins, lo, hi))


def test_vhist_counts_each_lane_alone() -> None:
    from socsim.sim.ops.digital_kernels import log_bin_counts
    rng = np.random.default_rng(3)
    x = _awkward(rng, 4, 999)
    counts = np.zeros((4, 32), np.int64)
    log_bin_counts(x[:, ::2], 32, 0.01, math.log(100.0 / 0.01), counts)
    for lane in range(4):
        want = np.bincount(_numpy_bins(x[lane, ::2], 32, 0.01, 100.0), minlength=32)
        np.testing.assert_array_equal(counts[lane], want)


def test_first_bad_scale_finds_the_first_lane_without_a_finite_positive_scale() -> None:
    from socsim.sim.ops.digital_kernels import first_bad_scale
    good = np.array([[0.5, -1.0], [3e38, np.nan], [1e-45, 0.0]], F32)       # only column 0 is the scale
    assert first_bad_scale(good) == -1
    for bad in (0.0, -0.0, -2.0, np.nan, np.inf, -np.inf):
        v = good.copy()
        v[1, 0] = bad
        assert first_bad_scale(v) == 1
        assert first_bad_scale(np.broadcast_to(v[1:2], (3, 2))) == 0         # a read-only operand shared by lanes


def test_first_nonfinite_at_finds_the_first_lane_with_a_bad_word_among_the_offsets() -> None:
    from socsim.sim.ops.kernels import first_nonfinite_at
    rows = np.zeros((4, 50), F32)
    offsets = np.array([0, 3, 9, 30], np.int64)
    assert first_nonfinite_at(rows, 10, offsets) == -1
    rows[2, 10 + 9] = np.inf
    rows[3, 10 + 30] = np.nan
    rows[1, 10 + 8] = np.nan                              # not an offset: not looked at
    assert first_nonfinite_at(rows, 10, offsets) == 2
    assert first_nonfinite_at(rows[3:], 10, offsets) == 0
