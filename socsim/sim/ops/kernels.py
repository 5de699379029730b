"""Numba kernels of data movement over lanes: gather, scatter and scatter-add by an address pattern.

The order of additions is fixed (increasing pattern position, lane by lane), so results are bit-reproducible
and equal to ``np.add.at`` on one lane.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def gather(src, pattern, dst):  # pragma: no cover - compiled
    """dst[l, i] = src[l, pattern[i]] for every lane l (src and dst: (L, words) float32, any strides)."""
    for lane in range(dst.shape[0]):
        for i in range(pattern.size):
            dst[lane, i] = src[lane, pattern[i]]


@njit(cache=True, nogil=True)
def scatter(src, pattern, dst):  # pragma: no cover - compiled
    """dst[l, pattern[i]] = src[l, i] for every lane l, i in increasing order (a repeated word keeps the last)."""
    for lane in range(dst.shape[0]):
        for i in range(pattern.size):
            dst[lane, pattern[i]] = src[lane, i]


@njit(cache=True, nogil=True)
def scatter_add(dst, pattern, src):  # pragma: no cover - compiled
    """dst[l, pattern[i]] += src[l, i] for every lane l, i in increasing order (as ``np.add.at`` on one lane).

    dst: (L, span) float32 (any strides); pattern: (n,) int64 word offsets; src: (L, n) float32.
    """
    for lane in range(dst.shape[0]):
        for i in range(pattern.size):
            dst[lane, pattern[i]] += src[lane, i]


@njit(cache=True, nogil=True)
def first_nonfinite(rows, start, size):  # pragma: no cover - compiled
    """The first row r with a NaN or inf among rows[r, start:start + size] (-1: none). rows: (L, N) float32,
    C-contiguous (a lane store, or one row of memory): the scan vectorises."""
    for r in range(rows.shape[0]):
        row = rows[r, start:start + size]
        bad = False
        for i in range(row.size):
            v = row[i]
            bad |= (v - v) != 0.0    # x - x is 0 for every finite x, NaN for NaN and inf
        if bad:
            return r
    return -1


@njit(cache=True, nogil=True)
def first_nonfinite_at(rows, start, offsets):  # pragma: no cover - compiled
    """The first row r with a NaN or inf among rows[r, start + offsets[i]] (-1: none); rows: (L, N) float32 (any
    strides), offsets: (n,) int64 (a written operand's address pattern)."""
    for r in range(rows.shape[0]):
        bad = False
        for i in range(offsets.size):
            v = rows[r, start + offsets[i]]
            bad |= (v - v) != 0.0
        if bad:
            return r
    return -1


@njit(cache=True, nogil=True)
def maxpool_back(src, gout, dst, planes, h, w, k, s, oh, ow):  # pragma: no cover - compiled
    """Max-pool backward over lanes: each k x k window's gradient goes to its first maximum of ``src`` (a NaN
    counts as the maximum, as ``np.argmax``); dst = 0 + the contributions of window offset 0, then 1, ...

    src, dst: (L, planes * h * w) float32; gout: (L, planes * oh * ow) float32 (any strides); oh x ow the
    windows (:func:`socsim.base.geometry.window_out`).
    """
    first = np.empty((planes, oh, ow), np.int64)
    for lane in range(src.shape[0]):
        for p in range(planes):
            for oy in range(oh):
                for ox in range(ow):
                    base = p * h * w + oy * s * w + ox * s
                    best = src[lane, base]
                    j_best = 0
                    if best == best:                      # not NaN: look for a larger value or a NaN
                        for j in range(1, k * k):
                            v = src[lane, base + (j // k) * w + j % k]
                            if v != v:
                                j_best = j
                                break
                            if v > best:
                                best = v
                                j_best = j
                    first[p, oy, ox] = j_best
        for i in range(dst.shape[1]):
            dst[lane, i] = 0.0
        for j in range(k * k):                            # offset by offset, as overlapping windows add up
            for p in range(planes):
                for oy in range(oh):
                    for ox in range(ow):
                        if first[p, oy, ox] == j:
                            dst[lane, p * h * w + (oy * s + j // k) * w + ox * s + j % k] += \
                                gout[lane, (p * oh + oy) * ow + ox]
