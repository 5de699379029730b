"""The analog MVM pipeline shared by every device model: DAC pulses -> per-pulse column currents
(BLAS) -> read noise -> TIA clip -> ADC -> digital recombination.

Units: conductances uS, voltages V, currents uA (uS x V). The result is returned as an estimate of
``codes @ G`` in (code x uS), so the array only multiplies by its weight-per-uS factors.

Inputs carry a leading lane axis: ``x`` is (L, B, n), L independent reads of B vectors each (the
sequential engine reads with L = 1). Every lane's result is bit-identical to reading it alone: the
matrix products are stacked ``np.matmul`` calls (one BLAS call of the same shape per lane), the other
steps are elementwise or per row, and each lane's noise comes from its own seed (``seeds``, one per
lane and draw site: :mod:`socsim.physics.draws`).

Two exact evaluation orders are used:

- **per pulse** (general): digits ``D_p`` (P, B, n) -> ``I_p = v_unit D_p @ G`` in one stacked matmul, the
  devices' read noise, TIA clipping, then the ADC's own combination. The read noise is drawn once per device and
  read vector and shared by the vector's pulses (``read.noise_draw = "read"``: ``I_p += v_unit D_p @ N_b``, ``N_b``
  one normal per device scaled by its standard deviation), or per pulse (``"pulse"``: variance ``v_unit^2 D_p^2 @
  Var``, drawn together with the ADC's own noise, one Gaussian per conversion, when no TIA limit applies); a
  one-pulse read draws per conversion either way (the same distribution);
- **summed** (when the ADC sums pulses in the analog domain and no per-pulse clipping can occur):
  ``sum_p w_p I_p = v_unit (x / L^(P-1)) @ G`` is one matmul of the codes; the read noise adds up to variance
  ``v_unit^2 s(x) @ Var`` (``s(x)`` the DAC's noise weight: ``(sum_p w_p d_p)^2`` shared, ``sum_p (w_p d_p)^2`` per
  pulse), drawn once per output.
  Both orders give the same distribution; ``read.exact_slices`` forces the first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.physics.adc import Adc
from socsim.physics.dac import Dac
from socsim.physics.draws import Site, draw_seeds
from socsim.physics.kernels.io_kernels import noisy_convert
from socsim.physics.kernels.normal import fill_normals

_NONE = np.zeros((1, 1), np.float32)

Variance = float | np.ndarray | None
"""Per-device read-noise variance (uS^2): None (noiseless), one value for every device, or a
matrix shaped like the conductance matrix."""


@dataclass(frozen=True)
class ReadDraws:
    """Where the noise of L lane reads comes from: the tile's stream key and each lane's read counter."""

    key: int
    counters: np.ndarray
    """(L,) uint64: the read operation number of each lane (:attr:`socsim.physics.draws.Stream.reads`)."""

    def seeds(self, site: Site, phase: int) -> np.ndarray:
        return draw_seeds(self.key, site, self.counters, phase)


def _noise_var(weights2: np.ndarray, var: Variance, v_unit: float) -> np.ndarray | None:
    """Read-noise variance (uA^2) of every output: (L, rows, K) for a matrix, (L, rows, 1) for a scalar."""
    if var is None:
        return None
    if isinstance(var, np.ndarray):
        return np.matmul(weights2, var) * np.float32(v_unit * v_unit)
    if var == 0.0:
        return None
    return weights2.sum(axis=-1, keepdims=True, dtype=np.float32) * np.float32(var * v_unit * v_unit)


def analog_mvm(x: np.ndarray, gmat: np.ndarray, var: Variance, dac: Dac, adc: Adc, in_bits: int,
               draws: ReadDraws, saturated: np.ndarray, tia_max_ua: float = 0.0,
               exact_slices: bool = False, peak: bool = False) -> np.ndarray:
    """``x`` (L, B, n) input codes through the array ``gmat`` (n, K) uS -> (L, B, K) float32 ~ x @ gmat.

    ``tia_max_ua`` clips each pulse's current to +-tia_max_ua (0 = no limit). Each lane's conversions
    outside the ADC range are added to ``saturated`` (L,). A sign-split input drives its negative
    train only in the lanes that have a negative input (as a lane read alone would).

    ``peak``: return instead the converter's readings, (L, B, K) uA: the largest magnitude among the
    conversions behind each output (both trains of a sign-split input, every pulse of a shift-and-add
    converter), from the same conversions and draws as the MVM.
    """
    out: np.ndarray | None = None
    for phase, (_sign, xs, used) in enumerate(dac.phases(x, in_bits)):
        sat = np.zeros(len(x), np.int64)
        y = _one_phase(xs, gmat, var, dac, adc, in_bits, draws, phase, sat, tia_max_ua, exact_slices, peak)
        if used is None:
            out = y
            saturated += sat
        else:  # the negative train: subtracted (readings: the larger kept) only where a lane has one
            assert out is not None
            if used.all():  # in place, the same elementwise results
                combine = np.maximum if peak else np.subtract
                combine(out, y, out=out)
                saturated += sat
            else:
                out[used] = np.maximum(out[used], y[used]) if peak else out[used] - y[used]
                saturated[used] += sat[used]
    assert out is not None
    return out


def _one_phase(x: np.ndarray, gmat: np.ndarray, var: Variance, dac: Dac, adc: Adc, in_bits: int,
               draws: ReadDraws, phase: int, saturated: np.ndarray, tia_max_ua: float,
               exact_slices: bool, peak: bool = False) -> np.ndarray:
    tr = dac.train(in_bits)
    back = np.float32(tr.gain / tr.v_unit)
    seeds = draws.seeds(Site.ADC, phase)
    if adc.sums_analog and not exact_slices and not _tia_can_clip(gmat, tr, dac, tia_max_ua):
        if isinstance(var, np.ndarray):  # per-device variance: the noise weights of every input
            codes, s = dac.quantize(x, in_bits)
            nv = _noise_var(s, var, tr.v_unit)
        else:                            # one variance for every device: their row sums suffice
            codes, sums = dac.quantize_summed(x, in_bits)
            nv = None if not var else sums * np.float32(var * tr.v_unit * tr.v_unit)
        y = adc.convert(np.matmul(codes, gmat), nv, seeds, saturated, tr.v_unit / tr.gain,
                        1.0 if peak else float(back))
        return np.abs(y) if peak else y
    codes, _ = dac.quantize(x, in_bits)
    lanes, b, n = codes.shape
    d = dac.digits(codes, in_bits)                            # (L, P, B, n)
    p = d.shape[1]
    flat = d.reshape(lanes, p * b, n)
    cur = np.matmul(flat, gmat)
    cur *= np.float32(tr.v_unit)
    if p > 1 and not dac.noise_per_pulse and _noisy(var):   # one draw per device and read, shared by its pulses
        cur += _device_noise(d, var, tr.v_unit, draws.seeds(Site.DEVICE_READ, phase), gmat.shape[1])
        nv = None
    else:
        nv = _noise_var(flat * flat, var, tr.v_unit)
    if tia_max_ua > 0.0:                 # noise, then the TIA clips each pulse's current
        k = cur.shape[-1]
        rows = cur.reshape(lanes * p * b, k)
        unused = np.zeros(lanes, np.int64)
        if nv is not None:
            noisy_convert(rows, draws.seeds(Site.TIA, phase), p * b, True, nv.reshape(lanes * p * b, -1), 0.0,
                          -np.inf, np.inf, 0.0, 0, 1.0, 1.0, rows, unused)
        noisy_convert(rows, seeds, p * b, False, _NONE, 0.0, -tia_max_ua, tia_max_ua, 0.0, 0, 1.0, 1.0, rows, unused)
        nv = None
    pulse_var = None if nv is None else nv.reshape(lanes, p, b, -1)
    if peak:
        return adc.peak(cur.reshape(lanes, p, b, -1), tr.weights, seeds, saturated, pulse_var)
    q = adc.combine(cur.reshape(lanes, p, b, -1), tr.weights, seeds, saturated, pulse_var)
    q *= back
    return q


def _noisy(var: Variance) -> bool:
    return var is not None and (isinstance(var, np.ndarray) or var != 0.0)


def _device_noise(d: np.ndarray, var: Variance, v_unit: float, seeds: np.ndarray, k: int) -> np.ndarray:
    """The read noise currents (L, P B, K) uA of digits ``d`` (L, P, B, n): one normal per device (n, K) and read
    vector b, element ``(b n + i) K + j`` of lane l's draw ``seeds[l]``, times the device's standard deviation,
    summed over the inputs each pulse drives (``v_unit D_p @ N_b``)."""
    lanes, p, b, n = d.shape
    z = np.empty((lanes, b, n, k), np.float32)
    for lane in range(lanes):
        fill_normals(seeds[lane], z[lane])
    z *= np.sqrt(var).astype(np.float32) if isinstance(var, np.ndarray) else np.float32(np.sqrt(var))
    noise = np.matmul(np.ascontiguousarray(d.transpose(0, 2, 1, 3)), z)     # (L, B, P, K)
    noise *= np.float32(v_unit)
    return np.ascontiguousarray(noise.transpose(0, 2, 1, 3)).reshape(lanes, p * b, k)


def _tia_can_clip(gmat: np.ndarray, tr, dac: Dac, tia_max_ua: float) -> bool:
    """True if some pulse's noiseless current could exceed the TIA limit (so pulses must be split)."""
    if tia_max_ua <= 0.0:
        return False
    worst = float(np.abs(gmat).sum(axis=0).max(initial=0.0)) * tr.v_unit * tr.max_digit
    return worst > tia_max_ua
