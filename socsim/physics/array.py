"""State and read path shared by the device models: differential pairs of conductance slices.

A tile of ``rows x cols`` weights holds ``S`` weight slices, each a differential pair of devices
on adjacent bit lines, so ``w = sum_s sig_s (G+_s - G-_s)`` with ``sig_s`` in weight units per uS.
State arrays have shape (2, S, rows, cols), index 0 = G+, 1 = G-:

- ``g``       programmed conductance (uS, float32; the value right after the last pulse);
- ``writes``  programming pulses each device has taken (endurance counter);
- ``t_prog``  simulated time of each device's last programming (s);
- ``frozen``  stuck at fabrication or worn out (programming no longer moves it).

Subclasses implement programming and may override :meth:`_conductance` (drift, state-dependent
read noise). Forward MVM: bit lines per column (digital pair readout: every bit line converted;
analog: the pair subtracted first). Transposed MVM: inputs on the bit lines (the G- line driven
with the negated voltage), outputs on the word lines, so the pair is always subtracted in analog and
the converter range is taken as bipolar +-max(|i_min|, |i_max|).
"""

from __future__ import annotations

import numpy as np

from socsim.physics.adc import Adc, make_adc
from socsim.physics.dac import Dac
from socsim.physics.flat import Flat, flatten
from socsim.physics.interface import Crossbar, ProgramReport
from socsim.physics.mvm import Variance, analog_mvm
from socsim.physics.params import PhysicsParams


