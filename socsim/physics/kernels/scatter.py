"""Scatter-add over lanes (col2im): the order of additions is fixed, so results are bit-reproducible."""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def scatter_add(dst, pattern, src):  # pragma: no cover - compiled
    """dst[l, pattern[i]] += src[l, i] for every lane l, i in increasing order (as ``np.add.at`` on one lane).

    dst: (L, span) float32 (any strides); pattern: (n,) int64 word offsets; src: (L, n) float32.
    """
    for lane in range(dst.shape[0]):
        for i in range(pattern.size):
            dst[lane, pattern[i]] += src[lane, i]
