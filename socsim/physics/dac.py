"""Input path: signed integer codes -> a train of read pulses on the word lines (or, transposed, the bit lines).

A code of ``in_bits`` bits is driven as ``P`` pulses. Pulse p (least significant first) carries digit
``d_p`` at voltage ``d_p * v_unit`` and has binary weight ``w_p`` (the most significant pulse weighs 1),
so the code is ``x = gain * sum_p w_p d_p``.

Integer encoding, ``L = 2^m`` amplitude levels per pulse (L = 2: bit-serial 1-bit pulses; L = 4: radix-4
digits), ``v_unit = v_read / (L - 1)``, ``w_p = L^(p - (P - 1))``, ``gain = L^(P-1)``:

- two's complement: codes clip to [-2^(n-1), 2^(n-1) - 1]; P = ceil(n / m); the top digit is the
  arithmetic shift ``x >> m(P-1)`` and is driven with negative polarity when negative;
- sign split: codes clip to [-(2^(n-1) - 1), 2^(n-1) - 1]; the positive and negative parts are
  driven as two unsigned trains of P = ceil((n - 1) / m) pulses and subtracted digitally;
- sign and magnitude: codes clip to [-(2^(n-1) - 1), 2^(n-1) - 1]; one train of P = ceil((n - 1) / m)
  pulses carries the digits of |x|, each line driven at the polarity of its own input (``d_p = sign(x) x
  digit_p(|x|)``), so a small code of either sign drives only its few low pulses;
- analog (in_bits = 0): one pulse of voltage ``v_read * x / analog_full_scale``, |x| clipped there.

Radix-4 encoding (multi-level radix-4 inputs, Grimm, Lee, Verma 2024): a code is 0 or ``+-4^j`` with
``j < E = in_bits // 2`` (a radix-4 FP4 value in units of its smallest magnitude); any other code is an
error. The exponents are grouped from the top, ``J = radix4_exponents_per_pulse`` per pulse: with
``P = ceil(E / J)`` and ``o = P J - E``, exponent j goes to pulse ``g = (j + o) // J`` as the signed digit
``+-4^((j + o) mod J)``, driven at ``v_unit = v_read / 4^(J-1)`` (so the top exponent of every pulse is at
full scale), ``w_g = 4^(J (g - (P-1)))``, ``gain = 4^(E - J)``. Each code has one nonzero digit.

For the read-noise model each code also gets a noise weight (in units of the pulse-voltage step squared): the
variance factor of the binary-weighted sum of the device's read noise over the pulses. With the noise drawn once
per read (``read.noise_draw = "read"``: every pulse of the read sees the same fluctuation) it is
``s(x) = (sum_p w_p d_p)^2 = (x / gain)^2``; drawn per pulse (``"pulse"``) ``s(x) = sum_p (w_p d_p)^2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isa.program import BadOperand
from socsim.physics.flat import DacFlat, Flat
from socsim.physics.kernels.io_kernels import (
    extract_digits,
    quantize_codes,
    quantize_rows,
    quantize_rows_exact,
    signed_part,
)


def pulse_slots(levels_per_pulse: int, in_bits: int, radix4_exps: int = 0, sign_magnitude: bool = False) -> int:
    """Pulse slots that drive one ``in_bits``-bit code (timing and energy): integer encoding with
    ``levels_per_pulse`` levels per pulse, ``ceil(in_bits / log2(levels))`` (sign and magnitude: the
    ``in_bits - 1`` magnitude bits, ``ceil((in_bits - 1) / log2(levels))``, the sign a polarity, no slot);
    radix-4 encoding with ``radix4_exps`` exponents per pulse, ``ceil((in_bits // 2) / radix4_exps)``; 1 for
    analog inputs (in_bits = 0). Sign-split trains use one slot fewer per phase; the slot is charged anyway (the
    sign phase occupies it)."""
    if in_bits == 0:
        return 1
    if radix4_exps:
        return max(1, -(-(in_bits // 2) // radix4_exps))
    m = levels_per_pulse.bit_length() - 1
    return max(1, -(-(in_bits - 1) // m)) if sign_magnitude else -(-in_bits // m)


def radix4_exponents(in_bits: int) -> int:
    """Radix-4 exponents an ``in_bits``-bit code holds: ``4^j <= 2^(in_bits-1) - 1`` for ``j < in_bits // 2``."""
    return in_bits // 2


def radix4_digits(codes: np.ndarray, n_exp: int, per_pulse: int) -> np.ndarray:
    """Pulse digits (P, ...) float32 of radix-4 codes (...): each code 0 or +-4^j, j < n_exp; BadOperand otherwise."""
    n_p = -(-n_exp // per_pulse)
    offset = n_p * per_pulse - n_exp
    mag = np.abs(codes.astype(np.float64))
    j = np.zeros(mag.shape, np.int64)
    nz = mag > 0
    j[nz] = np.rint(np.log2(mag[nz]) / 2).astype(np.int64)
    ok = ~nz | ((j >= 0) & (j < n_exp) & (np.ldexp(1.0, 2 * np.clip(j, 0, 62)) == mag))
    if not ok.all():
        bad = codes[~ok].ravel()[0]
        raise BadOperand(f"radix-4 DAC: input code {bad!r} is not 0 or a signed power of 4 below 4^{n_exp} "
                         "(quantise the inputs with r4q)")
    v = j + offset
    out = np.zeros((n_p, *codes.shape), np.float32)
    digit = (np.sign(codes) * np.ldexp(1.0, 2 * (v % per_pulse))).astype(np.float32)
    for g in range(n_p):
        out[g] = np.where(nz & (v // per_pulse == g), digit, np.float32(0))
    return out


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
    max_digit: float
    """Largest digit magnitude (the full-scale pulse is ``max_digit * v_unit``)."""


@dataclass(frozen=True)
class IntegerTable:
    """A noise-weight table as integers: ``table = values * scale`` exactly, ``scale`` a power of 2 (every float32 is
    an integer times a power of 2; one scale serves the table when its nonzero entries span less than about 2^29).
    Summing ``n`` entries in int64 gives the float64 sum of the floats exactly while ``n * largest <= 2^53``."""

    values: np.ndarray
    """int64, like the table."""
    scale: float
    largest: int
    """max |values|."""

    @staticmethod
    def of(table: np.ndarray) -> "IntegerTable | None":
        """The table as integers; None if one scale would need integers of 2^53 or more, or a value is not finite."""
        t = table.astype(np.float64)
        if not np.all(np.isfinite(t)):
            return None
        nonzero = t[t != 0.0]
        if nonzero.size == 0:
            return IntegerTable(np.zeros(t.shape, np.int64), 1.0, 0)
        shift = int((24 - np.frexp(nonzero)[1]).max())     # float32: 24 significant bits make each an integer
        ints = np.ldexp(t, shift)
        if not np.all(ints == np.rint(ints)) or np.abs(ints).max() >= 2.0 ** 53:
            return None
        while np.all(np.ldexp(ints, -1) == np.rint(np.ldexp(ints, -1))):   # the smallest scale keeping integers
            ints, shift = np.ldexp(ints, -1), shift - 1
        values = ints.astype(np.int64)
        return IntegerTable(values, float(np.ldexp(1.0, -shift)), int(np.abs(values).max()))


class Dac:
    """Input encoder of one tile's word lines (or, ``transposed``, bit lines); caches a pulse train and noise-weight
    table per input precision."""

    def __init__(self, f: Flat, transposed: bool = False):
        d: DacFlat = f.dac_t if transposed else f.dac
        self.levels = d.levels
        self.bits_per_pulse = d.bits_per_pulse
        self.sign_split = d.sign_split and not d.radix4_exps
        self.sign_magnitude = d.sign_magnitude and not d.radix4_exps
        """Signed codes as magnitude digits at the input's polarity (one train)."""
        self.noise_per_pulse = f.read_per_pulse
        """The device read noise is drawn per pulse (else once per read, shared by its pulses)."""
        self.analog_fs = d.analog_fs
        self.radix4_exps = d.radix4_exps
        """Exponents per pulse of the radix-4 encoding (0: integer encoding)."""
        self.v_read = f.v_read
        self._trains: dict[int, tuple[PulseTrain, np.ndarray]] = {}
        self._integer_tables: dict[int, IntegerTable | None] = {}

    def train(self, in_bits: int) -> PulseTrain:
        """The pulse train for ``in_bits``-bit signed codes (0 = analog)."""
        return self._train_and_table(in_bits)[0]

    def _train_and_table(self, in_bits: int) -> tuple[PulseTrain, np.ndarray]:
        if in_bits in self._trains:
            return self._trains[in_bits]
        self._trains[in_bits] = self._new_train(in_bits)
        self._integer_tables[in_bits] = IntegerTable.of(self._trains[in_bits][1])
        return self._trains[in_bits]

    def _new_train(self, in_bits: int) -> tuple[PulseTrain, np.ndarray]:
        """The pulse train of ``in_bits``-bit codes and its noise-weight table (indexed by code - lo)."""
        if in_bits < 0 or in_bits > 16:
            raise BadOperand(f"in_bits = {in_bits} is outside 0..16 (0 = analog input)")
        if in_bits == 0:
            tr = PulseTrain(0, 1, np.ones(1, np.float32), self.v_read / self.analog_fs, 1.0, 0, 0, False,
                            self.analog_fs)
            return tr, np.zeros(1, np.float32)
        if self.radix4_exps:
            return self._radix4_train(in_bits)
        m, lv = self.bits_per_pulse, self.levels
        if self.sign_split or self.sign_magnitude:
            if in_bits < 2:
                raise BadOperand("sign_split and sign_magnitude inputs need in_bits >= 2 (one sign bit + magnitude)")
            n_p = -(-(in_bits - 1) // m)
            lo, hi, signed_top = 0 if self.sign_split else -(2 ** (in_bits - 1) - 1), 2 ** (in_bits - 1) - 1, False
        else:
            n_p = pulse_slots(lv, in_bits)
            lo, hi, signed_top = -(2 ** (in_bits - 1)), 2 ** (in_bits - 1) - 1, True
        weights = (float(lv) ** (np.arange(n_p) - (n_p - 1))).astype(np.float32)
        codes = np.arange(lo, hi + 1, dtype=np.float32)[None, :]
        digits = self._integer_digits(codes, n_p, signed_top)
        weighted = weights[:, None] * digits[:, 0, :]
        table = ((weighted ** 2).sum(axis=0) if self.noise_per_pulse else weighted.sum(axis=0) ** 2).astype(np.float32)
        tr = PulseTrain(in_bits, n_p, weights, self.v_read / (lv - 1), float(lv) ** (n_p - 1), lo, hi,
                        signed_top, float(lv - 1))
        return tr, table

    def _integer_digits(self, codes: np.ndarray, n_pulses: int, signed_top: bool) -> np.ndarray:
        """Pulse digits (P, B, n) float32 of integer codes (B, n): radix-L digits, the top one signed (two's
        complement), or those of the magnitude times the sign (sign and magnitude)."""
        out = np.empty((n_pulses, *codes.shape), np.float32)
        if self.sign_magnitude:
            extract_digits(np.abs(codes), n_pulses, self.bits_per_pulse, False, out)
            out *= np.sign(codes)[None]
        else:
            extract_digits(codes, n_pulses, self.bits_per_pulse, signed_top, out)
        return out

    def _radix4_train(self, in_bits: int) -> tuple[PulseTrain, np.ndarray]:
        n_exp, per = radix4_exponents(in_bits), self.radix4_exps
        if n_exp < 1:
            raise BadOperand(f"radix-4 inputs need in_bits >= 2 (got {in_bits})")
        n_p = -(-n_exp // per)
        top = 4 ** (n_exp - 1)
        weights = (4.0 ** (per * (np.arange(n_p) - (n_p - 1)))).astype(np.float32)
        valid = np.concatenate([-(4 ** np.arange(n_exp))[::-1], [0], 4 ** np.arange(n_exp)]).astype(np.float32)
        d = radix4_digits(valid, n_exp, per)
        s_valid = ((weights[:, None] * d) ** 2).sum(axis=0)
        table = np.zeros(2 * top + 1, np.float32)       # indexed by code + top; codes not in ``valid`` are refused
        table[(valid + top).astype(np.int64)] = s_valid
        tr = PulseTrain(in_bits, n_p, weights, self.v_read / 4 ** (per - 1), 4.0 ** (n_exp - per), -top, top,
                        False, float(4 ** (per - 1)))
        return tr, table

    def _check_radix4(self, codes: np.ndarray, in_bits: int) -> None:
        if self.radix4_exps and in_bits:
            radix4_digits(codes, radix4_exponents(in_bits), self.radix4_exps)  # raises on a code it cannot drive

    def phases(self, x: np.ndarray, in_bits: int) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
        """Split the inputs (L, B, n) into pulse-train phases: [(sign, codes, lanes)].

        Two's complement and analog inputs give one phase; sign split gives a positive phase
        and, when a lane has a negative input, a negative one (its result is subtracted in the lanes
        ``lanes``, a boolean (L,) mask; None for the first phase, which every lane drives).
        """
        x = np.asarray(x, dtype=np.float32)
        if not self.sign_split or in_bits == 0:
            return [(1.0, x, None)]
        flat = np.ascontiguousarray(x).reshape(len(x), -1)
        pos = np.empty(x.shape, np.float32)
        neg_lanes = np.empty(len(x), bool)
        signed_part(flat, False, pos.reshape(flat.shape), neg_lanes)
        if not neg_lanes.any():
            return [(1.0, pos, None)]
        neg = np.empty(x.shape, np.float32)
        signed_part(flat, True, neg.reshape(flat.shape), np.empty(len(x), bool))
        return [(1.0, pos, None), (-1.0, neg, neg_lanes)]

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
        self._check_radix4(codes, in_bits)
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
        flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, n)
        exact = self._integer_tables.get(in_bits)
        if exact is not None and n * exact.largest <= 2 ** 53:   # integer sums: exact, so the same numbers
            quantize_rows_exact(flat, tr.lo, tr.hi, exact.values, exact.scale, codes.reshape(-1, n), sums.reshape(-1))
        else:
            quantize_rows(flat, tr.lo, tr.hi, table, codes.reshape(-1, n), sums.reshape(-1))
        self._check_radix4(codes, in_bits)
        return codes, sums

    def digits(self, codes: np.ndarray, in_bits: int) -> np.ndarray:
        """Pulse digits of quantised codes (L, B, n): (L, P, B, n) float32 (analog: the clipped value itself)."""
        tr = self.train(in_bits)
        if in_bits == 0:
            return codes[:, None, :, :].copy()
        lanes, b, n = codes.shape
        if self.radix4_exps:
            d = radix4_digits(codes, radix4_exponents(in_bits), self.radix4_exps)   # (P, L, B, n)
            return np.ascontiguousarray(d.transpose(1, 0, 2, 3))
        out = self._integer_digits(codes.reshape(lanes * b, n), tr.n_pulses, tr.signed_top)
        return np.ascontiguousarray(out.reshape(tr.n_pulses, lanes, b, n).transpose(1, 0, 2, 3))