class PairArray(Crossbar):
    """Conductance-slice state, fabrication maps, MVM and read-back; programming in subclasses."""

    STATE = ("g", "writes", "t_prog", "frozen", "rng", "adc.saturated", "adc_t.saturated")

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator,
                 n_slices: int, g_stuck_low: float, g_stuck_high: float, g_initial: float):
        if rows <= 0 or cols <= 0:
            raise ValueError(f"array shape {rows}x{cols} must be positive")
        self.rows, self.cols, self.params, self.rng = rows, cols, params, rng
        self.f: Flat = flatten(params)
        self.n_slices = n_slices
        shape = (2, n_slices, rows, cols)
        self.g = np.full(shape, g_initial, dtype=np.float32)
        self.writes = np.zeros(shape, dtype=np.int64)
        self.t_prog = np.zeros(shape, dtype=np.float64)
        # fabrication: stuck devices (half low, half high), drawn first, in this order
        u = rng.random(shape)
        self.stuck_fab = u < self.f.stuck_fraction
        self.g[self.stuck_fab] = g_stuck_low
        self.g[u < self.f.stuck_fraction / 2] = g_stuck_high
        self.frozen = self.stuck_fab.copy()
        self.dac = Dac(self.f)
        self.adc: Adc = make_adc(self.f.adc_kind, self.f.adc_bits, self.f.adc_lo, self.f.adc_hi,
                                 self.f.adc_noise_lsb)
        span = max(abs(self.f.adc_lo), abs(self.f.adc_hi))
        self.adc_t: Adc = make_adc(self.f.adc_kind, self.f.adc_bits, -span, span, self.f.adc_noise_lsb)
        self.sig = np.ones(n_slices, dtype=np.float32)
        self._version = 0
        self._cache: dict[tuple, tuple[np.ndarray, Variance]] = {}
        self._atten = self._ir_drop_segments() if self.f.r_wire_ohm > 0 else None

    # ---- hooks -------------------------------------------------------------------------------
    def _conductance(self, t_s: float) -> tuple[np.ndarray, Variance]:
        """Conductance seen by a read at t_s (uS) and per-device read-noise variance (uS^2)."""
        return self.g, self.f.read_sigma_us ** 2

    def _touched(self) -> None:
        """Invalidate cached read matrices after programming."""
        self._version += 1
        self._cache.clear()

    def _state_loaded(self) -> None:
        self._touched()

    # ---- read path ---------------------------------------------------------------------------
    def _ir_drop_segments(self) -> np.ndarray:
        """Wire segments between each device and its driver plus its TIA: (2, S, rows, cols)."""
        s, r, c = self.n_slices, self.rows, self.cols
        col = np.arange(s)[:, None] * c + np.arange(c)[None, :]
        bitline = (col * 2)[None] + np.arange(2)[:, None, None]
        return (r - np.arange(r))[None, None, :, None] + (bitline[:, :, None, :] + 1)

    def _read_state(self, t_s: float) -> tuple[np.ndarray, Variance]:
        g, var = self._conductance(t_s)
        if self._atten is None:
            return g, var
        a = (1.0 / (1.0 + g * 1e-6 * self.f.r_wire_ohm * self._atten)).astype(np.float32)
        v = var * a * a if var is not None else None
        return g * a, v

    def _matrices(self, t_s: float, r0: int, c0: int, nr: int, nc: int,
                  transposed: bool) -> tuple[np.ndarray, Variance]:
        key = (self._version, t_s, r0, c0, nr, nc, transposed)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        g, var = self._read_state(t_s)
        blk = g[:, :, r0:r0 + nr, c0:c0 + nc]
        vb = var[:, :, r0:r0 + nr, c0:c0 + nc] if isinstance(var, np.ndarray) else var
        s = self.n_slices
        if transposed:
            gm = np.ascontiguousarray((blk[0] - blk[1]).transpose(2, 0, 1).reshape(nc, s * nr))
            vm = (np.ascontiguousarray((vb[0] + vb[1]).transpose(2, 0, 1).reshape(nc, s * nr))
                  if isinstance(vb, np.ndarray) else (2 * vb if vb else None))
        elif self.f.pair_digital:
            gm = np.ascontiguousarray(blk.transpose(2, 0, 1, 3).reshape(nr, 2 * s * nc))
            vm = (np.ascontiguousarray(vb.transpose(2, 0, 1, 3).reshape(nr, 2 * s * nc))
                  if isinstance(vb, np.ndarray) else (vb or None))
        else:
            gm = np.ascontiguousarray((blk[0] - blk[1]).transpose(1, 0, 2).reshape(nr, s * nc))
            vm = (np.ascontiguousarray((vb[0] + vb[1]).transpose(1, 0, 2).reshape(nr, s * nc))
                  if isinstance(vb, np.ndarray) else (2 * vb if vb else None))
        self._cache.clear()
        self._cache[key] = (gm.astype(np.float32, copy=False), vm)
        return self._cache[key]

    def saturated_conversions(self) -> int:
        return self.adc.saturated + self.adc_t.saturated

    def mvm(self, x: np.ndarray, r0: int, c0: int, nc: int, in_bits: int, t_s: float) -> np.ndarray:
        nr = x.shape[1]
        self._check_block(r0, c0, nr, nc)
        gm, vm = self._matrices(t_s, r0, c0, nr, nc, False)
        y = analog_mvm(x, gm, vm, self.dac, self.adc, in_bits, self.rng, self.f.tia_max, self.f.exact_slices)
        b = y.shape[0]
        if self.f.pair_digital:
            y4 = y.reshape(b, 2, self.n_slices, nc)
            diff = y4[:, 0] - y4[:, 1]
        else:
            diff = y.reshape(b, self.n_slices, nc)
        return self._weigh(diff)

    def mvm_t(self, x: np.ndarray, r0: int, c0: int, nr: int, in_bits: int, t_s: float) -> np.ndarray:
        nc = x.shape[1]
        self._check_block(r0, c0, nr, nc)
        gm, vm = self._matrices(t_s, r0, c0, nr, nc, True)
        y = analog_mvm(x, gm, vm, self.dac, self.adc_t, in_bits, self.rng, self.f.tia_max,
                       self.f.exact_slices)
        return self._weigh(y.reshape(y.shape[0], self.n_slices, nr))

    def _weigh(self, per_slice: np.ndarray) -> np.ndarray:
        """(B, S, K) code x uS -> (B, K) code x weight units."""
        if self.n_slices == 1:
            out = per_slice[:, 0, :] * self.sig[0]
        else:
            out = np.einsum("bsk,s->bk", per_slice, self.sig)
        return np.ascontiguousarray(out, dtype=np.float32)

    def read_conductance(self, r0: int, c0: int, nr: int, nc: int, t_s: float) -> np.ndarray:
        """One noisy read of every device of the block: (2, S, nr, nc) float32 uS."""
        self._check_block(r0, c0, nr, nc)
        g, var = self._conductance(t_s)
        blk = g[:, :, r0:r0 + nr, c0:c0 + nc]
        if var is None or (not isinstance(var, np.ndarray) and var == 0.0):
            return blk.astype(np.float32, copy=True)
        sd = np.sqrt(var[:, :, r0:r0 + nr, c0:c0 + nc] if isinstance(var, np.ndarray) else var)
        return (blk + sd * self.rng.standard_normal(blk.shape, dtype=np.float32)).astype(np.float32)

    def read_weights(self, r0: int, c0: int, nr: int, nc: int, t_s: float) -> np.ndarray:
        """Weights from one noisy read of each device (no ADC: a dedicated read path)."""
        g = self.read_conductance(r0, c0, nr, nc, t_s)
        return np.einsum("snk,s->nk", g[0] - g[1], self.sig).astype(np.float32)

    def load_weights(self, w: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        return self.write_verify(w, np.ones(w.shape, dtype=bool), r0, c0, t_s)

    # ---- bookkeeping for subclasses ----------------------------------------------------------
    def _account(self, sel: tuple, pulses: np.ndarray, t_s: float) -> int:
        """Add ``pulses`` to the endurance counters of the devices ``sel`` (an index into the state
        arrays), stamp the pulsed ones with t_s, freeze the worn ones; returns how many wore out now."""
        hit = pulses > 0
        self.writes[sel] += pulses
        tp = self.t_prog[sel]
        tp[hit] = t_s
        self.t_prog[sel] = tp
        if self.f.endurance <= 0:
            return 0
        worn = (self.writes[sel] >= self.f.endurance) & ~self.frozen[sel]
        fr = self.frozen[sel]
        fr |= worn
        self.frozen[sel] = fr
        return int(np.count_nonzero(worn))

    def worn_out(self) -> np.ndarray:
        """Devices that reached the endurance limit: (2, S, rows, cols) bool."""
        if self.f.endurance <= 0:
            return np.zeros(self.g.shape, dtype=bool)
        return self.writes >= self.f.endurance
