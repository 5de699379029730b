"""Numba kernels of the periphery: DAC code quantisation and digit extraction, noisy clipped
quantisation (ADC and TIA). Plain arrays and scalars only; every kernel has a numpy twin in
``tests/physics/reference.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from socsim.physics.kernels.normal import normals_into, ziggurat_tables

_KN, _WN, _FN = ziggurat_tables()
"""The ziggurat's tables, computed once (numba compiles these globals in as constants)."""
_NORMALS_PER_BLOCK = 512
"""Normals drawn per call of the ziggurat in :func:`noisy_convert` (whole rows; its scratch stays in L1)."""


@njit(cache=True, inline="always")
def _code(x, lo, hi):  # pragma: no cover - compiled
    """clip(rint(x), lo, hi): one input's DAC code."""
    v = np.rint(x)
    if v < lo:
        v = lo
    elif v > hi:
        v = hi
    return v


@njit(cache=True, nogil=True)
def quantize_codes(x, lo, hi, table, codes, s):  # pragma: no cover - compiled
    """codes = clip(rint(x), lo, hi) (float32); s = table[code - lo] (noise weight of the code).

    x, codes, s: (B, n) float32; lo, hi: int code limits; table: float32 (hi - lo + 1,).
    """
    b_n, n = x.shape
    for b in range(b_n):
        for i in range(n):
            v = _code(x[b, i], lo, hi)
            codes[b, i] = v
            s[b, i] = table[int(v) - lo]


@njit(cache=True, nogil=True)
def quantize_rows(x, lo, hi, table, codes, sums):  # pragma: no cover - compiled
    """codes = clip(rint(x), lo, hi) (float32); sums[b] = sum_i table[code - lo] (row sums of the noise weights,
    accumulated in float64 in index order, stored float32).

    x, codes: (B, n) float32; sums: (B,) float32; lo, hi: int code limits; table: float32 (hi - lo + 1,).
    """
    b_n, n = x.shape
    for b in range(b_n):
        total = 0.0
        for i in range(n):
            v = _code(x[b, i], lo, hi)
            codes[b, i] = v
            total += table[int(v) - lo]
        sums[b] = total


@njit(cache=True, nogil=True)
def quantize_rows_exact(x, lo, hi, itable, scale, codes, sums):  # pragma: no cover - compiled
    """:func:`quantize_rows` for a table of integers times ``scale`` (a power of 2): the row sums accumulated in int64
    (no chain of float64 additions), ``sums[b] = float32(float64(total) * scale)``. The caller guarantees
    ``n * max|itable| <= 2^53``: then every partial sum of the float64 accumulation is exact and the results equal
    :func:`quantize_rows`'s bit for bit.

    x, codes: (B, n) float32; sums: (B,) float32; itable: int64 (hi - lo + 1,); scale: float.
    """
    b_n, n = x.shape
    flat, flat_codes = x.reshape(-1), codes.reshape(-1)   # C-contiguous (the caller's); one loop also for short rows
    for j in range(flat.shape[0]):                        # two loops: each vectorises (the second with gathers)
        flat_codes[j] = _code(flat[j], lo, hi)
    for b in range(b_n):
        total = np.int64(0)
        for i in range(n):
            total += itable[int(codes[b, i]) - lo]
        sums[b] = np.float64(total) * scale


@njit(cache=True, nogil=True)
def signed_part(x, negate, out, other_sign):  # pragma: no cover - compiled
    """out = np.maximum(s x, 0) with s = -1 if ``negate`` else 1 (NaN kept; zeros of either sign give 0, which the
    DAC quantises to the same code), and ``other_sign[l]`` = whether lane l has an element with s x < 0.

    x, out: (L, m) float32; other_sign: (L,) bool.
    """
    lanes, m = x.shape
    for lane in range(lanes):
        found = False
        for i in range(m):
            v = -x[lane, i] if negate else x[lane, i]
            found |= v < 0.0
            out[lane, i] = v if (v > 0.0 or v != v) else np.float32(0.0)
        other_sign[lane] = found


