"""Numba kernels of the digital unit's lane-wise operations: DAC quantisation (``quantm``, ``quant``), the check of a
scale operand, and log-spaced histograms (``vhist``).

Each runs without the interpreter lock (``nogil``), so lane groups on several threads run them side by side, and in
one pass over its operand (the numpy expressions they replace made a temporary array per step). Their numbers are
those of the numpy expressions, element by element (tests/test_digital_kernels.py holds them to it).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def quantize_lanes(x, scale, bits, out):  # pragma: no cover - compiled
    """out[l, i] = clip(round_half_even(x[l, i] / scale[l]), -top, top) with top = 2^(bits-1) - 1, or x[l, i] /
    scale[l] when bits = 0 (float32 arithmetic throughout).

    x, out: (L, n) float32 (any strides); scale: (L,) float32. A NaN stays NaN (as ``np.clip``), an infinite quotient
    becomes +-top.
    """
    top = np.float32(2 ** (bits - 1) - 1) if bits > 0 else np.float32(0)
    for lane in range(x.shape[0]):
        s = scale[lane]
        for i in range(x.shape[1]):
            y = x[lane, i] / s
            if bits > 0:
                y = np.rint(y)
                if y > top:
                    y = top
                elif y < -top:
                    y = -top
            out[lane, i] = y


@njit(cache=True, nogil=True)
def first_bad_scale(v):  # pragma: no cover - compiled
    """The first lane whose scale v[lane, 0] is not a finite number > 0 (NaN, +-inf, 0, negative); -1: none.
    v: (L, k) float32 (any strides)."""
    for lane in range(v.shape[0]):
        s = v[lane, 0]
        if not (s > 0 and s - s == 0):
            return lane
    return -1


@njit(cache=True, inline="always")
def _log_bin(value, bins, lo, log_ratio):  # pragma: no cover - compiled
    """The log-spaced bin of |value|: floor(bins log(|value| / lo) / log_ratio) in float64, clipped to [0, bins - 1];
    zero in bin 0, NaN and inf in the last."""
    b = np.floor(np.float64(bins) * np.log(abs(np.float64(value)) / lo) / log_ratio)
    if b != b or b >= bins - 1:
        return bins - 1
    if b <= 0:
        return 0
    return np.int64(b)


@njit(cache=True, nogil=True)
def log_bins(x, bins, lo, log_ratio, out):  # pragma: no cover - compiled
    """out[i] = the log-spaced bin (:func:`_log_bin`) of x[i]; x: (n,) float (any strides), out: (n,) int64."""
    for i in range(x.shape[0]):
        out[i] = _log_bin(x[i], bins, lo, log_ratio)


@njit(cache=True, nogil=True)
def log_bin_counts(x, bins, lo, log_ratio, counts):  # pragma: no cover - compiled
    """counts[l, b] += the values of x[l, :] in log-spaced bin b (:func:`_log_bin`); x: (L, n) float32 (any strides),
    counts: (L, bins) int64."""
    for lane in range(x.shape[0]):
        for i in range(x.shape[1]):
            counts[lane, _log_bin(x[lane, i], bins, lo, log_ratio)] += 1
