"""Histogram and percentile on the digital unit (``vhist``, ``vpctl``): how a calibration program condenses many
converter readings into one full-scale setting without storing them.

Bins are log-spaced over [lo, hi]: bin ``b`` holds magnitudes in ``[lo r^b, lo r^(b+1))`` with ``r = (hi /
lo)^(1 / bins)``; smaller magnitudes (zero included) count in bin 0, larger ones in the last bin. Counts are
float32 words (exact up to 2^24 per bin). Each lane computes from its own operands only.
"""

from __future__ import annotations

import math

import numpy as np

from isa.program import BadOperand
from socsim.sim.ops.base import F32, Op, Operands, add_into
from socsim.sim.ops.digital_kernels import log_bin_counts, log_bins


def _bins(v: dict) -> tuple[int, float, float]:
    bins, lo, hi = int(v["bins"]), float(v["lo"]), float(v["hi"])
    if bins < 1 or not (math.isfinite(lo) and math.isfinite(hi)) or not 0.0 < lo < hi:
        raise BadOperand(f"a histogram of {bins} bins over [{lo}, {hi}]: needs bins >= 1 and 0 < lo < hi")
    return bins, lo, hi


def bin_index(x: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    """The log-spaced bin (int64, shaped like ``x``) of each magnitude |x| (float64 arithmetic, so every engine bins
    alike: :func:`socsim.sim.ops.digital_kernels.log_bins`)."""
    flat = np.asarray(x).reshape(-1)
    out = np.empty(flat.size, np.int64)
    log_bins(flat, bins, float(lo), math.log(hi / lo), out)
    return out.reshape(np.shape(x))


def upper_edge(b: np.ndarray, bins: int, lo: float, hi: float) -> np.ndarray:
    """Upper edge lo (hi / lo)^((b + 1) / bins) of bins ``b``."""
    return lo * (hi / lo) ** ((b.astype(np.float64) + 1.0) / bins)


def _vhist(c: Operands) -> None:
    bins, lo, hi = _bins(c.v)
    src = c.a("src")
    counts = np.zeros((src.shape[0], bins), np.int64)
    log_bin_counts(src, bins, lo, math.log(hi / lo), counts)
    c.accumulate("dst", counts.astype(F32), add_into)


def _vpctl(c: Operands) -> None:
    bins, lo, hi = _bins(c.v)
    q = float(c.v["q"])
    if not 0.0 <= q <= 1.0:
        raise BadOperand(f"vpctl: q = {q} is outside [0, 1]")
    h = c.a("hist").astype(np.float64)
    reached = np.cumsum(h, axis=1) >= q * h.sum(axis=1, keepdims=True)
    c.put("dst", upper_edge(np.argmax(reached, axis=1), bins, lo, hi).astype(F32)[:, None])


def _steps(bins: int) -> int:
    """Comparisons that place one value among ``bins`` bin edges (a binary search)."""
    return max(1, math.ceil(math.log2(max(bins, 2))))


_INTO_DST = frozenset({"dst"})

HISTOGRAM: dict[str, Op] = {
    "vhist": Op(numerics=_vhist, work=lambda v: (v["n"] * _steps(v["bins"]) + v["n"], 0, 0),
                reducible=lambda v, same: _INTO_DST),
    "vpctl": Op(numerics=_vpctl, work=lambda v: (2 * v["bins"], 1, 1)),
}
"""mnemonic -> its op (numerics over lanes, work: vhist a binary search and an increment per value; vpctl a running sum
and a compare per bin, the edge's power as one special function)."""