@njit(cache=True, nogil=True)
def extract_digits(codes, n_pulses, bits_per_pulse, signed_top, out):  # pragma: no cover - compiled
    """Split integer codes into pulse digits, least significant pulse first.

    codes: (B, n) float32 integer-valued; out: (n_pulses, B, n) float32. Digit p is
    ``(c >> (m p)) & (2^m - 1)``; with ``signed_top`` the last digit is the arithmetic shift
    ``c >> (m (P - 1))`` (two's complement: negative polarity).
    """
    b_n, n = codes.shape
    mask = (1 << bits_per_pulse) - 1
    for b in range(b_n):
        for i in range(n):
            c = np.int64(codes[b, i])
            for p in range(n_pulses):
                sh = c >> (bits_per_pulse * p)
                if signed_top and p == n_pulses - 1:
                    out[p, b, i] = sh
                else:
                    out[p, b, i] = sh & mask


@njit(cache=True, nogil=True)
def noisy_convert(a, seeds, rows_per_lane, noisy, var, extra_var, lo, hi, lsb, qmax, scale_in, scale_out, out,
                  saturated):  # pragma: no cover - compiled
    """out = scale_out * Q(clip(scale_in * a + sqrt(var + extra_var) * z, lo, hi)) for rows of several lanes.

    a, out: (R, K) float32 currents (uA), the rows of lane ``l`` being ``l * rows_per_lane ..``; the
    normal of row r, column k is ``normal_at(seeds[l], (r - l * rows_per_lane) * K + k)``, so a lane's
    numbers do not depend on the other lanes. ``noisy`` false skips the noise. var: read-noise variance
    (uA^2), shape (R, K), (R, 1), (1, K) or (1, 1) (broadcast along axes of size 1). extra_var: ADC
    input-referred variance (uA^2). Clipping to [lo, hi]; when lsb > 0, quantisation to
    ``lo + lsb * min(round((v - lo) / lsb), qmax)`` (mid-tread: lo is code 0). ``saturated[l]`` is
    increased by the values of lane l that fell outside the range: above ``hi``, or below ``lo`` when
    ``lo < 0`` (a bipolar range; a unipolar one's idle inputs sit at ``lo`` and are not counted).
    """
    r_n, k_n = a.shape
    per_k = var.shape[1] == k_n
    per_r = var.shape[0] == r_n
    kn, wn, fn = _KN, _WN, _FN
    block = max(1, _NORMALS_PER_BLOCK // max(k_n, 1))      # rows whose normals are drawn together (a lane's are
    z = np.zeros(block * k_n)                               # consecutive numbers of its stream)
    hashes = np.zeros(block * k_n, np.uint64)
    rejects = np.zeros(block * k_n, np.int64)
    sd = np.zeros(k_n)
    inv = 1.0 / lsb if lsb > 0.0 else 0.0
    count_low = lo < 0.0
    lanes = -(-r_n // rows_per_lane) if rows_per_lane > 0 else 0
    for lane in range(lanes):
        first = lane * rows_per_lane
        last = min(first + rows_per_lane, r_n)
        for r0 in range(first, last, block):
            r1 = min(r0 + block, last)
            if noisy:  # the normals first, in loops of their own (the ziggurat's branches), then a branch-free pass
                normals_into(seeds[lane], (r0 - first) * k_n, z[:(r1 - r0) * k_n], hashes, rejects, kn, wn, fn)
            for r in range(r0, r1):
                at = (r - r0) * k_n
                if noisy:
                    if per_k:
                        for k in range(k_n):
                            sd[k] = np.sqrt(var[r if per_r else 0, k] + extra_var)
                    else:
                        s = np.sqrt(var[r if per_r else 0, 0] + extra_var)
                        for k in range(k_n):
                            sd[k] = s
                over = 0
                for k in range(k_n):
                    v = np.float64(a[r, k]) * scale_in + sd[k] * z[at + k]
                    over += (v > hi) + (count_low and v < lo)
                    v = min(max(v, lo), hi)
                    if lsb > 0.0:
                        v = lo + lsb * min(np.floor((v - lo) * inv + 0.5), qmax)
                    out[r, k] = v * scale_out
                saturated[lane] += over
