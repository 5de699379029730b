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

import threading

import numpy as np

from isa.program import BadOperand
from socsim.physics.adc import Adc, make_adc
from socsim.physics.dac import Dac
from socsim.physics.draws import Site, Stream, draw_seeds
from socsim.physics.flat import Flat, flatten
from socsim.physics.interface import Crossbar, ProgramReport
from socsim.physics.kernels.normal import fill_normals
from socsim.physics.mvm import ReadDraws, Variance, analog_mvm
from socsim.physics.params import PhysicsParams

_CACHE_BYTES = 4 << 20
"""Read matrices kept per array (blocks read since the last programming), up to this many bytes."""
_CACHE_LOCK = threading.RLock()
"""Guards every array's read-matrix and converter caches (lane groups read from several threads)."""


class PairArray(Crossbar):
    """Conductance-slice state, fabrication maps, MVM and read-back; programming in subclasses."""

    STATE = (*Crossbar.STATE, "g", "writes", "t_prog", "frozen", "full_scale")

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream,
                 n_slices: int, g_stuck_low: float, g_stuck_high: float, g_initial: float):
        """``rng`` draws the fabrication maps (here and in subclasses' constructors, nowhere else);
        every later draw is counter-based on ``stream``."""
        if rows <= 0 or cols <= 0:
            raise ValueError(f"array shape {rows}x{cols} must be positive")
        self.rows, self.cols, self.params, self.stream = rows, cols, params, stream
        self.f: Flat = flatten(params)
        self.n_slices = n_slices
        shape = (2, n_slices, rows, cols)
        self.g_ceiling = max(self.f.g_max, g_stuck_low, g_stuck_high, g_initial)
        """Highest conductance a device of this array can hold (uS): its range, stuck or initial value."""
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
        self.dac_t = Dac(self.f, transposed=True)
        """The bit lines' DAC (transposed reads)."""
        self.adc: Adc = make_adc(self.f.adc_kind, self.f.adc_bits, self.f.adc_lo, self.f.adc_hi,
                                 self.f.adc_noise_lsb)
        span = max(abs(self.f.adc_lo), abs(self.f.adc_hi))
        self.adc_t: Adc = make_adc(self.f.adc_kind, self.f.adc_bits, -span, span, self.f.adc_noise_t_lsb)
        self.full_scale = np.zeros((rows, cols), dtype=np.float32)
        """Full-scale current (uA) of the forward converter for the block whose first weight is [r, c], as set by
        :meth:`set_full_scale` (0: never set, the nominal range [i_min_ua, i_max_ua])."""
        self._scaled: dict[float, Adc] = {}
        self.sig = np.ones(n_slices, dtype=np.float32)
        self._version = 0
        self._cache: dict[tuple, tuple[np.ndarray, Variance]] = {}
        self._atten = self._ir_drop_segments() if self.f.r_wire_ohm > 0 else None

    # ---- hooks -------------------------------------------------------------------------------
    def _conductance(self, t_s: float, blk: tuple[slice, ...]) -> tuple[np.ndarray, Variance]:
        """Conductance seen by a read at t_s (uS) and per-device read-noise variance (uS^2) of the devices
        ``self.g[blk]`` (a scalar variance applies to every device)."""
        return self.g[blk], self.f.read_sigma_us ** 2

    def _touched(self) -> None:
        """Invalidate cached read matrices after programming."""
        self._version += 1
        self._cache.clear()

    def state_bounds(self) -> dict[str, tuple[float, float, str]]:
        g = (0.0, self.g_ceiling, "uS")
        return {"g": g, "g_target": g, "t_prog": (0.0, np.inf, "s"), "full_scale": (0.0, np.inf, "uA")}

    def _state_loaded(self) -> None:
        self._touched()
        self._scaled.clear()

    # ---- read path ---------------------------------------------------------------------------
    def _ir_drop_segments(self) -> np.ndarray:
        """Wire segments between each device and its driver plus its TIA: (2, S, rows, cols)."""
        s, r, c = self.n_slices, self.rows, self.cols
        col = np.arange(s)[:, None] * c + np.arange(c)[None, :]
        bitline = (col * 2)[None] + np.arange(2)[:, None, None]
        return (r - np.arange(r))[None, None, :, None] + (bitline[:, :, None, :] + 1)

    def _read_state(self, t_s: float, blk: tuple[slice, ...]) -> tuple[np.ndarray, Variance]:
        """The block's conductances and noise variances as the read path sees them (IR drop included)."""
        g, var = self._conductance(t_s, blk)
        if self._atten is None:
            return g, var
        a = (1.0 / (1.0 + g * 1e-6 * self.f.r_wire_ohm * self._atten[blk])).astype(np.float32)
        v = var * a * a if var is not None else None
        return g * a, v

    def _matrices(self, t_s: float, r0: int, c0: int, nr: int, nc: int,
                  transposed: bool) -> tuple[np.ndarray, Variance]:
        with _CACHE_LOCK:  # lane groups read from several threads (socsim.sim.lanes.numerics)
            return self._matrices_unlocked(t_s, r0, c0, nr, nc, transposed)

    def _matrices_unlocked(self, t_s: float, r0: int, c0: int, nr: int, nc: int,
                           transposed: bool) -> tuple[np.ndarray, Variance]:
        key = (self._version, t_s if self.time_dependent_reads else 0.0, r0, c0, nr, nc, transposed)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        blk, vb = self._read_state(t_s, (slice(None), slice(None), slice(r0, r0 + nr), slice(c0, c0 + nc)))
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
        if sum(g.nbytes + (v.nbytes if isinstance(v, np.ndarray) else 0) for g, v in self._cache.values()) \
                + gm.nbytes > _CACHE_BYTES:
            self._cache.clear()
        self._cache[key] = (gm.astype(np.float32, copy=False), vm)
        return self._cache[key]

    def mvm_lanes(self, x: np.ndarray, r0: int, c0: int, n_out: int, in_bits: int, t_s: np.ndarray,
                  counters: np.ndarray, transposed: bool = False) -> tuple[np.ndarray, np.ndarray]:
        return self._lanes(x, r0, c0, n_out, in_bits, t_s, counters, transposed, False)

    def readings_lanes(self, x: np.ndarray, r0: int, c0: int, n_out: int, in_bits: int, t_s: np.ndarray,
                       counters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._lanes(x, r0, c0, n_out, in_bits, t_s, counters, False, True)

    def set_full_scale(self, r0: int, c0: int, fs_ua: float) -> float:
        if not np.isfinite(fs_ua) or fs_ua < 0:
            raise BadOperand(f"full-scale current {fs_ua} uA: expected a finite value >= 0")
        self._check_block(r0, c0, 1, 1)
        value = self.params.adc.settable_full_scale(float(fs_ua))
        self.full_scale[r0, c0] = value
        return value

    def forward_adc(self, r0: int, c0: int) -> Adc:
        """The forward converter of the block at (r0, c0): the nominal range scaled to its full-scale setting."""
        fs = float(self.full_scale[r0, c0])
        nominal = self.params.adc.full_scale_ua
        if fs == 0.0 or fs == nominal:
            return self.adc
        with _CACHE_LOCK:
            return self._scaled_adc(fs, nominal)

    def _scaled_adc(self, fs: float, nominal: float) -> Adc:
        adc = self._scaled.get(fs)
        if adc is None:
            k = fs / nominal
            adc = self._scaled[fs] = make_adc(self.f.adc_kind, self.f.adc_bits, self.f.adc_lo * k,
                                              self.f.adc_hi * k, self.f.adc_noise_lsb)
        return adc

    def _lanes(self, x: np.ndarray, r0: int, c0: int, n_out: int, in_bits: int, t_s: np.ndarray,
               counters: np.ndarray, transposed: bool, peak: bool) -> tuple[np.ndarray, np.ndarray]:
        lanes, _, n_in = x.shape
        nr, nc = (n_out, n_in) if transposed else (n_in, n_out)
        self._check_block(r0, c0, nr, nc)
        saturated = np.zeros(lanes, np.int64)
        if not self.time_dependent_reads:
            return self._read(x, r0, c0, nr, nc, in_bits, float(t_s[0]), counters, transposed, saturated,
                              peak), saturated
        out = np.empty((lanes, x.shape[1], n_out), np.float32)
        for lane in range(lanes):  # every lane reads its own drifted state
            out[lane] = self._read(x[lane:lane + 1], r0, c0, nr, nc, in_bits, float(t_s[lane]),
                                   counters[lane:lane + 1], transposed, saturated[lane:lane + 1], peak)[0]
        return out, saturated

    def _read(self, x: np.ndarray, r0: int, c0: int, nr: int, nc: int, in_bits: int, t_s: float,
              counters: np.ndarray, transposed: bool, saturated: np.ndarray, peak: bool = False) -> np.ndarray:
        """Lanes reading one state (at ``t_s``): (L, B, nr) -> (L, B, nc) forward, (L, B, nc) -> (L, B, nr);
        ``peak`` (forward): the converter readings (uA) instead, the largest of each weight's bit lines."""
        gm, vm = self._matrices(t_s, r0, c0, nr, nc, transposed)
        draws = ReadDraws(self.stream.key, counters)
        adc, dac = (self.adc_t, self.dac_t) if transposed else (self.forward_adc(r0, c0), self.dac)
        y = analog_mvm(x, gm, vm, dac, adc, in_bits, draws, saturated, self.f.tia_max, self.f.exact_slices, peak)
        lanes, b = y.shape[:2]
        s = self.n_slices
        if peak:
            per_weight = y.reshape(lanes, b, -1, nc)  # (pair devices x) slices, weights
            return np.ascontiguousarray(per_weight.max(axis=2), dtype=np.float32)
        if transposed:
            return self._weigh(y.reshape(lanes, b, s, nr))
        if self.f.pair_digital:
            y5 = y.reshape(lanes, b, 2, s, nc)
            return self._weigh(y5[:, :, 0] - y5[:, :, 1])
        return self._weigh(y.reshape(lanes, b, s, nc))

    def _weigh(self, per_slice: np.ndarray) -> np.ndarray:
        """(L, B, S, K) code x uS -> (L, B, K) code x weight units, slice by slice in order."""
        out = per_slice[:, :, 0, :] * self.sig[0]
        for k in range(1, self.n_slices):
            out += per_slice[:, :, k, :] * self.sig[k]
        return np.ascontiguousarray(out, dtype=np.float32)

    def read_conductance(self, r0: int, c0: int, nr: int, nc: int, t_s: float, seed: np.uint64) -> np.ndarray:
        """One noisy read of every device of the block: (2, S, nr, nc) float32 uS; noise from ``seed``."""
        self._check_block(r0, c0, nr, nc)
        blk, var = self._conductance(t_s, (slice(None), slice(None), slice(r0, r0 + nr), slice(c0, c0 + nc)))
        if var is None or (not isinstance(var, np.ndarray) and var == 0.0):
            return blk.astype(np.float32, copy=True)
        sd = np.sqrt(var)
        z = np.empty(blk.shape, np.float32)
        fill_normals(seed, z)
        return (blk + sd * z).astype(np.float32)

    def weights_of(self, g: np.ndarray) -> np.ndarray:
        """Weights (nr, nc) float32 of device conductances (2, S, nr, nc) uS, slice by slice in order."""
        d = g[0] - g[1]
        out = d[0] * self.sig[0]
        for k in range(1, self.n_slices):
            out += d[k] * self.sig[k]
        return out.astype(np.float32)

    def read_weights_at(self, r0: int, c0: int, nr: int, nc: int, t_s: float, counter: int) -> np.ndarray:
        """Weights from one noisy read of each device (no ADC: a dedicated read path)."""
        seed = draw_seeds(self.stream.key, Site.READBACK, np.array([counter]))[0]
        return self.weights_of(self.read_conductance(r0, c0, nr, nc, t_s, seed))

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
