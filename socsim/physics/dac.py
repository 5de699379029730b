"""Input path: signed integer codes -> a train of read pulses on the word lines.

A code of ``in_bits`` bits is driven as ``P`` pulses of ``L = 2^m`` amplitude levels each (L = 2:
bit-serial 1-bit pulses; L = 4: radix-4 digits). Pulse p (least significant first) carries digit
``d_p`` at voltage ``d_p * v_read / (L - 1)`` and has binary weight ``w_p = L^(p - (P - 1))`` (the
most significant pulse weighs 1), so the code is ``x = L^(P-1) * sum_p w_p d_p``.

- two's complement: codes clip to [-2^(n-1), 2^(n-1) - 1]; P = ceil(n / m); the top digit is the
  arithmetic shift ``x >> m(P-1)`` and is driven with negative polarity when negative;
- sign split: codes clip to [-(2^(n-1) - 1), 2^(n-1) - 1]; the positive and negative parts are
  driven as two unsigned trains of P = ceil((n - 1) / m) pulses and subtracted digitally;
- analog (in_bits = 0): one pulse of voltage ``v_read * x / analog_full_scale``, |x| clipped there.

For the read-noise model each code also gets a noise weight ``s(x) = sum_p (w_p d_p)^2`` (in
units of the pulse-voltage step squared): the variance of the binary-weighted sum of per-pulse
device noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socsim.physics.flat import Flat
from socsim.physics.kernels.io_kernels import extract_digits, quantize_codes, quantize_rows


def pulse_slots(levels_per_pulse: int, in_bits: int) -> int:
    """Pulse slots that drive one ``in_bits``-bit code with ``levels_per_pulse`` levels per pulse (timing and
    energy): ``ceil(in_bits / log2(levels))``, 1 for analog inputs (in_bits = 0). Sign-split trains use one
    slot fewer per phase; the slot is charged anyway (the sign phase occupies it)."""
    if in_bits == 0:
        return 1
    m = levels_per_pulse.bit_length() - 1
    return -(-in_bits // m)


@dataclass(frozen=True)
class PulseTrain:
    """How one input precision is driven: pulse count, weights and voltage per digit step."""

    in_bits: int
    n_pulses: int
    weights: np.ndarray
    """(n_pulses,) float32 binary weights w_p, least significant pulse first (top weight 1)."""
    v_unit: float
    """Volts per digit step (v_read / (L - 1); analog: v_read / full scale)."""
    gain: float
    """L^(P-1): code = gain * sum_p w_p d_p."""
    lo: int
    hi: int
    signed_top: bool


class Dac:
    """Input encoder of one tile; caches a pulse train and noise-weight table per input precision."""

    def __init__(self, f: Flat):
        self.levels = f.dac_levels
        self.bits_per_pulse = f.dac_bits_per_pulse
        self.sign_split = f.sign_split
        self.analog_fs = f.analog_fs
        self.v_read = f.v_read
        self._trains: dict[int, tuple[PulseTrain, np.ndarray]] = {}

    def train(self, in_bits: int) -> PulseTrain:
        """The pulse train for ``in_bits``-bit signed codes (0 = analog)."""
        return self._train_and_table(in_bits)[0]

    def _train_and_table(self, in_bits: int) -> tuple[PulseTrain, np.ndarray]:
        if in_bits in self._trains:
            return self._trains[in_bits]
        if in_bits < 0 or in_bits > 16:
            raise ValueError(f"in_bits = {in_bits} is outside 0..16 (0 = analog input)")
        if in_bits == 0:
            tr = PulseTrain(0, 1, np.ones(1, np.float32), self.v_read / self.analog_fs, 1.0, 0, 0, False)
            self._trains[0] = (tr, np.zeros(1, np.float32))
            return self._trains[0]
        m, lv = self.bits_per_pulse, self.levels
        if self.sign_split:
            if in_bits < 2:
                raise ValueError("sign_split inputs need in_bits >= 2 (one sign bit + magnitude)")
            n_p = -(-(in_bits - 1) // m)
            lo, hi, signed_top = 0, 2 ** (in_bits - 1) - 1, False
        else:
            n_p = pulse_slots(lv, in_bits)
            lo, hi, signed_top = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1, True
        weights = (float(lv) ** (np.arange(n_p) - (n_p - 1))).astype(np.float32)
        codes = np.arange(lo, hi + 1, dtype=np.float32)[None, :]
        digits = np.empty((n_p, 1, codes.shape[1]), np.float32)
        extract_digits(codes, n_p, m, signed_top, digits)
        table = ((weights[:, None] * digits[:, 0, :]) ** 2).sum(axis=0).astype(np.float32)
        tr = PulseTrain(in_bits, n_p, weights, self.v_read / (lv - 1), float(lv) ** (n_p - 1), lo, hi,
                        signed_top)
        self._trains[in_bits] = (tr, table)
        return self._trains[in_bits]

    def phases(self, x: np.ndarray, in_bits: int) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
        """Split the inputs (L, B, n) into pulse-train phases: [(sign, codes, lanes)].

        Two's complement and analog inputs give one phase; sign split gives a positive phase
        and, when a lane has a negative input, a negative one (its result is subtracted in the lanes
        ``lanes``, a boolean (L,) mask; None for the first phase, which every lane drives).
        """
        x = np.asarray(x, dtype=np.float32)
        if not self.sign_split or in_bits == 0:
            return [(1.0, x, None)]
        pos = np.maximum(x, 0.0)
        neg_lanes = (x < 0).reshape(len(x), -1).any(axis=1)
        if not neg_lanes.any():
            return [(1.0, pos, None)]
        return [(1.0, pos, None), (-1.0, np.maximum(-x, 0.0), neg_lanes)]

    def quantize(self, x: np.ndarray, in_bits: int) -> tuple[np.ndarray, np.ndarray]:
        """Clip and round one phase's codes; returns (codes, noise weights s), both shaped like ``x``
        (..., n) float32."""
        tr, table = self._train_and_table(in_bits)
        if in_bits == 0:
            codes = np.clip(x, -self.analog_fs, self.analog_fs).astype(np.float32)
            return codes, codes * codes
        codes = np.empty(x.shape, np.float32)
        s = np.empty(x.shape, np.float32)
        n = x.shape[-1]
        quantize_codes(np.ascontiguousarray(x, dtype=np.float32).reshape(-1, n), tr.lo, tr.hi, table,
                       codes.reshape(-1, n), s.reshape(-1, n))
        return codes, s

    def quantize_summed(self, x: np.ndarray, in_bits: int) -> tuple[np.ndarray, np.ndarray]:
        """Clip and round one phase's codes (..., n); returns (codes, row sums of the noise weights (..., 1))."""
        tr, table = self._train_and_table(in_bits)
        if in_bits == 0:
            codes = np.clip(x, -self.analog_fs, self.analog_fs).astype(np.float32)
            return codes, (codes * codes).sum(axis=-1, keepdims=True, dtype=np.float32)
        n = x.shape[-1]
        codes = np.empty(x.shape, np.float32)
        sums = np.empty(x.shape[:-1] + (1,), np.float32)
        quantize_rows(np.ascontiguousarray(x, dtype=np.float32).reshape(-1, n), tr.lo, tr.hi, table,
                      codes.reshape(-1, n), sums.reshape(-1))
        return codes, sums

    def digits(self, codes: np.ndarray, in_bits: int) -> np.ndarray:
        """Pulse digits of quantised codes (L, B, n): (L, P, B, n) float32 (analog: the clipped value itself)."""
        tr = self.train(in_bits)
        if in_bits == 0:
            return codes[:, None, :, :].copy()
        lanes, b, n = codes.shape
        out = np.empty((tr.n_pulses, lanes * b, n), np.float32)
        extract_digits(codes.reshape(lanes * b, n), tr.n_pulses, self.bits_per_pulse, tr.signed_top, out)
        return np.ascontiguousarray(out.reshape(tr.n_pulses, lanes, b, n).transpose(1, 0, 2, 3))
