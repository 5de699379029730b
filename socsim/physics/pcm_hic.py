"""``pcm_hic``: hybrid-precision PCM weights: binary MSB device pairs + one multi-level LSB pair.

A weight is ``w = sum_k t_k 2^k U + (G+_L - G-_L) U / g_max`` with ``U = w_max / 2^n_msb``, MSB digits
``t_k`` in {-1, 0, +1} stored as binary PCM pairs (SET = g_max, RESET = g_reset; slice k + 1 of the
state) and the LSB pair (slice 0) holding the residual, one-sided (only the device of the residual's
sign is above g_reset). Joshi et al. 2021 / Nandakumar et al. 2020 describe the scheme; the device
statistics are the IBM PCM model (Joshi et al. 2020), see :mod:`socsim.physics.kernels.pcm_kernels`.

- ``write_verify``: MSB devices whose read state differs get one abrupt SET or RESET pulse (a SET lands
  at ``g_max + N(0, binary_set_std)``); the LSB pair is RESET and the residual's device is brought up
  by program-and-verify with gradual SET pulses (count from the mean SET model), landing at
  ``G_T + N(0, sigma_prog(G_T))``;
- ``pulse(n)``: n gradual SET pulses on G+_L (n > 0) or G-_L (n < 0), from the drifted state; an LSB
  device above ``refresh_fraction * g_max`` triggers a refresh of its weight (read, re-decompose with
  carry into the MSB digits, ``write_verify``);
- every programming event restamps t_prog and redraws the drift exponent from the new state with the
  device's fabrication draw; reads see drift and 1/f noise at the read time.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from socsim.physics.array import PairArray
from socsim.physics.draws import Site, Stream, draw_seeds
from socsim.physics.flat import flatten
from socsim.physics.interface import ProgramReport
from socsim.physics.kernels.pcm_kernels import (
    conductance_at,
    drift_nu_many,
    gradual_set,
    set_pulses_needed,
    sigma_prog_many,
)
from socsim.physics.mvm import Variance
from socsim.physics.params import PhysicsParams
from socsim.physics.params_device import PulseGranularity

_SET_CAP = 1000
"""Upper bound on gradual-SET pulses of one program-and-verify."""


class PcmHybrid(PairArray):
    """Binary MSB + multi-level LSB PCM slices with drift, 1/f read noise, refresh and endurance."""

    name = "pcm_hic"
    STATE = (*PairArray.STATE, "nu")
    time_dependent_reads = True

    @staticmethod
    def _unit(params: PhysicsParams) -> float:
        """The span of the multi-level LSB pair, U = w_max / 2^n_msb (weight units)."""
        return params.w_max / 2 ** params.pcm.n_msb

    @classmethod
    def weight_level(cls, params: PhysicsParams) -> float:
        """One level of the multi-level LSB pair (weight units); 0 for continuous devices."""
        return cls._unit(params) / (params.device.levels - 1) if params.device.levels >= 2 else 0.0

    @classmethod
    def pulse_step(cls, params: PhysicsParams) -> float:
        """The transfer's eps (weight units): one gradual SET of the LSB pair at G = 0, or its mean over
        [0, refresh_fraction g_max] (``pcm.granularity``; the increment falls linearly with G)."""
        pc = params.pcm
        at_reset = cls._unit(params) * pc.set_step_us / pc.g_max_us
        if pc.granularity is PulseGranularity.AT_RESET:
            return at_reset
        return at_reset * (1.0 - pc.set_nonlinearity * pc.refresh_fraction / 2)

    @classmethod
    def slices(cls, params: PhysicsParams) -> int:
        """The binary MSB pairs and the multi-level LSB pair."""
        return params.pcm.n_msb + 1

    def __init__(self, rows: int, cols: int, params: PhysicsParams, rng: np.random.Generator, stream: Stream):
        f = flatten(params)
        super().__init__(rows, cols, params, rng, stream, f.pcm_n_msb + 1, f.pcm_g_reset, f.pcm_g_max,
                         f.pcm_g_reset)
        self.unit = f.w_max / 2 ** f.pcm_n_msb
        """Weight of the LSB pair's full range, U (weight units)."""
        self.sig[0] = self.unit / f.pcm_g_max
        for s in range(1, self.n_slices):
            self.sig[s] = 2 ** (s - 1) * self.unit / (f.pcm_g_max - f.pcm_g_reset)
        self.z_nu = rng.standard_normal(self.g.shape)
        """Fabrication draw of each device's drift exponent (standard normal)."""
        self.nu = np.empty(self.g.shape)
        self._redraw_nu(np.ones(self.g.shape, dtype=bool))
        self._state_key: tuple | None = None
        self._state: tuple[np.ndarray, np.ndarray] | None = None

    NU_RANGE = (0.0, 1.0)
    """Drift exponents a restored state may hold: drift_nu draws about 0.05-0.2 (Joshi 2020), never below 0;
    1 bounds it far above any measured PCM."""

    def state_bounds(self) -> dict[str, tuple[float, float, str]]:
        return {**super().state_bounds(), "nu": (*self.NU_RANGE, "(drift exponent)")}

    # ---- device statistics -------------------------------------------------------------------
    def _redraw_nu(self, sel: np.ndarray) -> None:
        self.nu[sel] = drift_nu_many(self.g[sel].astype(np.float64), self.f.pcm_g_max, self.z_nu[sel])

    def _conductance(self, t_s: float, blk: tuple[slice, ...]) -> tuple[np.ndarray, Variance]:
        """Drifted conductance and 1/f read-noise variance of the devices ``g[blk]`` at t_s (only those)."""
        key = (self._version, t_s, blk)
        if self._state_key != key:
            f = self.f
            g = self.g[blk]
            g_t = np.empty(g.size, np.float32)
            var = np.empty(g.size, np.float32)
            conductance_at(g.ravel().astype(np.float64), self.nu[blk].ravel(), self.t_prog[blk].ravel(), t_s,
                           f.pcm_t0, f.pcm_t_read, f.pcm_read_scale, f.pcm_g_max, f.pcm_drift, g_t, var)
            self._state = (g_t.reshape(g.shape), var.reshape(g.shape))
            self._state_key = key
        assert self._state is not None
        return self._state

    def _touched(self) -> None:
        super()._touched()
        self._state_key = None

    # ---- mapping -----------------------------------------------------------------------------
    def decompose(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights (nr, nc) -> MSB digits (n_msb, nr, nc) in {-1, 0, 1} and LSB residual (nr, nc)."""
        n_msb = self.n_slices - 1
        wc = np.clip(np.asarray(w, dtype=np.float64), -self.f.w_max, self.f.w_max)
        m = np.clip(np.rint(wc / self.unit), -(2 ** n_msb - 1), 2 ** n_msb - 1).astype(np.int64)
        mag = np.abs(m)
        digits = np.stack([np.sign(m) * ((mag >> k) & 1) for k in range(n_msb)]) if n_msb else \
            np.zeros((0,) + wc.shape, np.int64)
        return digits, wc - m * self.unit

    # ---- programming -------------------------------------------------------------------------
    def write_verify(self, target: np.ndarray, mask: np.ndarray, r0: int, c0: int,
                     t_s: float) -> ProgramReport:
        nr, nc = target.shape
        self._check_block(r0, c0, nr, nc)
        if mask.shape != target.shape:
            raise ValueError(f"mask shape {mask.shape} differs from target shape {target.shape}")
        f = self.f
        m = np.asarray(mask, dtype=bool)
        digits, resid = self.decompose(target)
        blk = (slice(None), slice(None), slice(r0, r0 + nr), slice(c0, c0 + nc))
        op = self.stream.next_program()
        read = self.read_conductance(r0, c0, nr, nc, t_s,            # one verify read per device
                                     draw_seeds(self.stream.key, Site.VERIFY, np.array([op]))[0])
        g = self.g[blk]                                               # view
        frozen = self.frozen[blk]
        pulses = np.zeros(g.shape, np.int64)
        n_set = n_reset = 0
        # binary MSB slices: abrupt SET / RESET where the read state is wrong
        want_on = np.stack([digits > 0, digits < 0]) if digits.size else np.zeros((2, 0, nr, nc), bool)
        is_on = read[:, 1:] > 0.5 * f.pcm_g_max
        to_set = m & want_on & ~is_on
        to_reset = m & ~want_on & is_on
        z_bin = self.stream.normals(Site.BINARY_SET, op, want_on.shape, np.float32)
        msb = g[:, 1:]
        on_val = np.clip(f.pcm_g_max + f.pcm_bin_std * z_bin, 0.0, 1.2 * f.pcm_g_max)
        msb[to_set & ~frozen[:, 1:]] = on_val[to_set & ~frozen[:, 1:]]
        msb[to_reset & ~frozen[:, 1:]] = f.pcm_g_reset
        pulses[:, 1:] += to_set | to_reset
        n_set += int(to_set.sum())
        n_reset += int(to_reset.sum())
        # LSB pair: RESET what is above the reset state, then program-and-verify the residual's side
        g_target = np.stack([np.maximum(resid, 0.0), np.maximum(-resid, 0.0)]) / self.unit * f.pcm_g_max
        g_target = np.minimum(g_target, f.pcm_g_max)
        lsb_reset = m & (read[:, 0] > f.pcm_g_reset + 0.05 * f.pcm_g_max)
        climb = m & (g_target > f.pcm_g_reset)
        need = set_pulses_needed(np.full(int(climb.sum()), f.pcm_g_reset), g_target[climb],
                                 f.pcm_set_step, f.pcm_g_max, f.pcm_set_nl, _SET_CAP)
        z_prog = self.stream.normals(Site.PROGRAM, op, (need.size,))
        sp = sigma_prog_many(g_target[climb], f.pcm_g_max)
        landed = np.clip(g_target[climb] + f.pcm_prog_scale * sp * z_prog, 0.0, f.pcm_g_max)
        lsb, fz = g[:, 0], frozen[:, 0]
        lsb[lsb_reset & ~fz] = f.pcm_g_reset
        vals = lsb[climb]
        vals[~fz[climb]] = landed[~fz[climb]].astype(np.float32)
        lsb[climb] = vals
        pulses[:, 0] += lsb_reset
        pulses[:, 0][climb] += need
        n_reset += int(lsb_reset.sum())
        n_set += int(need.sum())
        verify = 2 * self.n_slices * int(m.sum()) + int(need.sum())
        programmed = pulses > 0
        worn = self._account(blk, pulses, t_s)
        full = np.zeros(self.g.shape, dtype=bool)
        full[blk] = programmed
        self._redraw_nu(full)
        self._touched()
        return ProgramReport(cells=int(m.sum()), set_pulses=n_set, reset_pulses=n_reset, verify_reads=verify,
                             pulse_rounds=int(pulses.max(initial=0)), worn_out=worn)

    def pulse(self, n_pulses: np.ndarray, r0: int, c0: int, t_s: float) -> ProgramReport:
        nr, nc = n_pulses.shape
        self._check_block(r0, c0, nr, nc)
        f = self.f
        n = np.asarray(n_pulses, dtype=np.int64)
        counts = np.stack([np.maximum(n, 0), np.maximum(-n, 0)])      # (2, nr, nc) SET pulses per LSB device
        blk = (slice(None), 0, slice(r0, r0 + nr), slice(c0, c0 + nc))
        g_now = self._conductance(t_s, (slice(None), slice(None), slice(r0, r0 + nr), slice(c0, c0 + nc)))[0][:, 0]
        g = np.ascontiguousarray(g_now, dtype=np.float64).ravel()
        cflat = counts.ravel()
        offsets = np.concatenate([[0], np.cumsum(cflat)[:-1]]).astype(np.int64)
        op = self.stream.next_program()
        z = self.stream.normals(Site.PULSE, op, (int(cflat.sum()),))
        gradual_set(g, cflat, np.ascontiguousarray(self.frozen[blk]).ravel(), z, offsets, f.pcm_set_step,
                    f.pcm_set_std, f.pcm_g_max, f.pcm_set_nl)
        hit = counts > 0
        lsb = self.g[blk]
        lsb[hit] = g.reshape(2, nr, nc)[hit]
        worn = self._account(blk, counts, t_s)
        full = np.zeros(self.g.shape, dtype=bool)
        full[blk] = hit
        self._redraw_nu(full)
        self._touched()
        rep = ProgramReport(cells=int(np.count_nonzero(n)), set_pulses=int(cflat.sum()),
                            pulse_rounds=int(np.abs(n).max(initial=0)), worn_out=worn)
        over = (self.g[blk] > f.pcm_refresh * f.pcm_g_max).any(axis=0) & ~self.frozen[blk].all(axis=0)
        if over.any():
            w_now = self.weights_of(self.read_conductance(  # the refresh's own read of the weights
                r0, c0, nr, nc, t_s, draw_seeds(self.stream.key, Site.VERIFY, np.array([op]), phase=1)[0]))
            rep = rep + self.write_verify(w_now, over, r0, c0, t_s)
            rep = replace(rep, refreshed=int(over.sum()))
        return rep
